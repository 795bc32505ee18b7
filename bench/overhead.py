"""Per-call overhead: sequential get_credits and get_state calls through one MCP session, against the simulator.

    .venv/bin/python bench/overhead.py            # 200 calls of each, in 10 interleaved rounds
    .venv/bin/python bench/overhead.py --quick    # 40 calls of each, in 4 rounds

Beside them, in the same rounds, the two costs no server can avoid: a bare `MCPServer` tool call
round trip over stdio (`bench/bare_server.py`'s `add`), and the same HTTP request made with one raw
`httpx.AsyncClient` (and a sync `httpx.Client`). The simulator runs in its own process
(`python -m tests.sim`), as does each server. Target: ours <= 1.05x (bare round trip + raw request).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BARE_SERVER, PYTHON, SERVER_SCRIPT, load, mcp_session, server_env, simulator, spread

CREDITS_PATH = "/api/credits/balance/simple"


async def per_call(work: Callable[[], Awaitable[object]], calls: int) -> float:
    """Mean seconds per call over `calls` sequential calls."""
    start = time.perf_counter()
    for _ in range(calls):
        await work()
    return (time.perf_counter() - start) / calls


async def run(rounds: int, calls: int, profile: Path | None) -> None:
    with simulator() as base, tempfile.TemporaryDirectory(prefix="nemo-bench-overhead-") as home:
        token = httpx.post(f"{base}/api/auth/anonymous-token", headers={"X-Client-Id": "bench"}).json()
        token = token.get("data", token).get("token")
        headers = {"Authorization": f"Bearer {token}"}
        ours_command = [str(SERVER_SCRIPT)]
        if profile is not None:
            ours_command = [PYTHON, "-m", "cProfile", "-o", str(profile), str(SERVER_SCRIPT)]
        async with (
            mcp_session(ours_command, server_env(base, Path(home))) as ours,
            mcp_session([PYTHON, str(BARE_SERVER)], {"PATH": os.environ.get("PATH", "")}) as bare,
            httpx.AsyncClient(base_url=base, headers=headers) as raw_async,
        ):
            raw_sync = httpx.Client(base_url=base, headers=headers)

            async def sync_get() -> None:
                raw_sync.get(CREDITS_PATH).raise_for_status()

            async def async_get() -> None:
                (await raw_async.get(CREDITS_PATH)).raise_for_status()

            async def ours_call(name: str) -> None:
                result = await ours.call_tool(name, {})
                if result.is_error:
                    raise RuntimeError(f"{name} failed: {result.content}")

            contenders: dict[str, Callable[[], Awaitable[object]]] = {
                "get_credits": lambda: ours_call("get_credits"),
                "get_state": lambda: ours_call("get_state"),
                "bare round trip": lambda: bare.call_tool("add", {"a": 1, "b": 2}),
                "raw httpx async": async_get,
                "raw httpx sync": sync_get,
            }
            for work in contenders.values():  # warm-up: token, connections, first-call imports
                for _ in range(3):
                    await work()
            times: dict[str, list[float]] = {name: [] for name in contenders}
            names = list(contenders)
            print(f"per-call overhead, {rounds} rounds x {calls} sequential calls each, {load()}")
            for i in range(rounds):
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    times[name].append(await per_call(contenders[name], calls))
            raw_sync.close()
    print("  mean per call, median of the rounds (min-max):")
    for name, values in times.items():
        print(f"    {name:<18}{spread(values, ' ms', 1000, 2)}")
    floor = [b + r for b, r in zip(times["bare round trip"], times["raw httpx async"], strict=True)]
    print(f"    {'floor (bare+raw)':<18}{spread(floor, ' ms', 1000, 2)}")
    for name in ("get_credits", "get_state"):
        ratio = [o / f for o, f in zip(times[name], floor, strict=True)]
        own = [o - f for o, f in zip(times[name], floor, strict=True)]
        print(
            f"  {name}: ours / floor {spread(ratio, 'x')}  [target <= 1.05x]; "
            f"our own code {statistics.median(own) * 1000:.2f} ms a call"
        )
    print(f"  after: {load()}")
    if profile is not None:
        import pstats

        print(f"\nours under cProfile (all calls above; times are inflated by the profiler): {profile}")
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(r"nemo_video_mcp|httpx|mcp/server", 30)
        pstats.Stats(str(profile)).sort_stats("tottime").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=20, help="calls per contender per round")
    parser.add_argument("--quick", action="store_true", help="4 rounds of 10")
    parser.add_argument("--profile", type=Path, help="run ours under cProfile, write the stats here and print them")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.calls = 4, 10
    asyncio.run(run(args.rounds, args.calls, args.profile))


if __name__ == "__main__":
    main()
