"""CI check: third-party MCP clients (the MCP Inspector CLI, mcporter) drive the installed server.

Starts the backend simulator on a free loopback port, then runs, non-interactively and pinned:
  npx -y @modelcontextprotocol/inspector@2.12.0 --cli <server> --method tools/list
  npx -y @modelcontextprotocol/inspector@2.12.0 --cli <server> --method tools/call --tool-name get_credits
  npx -y mcporter@0.12.3 call --stdio <server> get_credits --output json
and checks their JSON: the tools are listed, and get_credits reports the simulator's balance. Then it
runs every command skill/SKILL.md shows: its install commands (into a scratch folder, each one whose
installer is on this machine) and each `$M …` mcporter line in order, checking what each answers.
Exits 1 with a message saying what went wrong. Run with the venv's python from the repository root.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.e2e.harness import TOOLS  # noqa: E402 (the one list of the tools the server must offer)

SERVER = Path(sys.executable).with_name("nemo-video-mcp")
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
MCPORTER = "mcporter@0.12.3"
NPX_TIMEOUT_S = 300  # the first run downloads the package


class CheckFailed(Exception):
    """A check did not hold; the message says which and why."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_simulator(port: int) -> subprocess.Popen[bytes]:
    """`python -m tests.sim` on `port`; returns once it answers."""
    simulator = subprocess.Popen(
        [sys.executable, "-m", "tests.sim", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if simulator.poll() is not None:
            raise CheckFailed(f"the simulator exited with status {simulator.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/_sim/stats", timeout=1).raise_for_status()
            return simulator
        except httpx.HTTPError:
            time.sleep(0.1)
    simulator.kill()
    raise CheckFailed("the simulator did not answer within 20 s")


def npx(package: str, *args: str, path: str | None = None) -> Any:
    """Run one pinned npm package through npx, non-interactively, and parse its JSON output (`path`: PATH for it)."""
    command = ["npx", "-y", package, *args]
    env = os.environ | {"npm_config_update_notifier": "false", "npm_config_fund": "false"}
    if path is not None:
        env["PATH"] = path
    try:
        run = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=NPX_TIMEOUT_S, env=env
        )
    except FileNotFoundError:
        raise CheckFailed("npx is not installed (Node.js 20 or later is needed)") from None
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"{package} did not finish within {NPX_TIMEOUT_S} s") from None
    if run.returncode != 0:
        output = f"{run.stdout}\n{_without_npm_noise(run.stderr)}".strip()
        raise CheckFailed(f"{' '.join(command)} exited {run.returncode}:\n{output}")
    try:
        return json.loads(run.stdout)
    except ValueError:
        raise CheckFailed(f"{package} did not print JSON:\n{run.stdout[:2000]}") from None


def _without_npm_noise(stderr: str) -> str:
    """stderr without npm's warnings (on Node 20 the pinned packages print EBADENGINE ones; they still work)."""
    return "\n".join(
        line for line in stderr.splitlines() if not line.startswith("npm warn") and "EBADENGINE" not in line
    )


def check_tools_list(listing: Any) -> None:
    names = {tool.get("name") for tool in listing.get("tools", [])}
    if names != TOOLS:
        raise CheckFailed(f"tools/list named {sorted(names)}, expected {sorted(TOOLS)}")
    for tool in listing["tools"]:
        if not tool.get("description") or not tool.get("outputSchema"):
            raise CheckFailed(f"tool {tool['name']} has no description or no output schema")


def check_credits(credits: Any, expected: float, client: str) -> None:
    if credits.get("isError"):
        raise CheckFailed(f"{client}: get_credits failed: {credits}")
    balance = credits.get("structuredContent", credits)  # mcporter prints the structured content itself
    for field in ("available", "total"):
        if balance.get(field) != expected:
            raise CheckFailed(f"{client}: get_credits {field} = {balance.get(field)!r}, expected {expected:g}")


