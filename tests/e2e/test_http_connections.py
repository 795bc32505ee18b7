"""`serve --transport streamable-http`: the real server process over HTTP, against the simulator.

Two clients connected at once each get their own runtime: their own editing session, uploads and
timeline (and here their own token: one the server's NEMO_TOKEN, one sent in X-Nemo-Token), and
neither sees the other's. A closed connection takes its cache folder with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.e2e.harness import Project

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
SHARED_TOKEN = "nmv_usr_shared_host_token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def http_server(project: Project) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **project.env, "NEMO_TOKEN": SHARED_TOKEN}
    command = [str(SCRIPT), "serve", "--transport", "streamable-http", "--port", str(port)]
    with (project.home / "http-stderr.log").open("w") as errlog:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errlog)
        try:
            deadline = time.monotonic() + 30
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert process.poll() is None, (project.home / "http-stderr.log").read_text()
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            stdout, _ = process.communicate(timeout=30)
    assert stdout == b"", f"the HTTP server wrote on stdout: {stdout[:200]!r}"


@asynccontextmanager
async def connect(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    async with (
        create_mcp_http_client(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), read_timeout_seconds=60) as client,
    ):
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert not result.is_error, text
    assert result.structured_content is not None
    return dict(result.structured_content)


def anonymous_token(base_url: str) -> str:
    reply = httpx.post(f"{base_url}/api/auth/anonymous-token", headers={"X-Client-Id": str(uuid.uuid4())})
    data = reply.json()["data"]
    return str(data["token"])


async def test_two_http_clients_keep_separate_sessions(project: Project) -> None:
    project.sim.configure(registered_token=SHARED_TOKEN)
    own_token = anonymous_token(project.sim.base_url)
    beach, city, _ = project.images
    with http_server(project) as url:
        async with connect(url) as one, connect(url, {"X-Nemo-Token": own_token}) as two:
            first, second = await asyncio.gather(
                call(one, "upload_images", paths=[str(beach)]), call(two, "upload_images", paths=[str(city)])
            )
            assert first["session_id"] != second["session_id"]
            await call(one, "generate_video", instruction='a 5-second video titled "One"')
            state_one, state_two = await call(one, "get_state"), await call(two, "get_state")
            assert state_one["session_id"] == first["session_id"] and state_two["session_id"] == second["session_id"]
            assert state_one["summary"] != state_two["summary"]
            assert "beach" in json.dumps(state_one["draft"]) or state_one["tracks"]
            assert "beach" not in json.dumps(state_two["draft"])
            cache = project.home / "cache" / "connections"
            assert len([folder for process in cache.iterdir() for folder in process.iterdir()]) == 2
        with project.sim.world.lock:
            sessions = dict(project.sim.world.sessions)
        assert set(sessions) == {first["session_id"], second["session_id"]}
        assert len({session.user_id for session in sessions.values()}) == 2  # the server's token, and the client's
        assert sessions[first["session_id"]].edits_applied == 1 and sessions[second["session_id"]].edits_applied == 0
        for _ in range(50):  # the closed connections' folders are removed
            if not any(folder for process in cache.iterdir() for folder in process.iterdir()):
                break
            await asyncio.sleep(0.1)
        assert not any(folder for process in cache.iterdir() for folder in process.iterdir())
    assert own_token not in (project.home / "http-stderr.log").read_text()


async def test_a_request_outside_any_connection_is_refused_with_a_reason(project: Project) -> None:
    with http_server(project) as url:
        unknown = httpx.post(
            url,
            headers={"Mcp-Session-Id": "nope", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert unknown.status_code == 404 and "Session not found" in unknown.json()["error"]["message"]
        modern = httpx.post(
            url,
            headers={"MCP-Protocol-Version": "2026-07-28", "Accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "server/discover"},
        )
        assert modern.status_code == 400 and "one project per connection" in modern.json()["error"]["message"]


@pytest.mark.parametrize("host", ["0.0.0.0"])
def test_a_non_loopback_address_is_said_out_loud(project: Project, host: str) -> None:
    port = free_port()
    env = {**os.environ, **project.env}
    command = [str(SCRIPT), "serve", "--transport", "streamable-http", "--host", host, "--port", str(port)]
    warning = "anyone who can reach it can use this server's token"
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    said: list[str] = []
    try:  # until the warning or the end of its stderr (it said it at start): no fixed wait to outlast on a busy machine
        deadline = time.monotonic() + 30
        while not any(warning in line for line in said) and time.monotonic() < deadline:
            if not select.select([process.stderr], [], [], deadline - time.monotonic())[0]:
                break
            line = process.stderr.readline()
            if not line:
                break
            said.append(line)
    finally:
        process.terminate()
        _, rest = process.communicate(timeout=30)
    assert warning in "".join(said) + rest
