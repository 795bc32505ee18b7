"""CI check: third-party MCP clients (the MCP Inspector CLI, mcporter) drive the installed server.

Starts the backend simulator on a free loopback port, then runs, non-interactively and pinned:
  npx -y @modelcontextprotocol/inspector@2.12.0 --cli <server> --method tools/list
  npx -y @modelcontextprotocol/inspector@2.12.0 --cli <server> --method tools/call --tool-name get_credits
  npx -y mcporter@0.12.3 call --stdio <server> get_credits --output json
and checks their JSON: the eight tools are listed, and get_credits reports the simulator's balance.
Exits 1 with a message saying what went wrong. Run with the venv's python from the repository root.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
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


def npx(package: str, *args: str) -> Any:
    """Run one pinned npm package through npx, non-interactively, and parse its JSON output."""
    command = ["npx", "-y", package, *args]
    env = os.environ | {"npm_config_update_notifier": "false", "npm_config_fund": "false"}
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
    return "\n".join(line for line in stderr.splitlines() if not line.startswith("npm warn"))


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


def skill_calls() -> list[list[str]]:
    """The `$M TOOL k=v …` lines of the skill's mcporter block, as argument lists (after `call --stdio SERVER`)."""
    calls = []
    for line in SKILL.read_text(encoding="utf-8").splitlines():
        if line.startswith("$M "):
            for placeholder, photo in zip(SKILL_PHOTOS, ("dawn.jpg", "noon.jpg"), strict=True):
                line = line.replace(placeholder, str(REPO / "samples" / photo))
            calls.append(shlex.split(line)[1:])
    if len(calls) < 5:
        raise CheckFailed(f"skill/SKILL.md has {len(calls)} mcporter lines; expected the whole story")
    return calls


def run_skill_calls(server_flags: list[str]) -> None:
    """Every mcporter line the skill shows, in order, against the simulator: each must answer without error."""
    for arguments in skill_calls():
        result = npx(MCPORTER, "call", "--stdio", str(SERVER), *server_flags, *arguments)
        if result.get("isError") or not result.get("message"):
            raise CheckFailed(f"mcporter {' '.join(arguments)} (a line of skill/SKILL.md) failed: {result}")
        print(f"inspector check: skill line `{arguments[0]}` answered: {result['message'].splitlines()[0][:90]}")


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