SKILL = REPO / "skill" / "SKILL.md"
SKILL_PHOTOS = ("/absolute/path/photo1.jpg", "/absolute/path/photo2.jpg")
SKILL_M = f"npx -y {MCPORTER} call --stdio nemo-video-mcp"
"""What the skill's `$M` stands for: the pinned mcporter, and the server by the name the install puts on PATH."""


def skill_blocks() -> tuple[list[str], list[list[str]]]:
    """The skill's install commands (its `## Install` block) and its `$M …` calls, as argument lists after `$M`."""
    text = SKILL.read_text(encoding="utf-8")
    install_section = text.split("## Install", 1)[1].split("## ", 1)[0] if "## Install" in text else ""
    installs = [
        line.strip() for line in install_section.split("```bash", 1)[-1].split("```", 1)[0].splitlines() if line.strip()
    ]
    definitions = [line for line in text.splitlines() if line.startswith("M=")]
    if definitions != [f'M="{SKILL_M}"']:
        raise CheckFailed(f"skill/SKILL.md must define M once as {SKILL_M!r}; it has {definitions}")
    calls = []
    for line in text.splitlines():
        if line.startswith("$M "):
            for placeholder, photo in zip(SKILL_PHOTOS, ("dawn.jpg", "noon.jpg"), strict=True):
                line = line.replace(placeholder, str(REPO / "samples" / photo))
            calls.append(shlex.split(line)[1:])
    if not installs or len(calls) < 8:
        raise CheckFailed(f"skill/SKILL.md has {len(installs)} install and {len(calls)} mcporter lines; expected more")
    return installs, calls


INSTALLERS = {
    "uv": lambda home: {"UV_TOOL_DIR": f"{home}/tools", "UV_TOOL_BIN_DIR": f"{home}/bin"},
    "pipx": lambda home: {"PIPX_HOME": f"{home}/tools", "PIPX_BIN_DIR": f"{home}/bin"},
}


def installer_for(tool: str, scratch: str) -> str:
    """The installer the skill names: the machine's own, else one put into a scratch venv from PyPI (CI machines
    have neither uv nor pipx, and the skill's install lines must still run there)."""
    found = shutil.which(tool)
    if found:
        return found
    venv = Path(scratch) / f"{tool}-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=NPX_TIMEOUT_S)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", tool], capture_output=True, text=True, timeout=NPX_TIMEOUT_S
    )
    if pip.returncode != 0:
        raise CheckFailed(f"could not install {tool} to run the skill's install line:\n{pip.stderr}"[-3000:])
    print(f"inspector check: {tool} is not on this machine; installed it into a scratch venv")
    return str(venv / "bin" / tool)


def run_skill_installs(installs: list[str], scratch: str) -> None:
    """Each install command of the skill, from the repository, into a scratch folder: it must give a working server."""
    for index, line in enumerate(installs):
        tool = shlex.split(line)[0]
        if tool not in INSTALLERS:
            raise CheckFailed(f"skill/SKILL.md installs with {tool!r}, which this check does not know how to confine")
        home = f"{scratch}/install-{index}"
        env = os.environ | INSTALLERS[tool](home)
        argv = [installer_for(tool, scratch), *shlex.split(line)[1:]]
        run = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=NPX_TIMEOUT_S)
        server = Path(home) / "bin" / "nemo-video-mcp"
        if run.returncode != 0 or not server.exists():
            raise CheckFailed(f"skill install `{line}` failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"[-3000:])
        version = subprocess.run([str(server), "--version"], capture_output=True, text=True, timeout=60)
        if not version.stdout.startswith("nemo-video-mcp "):
            raise CheckFailed(f"skill install `{line}` gave a server whose --version printed {version.stdout!r}")
        print(f"inspector check: skill install `{line}` gave {version.stdout.strip()}")


def _field(name: str, test: Callable[[Any], bool]) -> Callable[[dict[str, Any]], str | None]:
    return lambda result: None if test(result.get(name)) else f"{name} = {result.get(name)!r}"


