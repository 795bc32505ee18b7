"""The end-to-end harness: the real `nemo-video-mcp` process over stdio, against the simulator.

A `Project` is one test's world: a running simulator, a private cache, three photos and the
server's stderr file. `Project.launch()` starts the server as a subprocess and yields a
`NemoServer`, which records every tool call as the agent sees it (`ToolCall`).

The server process is forked from a zygote that has imported it, one per test worker (`zygote.py`), which
saves ~1.1 s of CPU a start (tests/e2e/test_story.py: 18 s of CPU instead of 49 s). `launch(command=...)`
(`python -m nemo_video_mcp`), a coverage run and `NEMO_TEST_FRESH_SERVERS=1` start each server afresh instead.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.client import ConnectMode
from mcp.client.session import ElicitationFnT
from mcp.client.stdio import stdio_client
from mcp.types import LoggingMessageNotificationParams

from tests.processes import children_of, running
from tests.sim.server import RunningSimulator
from tests.sim.world import RecordedRequest

SERVER_SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
ZYGOTE_SHIM = Path(__file__).with_name("zygote_shim.py")
WEB_BASE = "https://web.nemo.test"
TOOLS = {
    "upload_images",
    "generate_video",
    "get_state",
    "get_credits",
    "export_video",
    "get_job",
    "get_project_link",
    "cancel_export",
    "preview_storyboard",
}
INSTRUCTION = "turn these photos into a smooth 15-second video with transitions"
LONG_RENDER_S = 6
LONG_RENDER = f"a {LONG_RENDER_S}-second video with ken burns motion"
"""Offline, some seconds of ffmpeg on two cores: long enough to be caught mid-render (a test acts within about
0.1 s of ffmpeg's first write), short enough that rendering it again to the end stays cheap."""
SKILL_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
GUI_PHRASES = ("click", "button", "点击", "drag", "拖拽", "preview in timeline")
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ToolCall:
    """One tool call, as the agent reads it."""

    tool: str
    is_error: bool
    text: str
    structured: dict[str, Any] | None
    progress: list[float]
    progress_messages: list[str]
    images: list[tuple[str, bytes]] = field(default_factory=list)
    """The image content, as (MIME type, decoded bytes), in order."""

    @property
    def everything(self) -> str:
        """Every string the agent received for this call, for leak checks."""
        return "\n".join([self.text, json.dumps(self.structured or {}, ensure_ascii=False), *self.progress_messages])


class NemoServer:
    """One running server process, spoken to through the SDK's client."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []
        self.stdout_faults: list[Exception] = []  # lines on stdout that were not JSON-RPC
        self.log_messages: list[str] = []  # MCP log notifications
        self.client: Client | None = None

    async def on_message(self, message: object) -> None:
        if isinstance(message, Exception):
            self.stdout_faults.append(message)

    async def on_log(self, params: LoggingMessageNotificationParams) -> None:
        self.log_messages.append(str(params.data))

    async def call(self, tool: str, **arguments: Any) -> ToolCall:
        progress: list[float] = []
        messages: list[str] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append(done)
            messages.append(message or "")

        assert self.client is not None, "not connected"
        result = await self.client.call_tool(tool, arguments, progress_callback=on_progress)
        texts = [c.text for c in result.content if c.type == "text"]
        text = texts[0] if texts else ""
        images = [(c.mime_type, base64.b64decode(c.data)) for c in result.content if c.type == "image"]
        call = ToolCall(tool, bool(result.is_error), text, result.structured_content, progress, messages, images)
        self.calls.append(call)
        return call

    async def tool_names(self) -> set[str]:
        assert self.client is not None, "not connected"
        return {tool.name for tool in (await self.client.list_tools()).tools}


@dataclass
class Project:
    """One test's world: the simulator, the server's environment, three photos, the server's stderr."""

    sim: RunningSimulator
    home: Path
    images: list[Path]
    servers: list[NemoServer] = field(default_factory=list)

    @property
    def stderr_path(self) -> Path:
        return self.home / "server-stderr.log"

    @property
    def server_pids_path(self) -> Path:
        """The pids of the servers forked for this project (`zygote.py`), one a line."""
        return self.home / "server-pids"

    @property
    def env(self) -> dict[str, str]:
        return {
            "NEMO_API_BASE": self.sim.base_url,
            "NEMO_WEB_BASE": WEB_BASE,
            "NEMO_CACHE_DIR": str(self.home / "cache"),
            "NEMO_OUTPUT_DIR": str(self.home / "videos"),
            "NEMO_POLL_INTERVAL": "0.05",
            "NEMO_WAIT_SCALE": "0.01",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            **passed_through(),
        }

    @asynccontextmanager
    async def launch(
        self,
        *args: str,
        command: Path = SERVER_SCRIPT,
        extra_env: Mapping[str, str] | None = None,
        mode: ConnectMode = "auto",
        elicitation_callback: ElicitationFnT | None = None,
    ) -> AsyncIterator[NemoServer]:
        """Start the server as a subprocess (stderr appended to `stderr_path`) and connect to it.

        `extra_env` adds to (or overrides) `env`, e.g. `{"NEMO_CALL_BUDGET_S": "3"}`. `mode="legacy"`
        connects on a pre-2026 protocol, as hosts like Claude Desktop do; with an `elicitation_callback`
        the client can then show the server's questions. On a clean exit, insists that stdout carried
        nothing but JSON-RPC (logs belong on stderr).
        """
        env = {**self.env, **(extra_env or {})}
        zygote = forking_zygote() if command == SERVER_SCRIPT else None
        if zygote:  # the same server, forked from one that has imported it (zygote.py)
            command, args = Path(sys.executable), ("-I", "-S", str(ZYGOTE_SHIM), *args)
            env |= {"NEMO_TEST_ZYGOTE": zygote, "NEMO_TEST_SERVER_PIDS": str(self.server_pids_path)}
        params = StdioServerParameters(command=str(command), args=list(args), env=env)
        server = NemoServer()
        self.servers.append(server)
        with self.stderr_path.open("a", encoding="utf-8") as errlog:
            transport = stdio_client(params, errlog=errlog)
            async with Client(
                transport,
                read_timeout_seconds=CALL_TIMEOUT_S,
                message_handler=server.on_message,
                logging_callback=server.on_log,
                log_level="debug",
                mode=mode,
                elicitation_callback=elicitation_callback,
            ) as client:
                server.client = client
                yield server
        assert not server.stdout_faults, f"the server wrote non-JSON-RPC output on stdout: {server.stdout_faults}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8") if self.stderr_path.exists() else ""

    # --- what the simulator saw ------------------------------------------------------------------

    def requests_to(self, path_part: str) -> list[RecordedRequest]:
        return self.sim.world.requests_to(path_part)

    def only_session_id(self) -> str:
        with self.sim.world.lock:
            (session_id,) = self.sim.world.sessions
        return session_id

    def renders_started(self) -> int:
        with self.sim.world.lock:
            return sum(self.sim.world.renders_started.values())

    def credits_held(self) -> float:
        with self.sim.world.lock:
            return sum(u.frozen for u in self.sim.world.users.values())

    def edits_applied(self) -> int:
        with self.sim.world.lock:
            return sum(s.edits_applied for s in self.sim.world.sessions.values())


