"""Cold start to a `tools/list` answer over stdio, whole process: ours vs a bare `MCPServer` with five tools.

    .venv/bin/python bench/start.py            # 15 interleaved pairs, plus the tools/list size per tool
    .venv/bin/python bench/start.py --quick    # 3 pairs

Each run starts a fresh process, writes `initialize`, `notifications/initialized` and `tools/list` as
plain JSON-RPC lines, and stops the clock when the `tools/list` answer arrives; the pairs alternate
which goes first. Ours runs as installed (`nemo-video-mcp`, default settings, a private cache).
Also printed: the modules ours has imported by the time it answers (beyond the bare server's), and
the byte size of its `tools/list` answer, tool by tool.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BARE_SERVER, PYTHON, SERVER_SCRIPT, load, ratios, spread

HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]
REQUEST = "".join(json.dumps(m) + "\n" for m in HANDSHAKE).encode()


def time_to_tools_list(command: list[str], env: dict[str, str]) -> tuple[float, bytes]:
    """Seconds from spawning `command` to reading its tools/list answer, and that answer's line."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(REQUEST)
    proc.stdin.flush()
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{command[-1]} closed stdout before answering tools/list")
        if b'"id":2' in line.replace(b" ", b""):
            elapsed = time.perf_counter() - start
            break
    proc.stdin.close()
    proc.wait(timeout=30)
    return elapsed, line


def sizes(answer: bytes) -> None:
    tools = json.loads(answer)["result"]["tools"]
    print(f"\ntools/list answer: {len(answer.strip()):,} bytes for {len(tools)} tools")
    print(f"  {'tool':<20}{'total':>7}{'descr':>7}{'input':>7}{'output':>7}{'other':>7}")
    parts = {"description": 0, "inputSchema": 0, "outputSchema": 0}
    for tool in tools:
        total = len(json.dumps(tool, separators=(",", ":")))
        each = {k: len(json.dumps(tool.get(k, ""), separators=(",", ":"))) if k in tool else 0 for k in parts}
        for k, v in each.items():
            parts[k] += v
        other = total - sum(each.values())
        print(
            f"  {tool['name']:<20}{total:>7}{each['description']:>7}{each['inputSchema']:>7}"
            f"{each['outputSchema']:>7}{other:>7}"
        )
    whole = len(answer.strip())
    print("  shares: " + ", ".join(f"{k} {v / whole:.0%}" for k, v in parts.items()))
    indented = sum(json.dumps(t).count("\\n        ") for t in tools)
    print(f"  8-space indented description lines: {indented}")
    print("  what-if (same tools, same words; cumulative):")
    for label, changed in what_if(tools):
        print(f"    {label:<52}{len(json.dumps({'tools': changed}, separators=(',', ':'))):>7,} bytes")


def _compact(schema: object) -> object:
    """A JSON schema without pydantic's generated titles, `X | None` as a type list and no `default: null`."""
    if isinstance(schema, list):
        return [_compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _compact(v) for k, v in schema.items() if not (k == "title" and isinstance(v, str))}
    any_of = out.get("anyOf")
    if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
        other = next(item for item in any_of if item != {"type": "null"})
        if isinstance(other, dict) and set(other) == {"type"} and isinstance(other["type"], str):
            del out["anyOf"]
            out["type"] = [other["type"], "null"]
            if "default" in out and out["default"] is None:
                del out["default"]
    return out


def what_if(tools: list[dict]) -> list[tuple[str, list[dict]]]:
    steps = []
    tools = copy.deepcopy(tools)
    for tool in tools:
        tool["description"] = inspect.cleandoc(tool.get("description", ""))
    steps.append(("descriptions dedented (inspect.cleandoc)", copy.deepcopy(tools)))
    for tool in tools:
        for key in ("inputSchema", "outputSchema"):
            if key in tool:
                tool[key] = _compact(tool[key])
    steps.append(("+ schemas without titles, nullable as type list", copy.deepcopy(tools)))
    for tool in tools:
        tool.pop("outputSchema", None)
    steps.append(("+ no outputSchema (structuredContent still sent)", tools))
    five = {"upload_images", "generate_video", "get_state", "get_credits", "export_video"}
    steps.append(("  of which the first five tools", [t for t in tools if t["name"] in five]))
    return steps


IMPORTS_PROBE = """
import asyncio, sys, time
t0 = time.perf_counter()
from mcp.server.mcpserver import MCPServer
bare = set(sys.modules)
t1 = time.perf_counter()
from nemo_video_mcp.cli import main  # what the entry point imports
from nemo_video_mcp.app import build_app
t2 = time.perf_counter()
app = build_app()
t3 = time.perf_counter()
asyncio.run(app.list_tools())
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
extra = sorted({m.split('.')[0] for m in set(sys.modules) - bare})
ours = sorted(m for m in set(sys.modules) - bare if m.startswith('nemo_video_mcp'))
print(' '.join(extra)); print(' '.join(ours))
"""


def imports(env: dict[str, str], runs: int) -> None:
    """Where ours spends its start-up, in-process, over `runs` fresh processes."""
    phases: list[list[float]] = [[], [], [], []]
    for _ in range(runs):
        out = subprocess.run([PYTHON, "-c", IMPORTS_PROBE], capture_output=True, text=True, env=env, check=True)
        for phase, value in zip(phases, out.stdout.splitlines()[0].split(), strict=True):
            phase.append(float(value))
    packages, ours = out.stdout.splitlines()[1:3]
    print(f"\nwhere ours spends it (in-process, {runs} runs, median (min-max)):")
    for name, values in zip(
        ("import mcp (the bare server's too)", "import ours", "build_app", "list_tools"), phases, strict=True
    ):
        print(f"  {name:<38}{spread(values, ' ms', 1000, 0)}")
    print(f"imported by ours before tools/list, beyond the bare server: {packages}")
    print(f"  our modules ({len(ours.split())}): {ours}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="3 pairs")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="nemo-bench-start-") as cache:
        env = {**os.environ, "NEMO_CACHE_DIR": cache, "PYTHONDONTWRITEBYTECODE": "0"}
        env.pop("NEMO_BACKEND", None)
        contenders = {"ours": [str(SERVER_SCRIPT)], "bare": [PYTHON, str(BARE_SERVER)]}
        answers: dict[str, bytes] = {}
        for name, cmd in contenders.items():  # warm-up: bytecode and the page cache
            answers[name] = time_to_tools_list(cmd, env)[1]
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        print(f"start-up to tools/list, {runs} interleaved pairs, {load()}")
        for i in range(runs):
            order = ["ours", "bare"] if i % 2 == 0 else ["bare", "ours"]
            for name in order:
                times[name].append(time_to_tools_list(contenders[name], env)[0])
        for name, vals in times.items():
            print(f"  {name:<5} {spread(vals, ' ms', 1000, 0)}")
        print(
            f"  ratio ours/bare (pair by pair): {spread(ratios(times['ours'], times['bare']), 'x')}  [target <= 1.05x]"
        )
        print(f"  after: {load()}")
        imports(env, max(3, runs // 3))
    sizes(answers["ours"])
    print(f"  (the bare server's: {len(answers['bare'].strip()):,} bytes for 5 tools)")


if __name__ == "__main__":
    main()