SKILL_ANSWERS: dict[str, list[Callable[[dict[str, Any]], str | None]]] = {
    "get_credits": [_field("total", lambda total: isinstance(total, (int, float)))],
    "upload_images": [_field("files", lambda files: isinstance(files, list) and len(files) == 2)],
    "generate_video": [_field("status", lambda status: status in ("running", "completed")), _field("job_id", bool)],
    "get_job": [_field("kind", lambda kind: kind in ("edit", "render")), _field("status", bool)],
    "get_state": [_field("summary", lambda summary: str(summary).startswith("Timeline ("))],
    "preview_storyboard": [
        _field("shots", lambda shots: isinstance(shots, list) and len(shots) >= 1),
        _field("image_bytes", lambda size: isinstance(size, int) and 0 < size <= 200 * 1024),
    ],
    "export_video": [_field("job_id", bool), _field("status", bool)],
    "get_project_link": [_field("kind", lambda kind: kind in ("claim", "workspace", "local"))],
    "cancel_export": [_field("cancelled", lambda cancelled: isinstance(cancelled, bool))],
}
OFFLINE_ANSWERS = {"get_credits": [_field("needs_credits", lambda needs: needs is False)]}


def run_skill_calls(server_flags: list[str]) -> None:
    """Every `$M` line of the skill, in order, against the simulator, with the server found on PATH as the install
    puts it; each must answer without error and with what its tool promises."""
    path = f"{SERVER.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    pinned = shlex.split(SKILL_M)
    for arguments in skill_blocks()[1]:
        tool = next(argument for argument in arguments if not argument.startswith("-") and "=" not in argument)
        offline = "NEMO_BACKEND=local" in arguments
        result = npx(pinned[2], *pinned[3:], *server_flags, *arguments, path=path)
        problems = [] if result.get("message") else ["no message"]
        if result.get("isError"):
            problems.append("isError")
        for check in (OFFLINE_ANSWERS if offline else SKILL_ANSWERS).get(tool, []):
            problems += [problem for problem in [check(result)] if problem]
        if problems:
            raise CheckFailed(f"mcporter {' '.join(arguments)} (a line of skill/SKILL.md): {problems}: {result}")
        answer = result["message"].splitlines()[0][:80]
        print(f"inspector check: skill line `{' '.join(arguments)[:40]}` answered: {answer}")


def main() -> int:
    if not SERVER.exists():
        print(f"inspector check: {SERVER} not found; install the package in the venv first", file=sys.stderr)
        return 1
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="nemo-inspector-") as scratch:
        server_env = {
            "NEMO_API_BASE": base_url,
            "NEMO_CACHE_DIR": f"{scratch}/cache",
            "NEMO_POLL_INTERVAL": "0.05",
            "NEMO_WAIT_SCALE": "0.01",
        }
        env_flags = [flag for key, value in server_env.items() for flag in ("-e", f"{key}={value}")]
        inspector = ["--cli", *env_flags, str(SERVER)]
        simulator = None
        try:
            simulator = start_simulator(port)
            credits_given = httpx.get(f"{base_url}/_sim/config").json()["initial_credits"]
            started = time.monotonic()

            check_tools_list(npx(INSPECTOR, *inspector, "--method", "tools/list"))
            print(f"inspector check: tools/list names the {len(TOOLS)} tools")

            credits = npx(INSPECTOR, *inspector, "--method", "tools/call", "--tool-name", "get_credits")
            check_credits(credits, credits_given, "Inspector")
            print(f"inspector check: get_credits via the Inspector reports {credits_given:g} credits")

            mcporter_env = [flag for key, value in server_env.items() for flag in ("--env", f"{key}={value}")]
            credits = npx(MCPORTER, "call", "--stdio", str(SERVER), *mcporter_env, "get_credits", "--output", "json")
            check_credits(credits, credits_given, "mcporter")
            print(f"inspector check: get_credits via mcporter reports {credits_given:g} credits")
            run_skill_installs(skill_blocks()[0], scratch)
            run_skill_calls(mcporter_env)
            print(f"inspector check: OK in {time.monotonic() - started:.1f} s")
        except CheckFailed as failure:
            print(f"inspector check FAILED: {failure}", file=sys.stderr)
            return 1
        finally:
            if simulator is not None:
                simulator.terminate()
                simulator.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