def passed_through() -> dict[str, str]:
    """What the server takes from the tests' own environment, which otherwise stays out of it: `PYTHONPATH`,
    so that a copy of the tree run with `PYTHONPATH=<copy>/server:<copy>` starts the copy's server (a check
    that breaks code in a copy must break it in the server too), and the `COVERAGE_*` variables by which a
    measured run (`coverage run`, `patch = ["subprocess"]`) measures the server. None is set in a plain run."""
    return {name: value for name, value in os.environ.items() if name == "PYTHONPATH" or name.startswith("COVERAGE_")}


@functools.cache
def forking_zygote() -> str | None:
    """The socket of this test process's zygote (`zygote.py`), started on first use; None when servers are to be
    started afresh: under coverage (which measures started processes), or with NEMO_TEST_FRESH_SERVERS=1."""
    if os.environ.get("NEMO_TEST_FRESH_SERVERS") == "1" or any(name.startswith("COVERAGE_") for name in os.environ):
        return None
    path = Path(tempfile.mkdtemp(prefix="nemo-zygote-")) / "socket"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **passed_through()}
    zygote = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("zygote.py")), str(path)], stdin=subprocess.PIPE, env=env
    )

    @atexit.register
    def stop() -> None:  # its stdin closes: it ends, and its servers with it
        zygote.communicate()
        shutil.rmtree(path.parent, ignore_errors=True)

    deadline = time.monotonic() + 30
    while not path.exists():
        assert zygote.poll() is None and time.monotonic() < deadline, "the zygote did not start"
        time.sleep(0.01)
    return str(path)


def server_pid(project: Project) -> int:
    """The pid of the live server process of this project: one forked for it (`zygote.py`), or one started
    afresh (found by its private cache in /proc)."""
    marker = f"NEMO_CACHE_DIR={project.home / 'cache'}".encode()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if project.server_pids_path.exists():
            for line in reversed(project.server_pids_path.read_text().split()):  # the latest first
                if running(int(line)):
                    return int(line)
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                ours = b"nemo-video-mcp" in (entry / "cmdline").read_bytes()
                ours = ours and marker in (entry / "environ").read_bytes().split(b"\0")
                if ours and running(int(entry.name)):
                    return int(entry.name)
        time.sleep(0.01)
    raise AssertionError("no live server process found")


async def ffmpeg_writing(server: int, videos: Path, timeout_s: float = 20.0) -> int:
    """The pid of the server's ffmpeg child, once it has started writing its `.part` file in `videos`."""
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while time.monotonic() < deadline:
        ffmpeg = [
            pid for pid, command in children_of(server).items() if Path(command.split(" ")[0]).name.startswith("ffmpeg")
        ]
        parts = [path.name for path in videos.glob(".*.part")]
        seen.update([*(["ffmpeg"] if ffmpeg else []), *parts])
        if ffmpeg and parts:
            return ffmpeg[0]
        await asyncio.sleep(0.05)
    left = sorted(path.name for path in videos.iterdir()) if videos.is_dir() else []
    raise AssertionError(
        f"the server never had ffmpeg writing; seen on the way: {sorted(seen)}; its children now: "
        f"{children_of(server)}; in {videos.name}/: {left}"
    )


# --- the story, step by step -------------------------------------------------------------------


async def upload_photos(server: NemoServer, project: Project) -> ToolCall:
    uploaded = await server.call("upload_images", paths=[str(p) for p in project.images])
    assert_success(uploaded)
    return uploaded


async def make_video(server: NemoServer, project: Project) -> ToolCall:
    """Upload the three photos and ask for the video; the edit must succeed."""
    await upload_photos(server, project)
    generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_success(generated)
    return generated


# --- what every result must look like ----------------------------------------------------------


def assert_success(call: ToolCall) -> None:
    assert not call.is_error, call.text
    assert call.structured is not None and call.structured["message"], call
    assert "Traceback" not in call.text


def assert_agent_error(call: ToolCall, *must_say: str) -> None:
    """A tool error the agent can act on: says what happened and the next step, nothing internal."""
    assert call.is_error, f"{call.tool} unexpectedly succeeded: {call.text}"
    assert "Next step" in call.text, call.text
    for forbidden in ("Traceback", "Error executing tool", *GUI_PHRASES):
        assert forbidden.lower() not in call.text.lower(), f"{forbidden!r} in: {call.text}"
    for phrase in must_say:
        assert phrase.lower() in call.text.lower(), f"{phrase!r} not in: {call.text}"


def assert_increasing(progress: list[float]) -> None:
    assert len(progress) >= 2, progress
    assert progress == sorted(progress) and progress[-1] > progress[0], progress
