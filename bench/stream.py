"""An edit stream of 50,000 events through our reader and through the whole server, vs the bare reader.

    .venv/bin/pip install -e ".[bench]"          # httpx-sse, the bare reader
    .venv/bin/python bench/stream.py             # 5 interleaved rounds of 50,000 events, then RSS at 50k vs 200k
    .venv/bin/python bench/stream.py --quick     # 2 rounds of 5,000; RSS at 5k vs 20k
    .venv/bin/python bench/stream.py --profile DIR   # then one more read of each of ours under cProfile

The stream comes from `bench/stream_server.py` (the simulator, with a `/run_sse` that writes a
prebuilt body as fast as loopback allows: partial text deltas, tool calls, tool results, heartbeats).
Per round, in turn: the bare reader (`httpx-sse` iteration plus `json.loads` of each event), our
reader (the cloud backend's SSE reader and event parser over the same response), and the whole
server (an MCP client calling `generate_video`, with a progress callback, through `nemo-video-mcp`).
Targets: our reader >= 0.9x the bare reader, whole server >= 0.5x, and the server's peak RSS the
same for a stream four times as long.

`--profile DIR`, after the timed rounds (which it leaves unprofiled): our reader once more under
cProfile in this process (`DIR/reader.prof`), and a fresh server under `python -m cProfile` for one
`generate_video` (`DIR/server.prof`); the top entries of each are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, SERVER_SCRIPT, TreePeak, http_server, load, mcp_session, server_env, server_process, spread

SSE_BODY = {"app_name": "nemo_agent", "user_id": "me", "session_id": "bench", "new_message": {"parts": [{"text": "x"}]}}


async def bare_reader(client: httpx.AsyncClient) -> int:
    from httpx_sse import aconnect_sse

    count = 0
    async with aconnect_sse(client, "POST", "/run_sse", json=SSE_BODY) as source:
        async for sse in source.aiter_sse():
            if sse.data:
                json.loads(sse.data)
            count += 1
    return count


async def our_reader(client: httpx.AsyncClient) -> int:
    from nemo_video_mcp.backends.cloud.edits import _events

    count = 0
    async with client.stream("POST", "/run_sse", json=SSE_BODY, headers={"Accept": "text/event-stream"}) as response:
        async for _ in _events(response):
            count += 1
    return count


class WholeServer:
    """One `nemo-video-mcp` process with one uploaded photo; each `edit()` is one generate_video call."""

    def __init__(self, client, pid: int) -> None:  # type: ignore[no-untyped-def]
        self.client, self.pid, self.turn, self.notifications = client, pid, 0, 0

    async def edit(self) -> float:
        self.turn += 1
        notified = 0

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            nonlocal notified
            notified += 1

        start = time.perf_counter()
        result = await self.client.call_tool(
            "generate_video", {"instruction": f"a 15-second slideshow, take {self.turn}"}, progress_callback=on_progress
        )
        elapsed = time.perf_counter() - start
        text = " ".join(getattr(c, "text", "") for c in result.content)
        if result.is_error or '"running"' in text:
            raise RuntimeError(f"generate_video did not finish: {text[:300]}")
        self.notifications = notified
        return elapsed


async def start_server(stack, base: str, home: Path, command: list[str] | None = None):  # type: ignore[no-untyped-def]
    env = server_env(base, home, NEMO_CALL_BUDGET_S="600")
    client = await stack.enter_async_context(mcp_session(command or [str(SERVER_SCRIPT)], env))
    photo = home / "photo.png"
    Image.new("RGB", (640, 480), (200, 120, 40)).save(photo)
    result = await client.call_tool("upload_images", {"paths": [str(photo)]})
    if result.is_error:
        raise RuntimeError(f"upload_images failed: {result.content}")
    pid = server_process()
    assert pid is not None, "the server process was not found"
    return WholeServer(client, pid)


async def rss_growth(base: str, events: int) -> None:
    """The server's peak RSS over one generate_video of `events` and of 4x as many events, each in a fresh server."""
    from contextlib import AsyncExitStack

    for n in (events, 4 * events):
        httpx.post(f"{base}/_bench/events", params={"n": n}, timeout=120).raise_for_status()
        with tempfile.TemporaryDirectory(prefix="nemo-bench-stream-") as home:
            async with AsyncExitStack() as stack:
                server = await start_server(stack, base, Path(home))
                before = psutil.Process(server.pid).memory_info().rss
                with TreePeak(server.pid, interval=0.01) as peak:
                    elapsed = await server.edit()
                print(
                    f"  {n:>7,} events: server RSS {before / 2**20:.1f} MB before, peak {peak.peak / 2**20:.1f} MB "
                    f"(+{(peak.peak - before) / 2**20:.1f} MB); {n / elapsed:,.0f} events/s, "
                    f"{server.notifications} progress notifications"
                )


def print_top(path: Path, title: str) -> None:
    import pstats

    print(f"\n{title}: {path}")
    for order in ("cumulative", "tottime"):
        pstats.Stats(str(path)).sort_stats(order).print_stats(25)


async def profiles(base: str, client: httpx.AsyncClient, directory: Path) -> None:
    """Our reader in-process, and the whole server in a fresh process, each once under cProfile."""
    import cProfile
    from contextlib import AsyncExitStack

    directory.mkdir(parents=True, exist_ok=True)
    profiler = cProfile.Profile()
    profiler.enable()
    await our_reader(client)
    profiler.disable()
    profiler.dump_stats(directory / "reader.prof")
    server_prof = directory / "server.prof"
    with tempfile.TemporaryDirectory(prefix="nemo-bench-stream-") as home:
        async with AsyncExitStack() as stack:
            command = [PYTHON, "-m", "cProfile", "-o", str(server_prof), str(SERVER_SCRIPT)]
            server = await start_server(stack, base, Path(home), command)
            await server.edit()
    print_top(directory / "reader.prof", "our reader under cProfile (one read)")
    if server_prof.exists():
        print_top(server_prof, "the whole server under cProfile (upload, one generate_video, shutdown)")
    else:
        print("the server wrote no profile (it did not exit normally)")


async def run(rounds: int, events: int, profile: Path | None) -> None:
    from contextlib import AsyncExitStack

    with http_server(["bench/stream_server.py"]) as base, tempfile.TemporaryDirectory() as home:
        httpx.post(f"{base}/_bench/events", params={"n": events}, timeout=120).raise_for_status()
        token = httpx.post(f"{base}/api/auth/anonymous-token", headers={"X-Client-Id": "bench"}).json()
        token = token.get("data", token).get("token")
        headers = {"Authorization": f"Bearer {token}"}
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(httpx.AsyncClient(base_url=base, headers=headers, timeout=600))
            server = await start_server(stack, base, Path(home))
            await bare_reader(client), await our_reader(client), await server.edit()  # warm-up
            rates: dict[str, list[float]] = {"bare reader": [], "our reader": [], "whole server": []}
            work = {"bare reader": lambda: bare_reader(client), "our reader": lambda: our_reader(client)}
            names = list(rates)
            print(f"edit stream of {events:,} events, {rounds} interleaved rounds, {load()}")
            for i in range(rounds):
                for name in names[i % 3 :] + names[: i % 3]:
                    if name == "whole server":
                        elapsed = await server.edit()
                    else:
                        start = time.perf_counter()
                        await work[name]()
                        elapsed = time.perf_counter() - start
                    rates[name].append(events / elapsed)
        for name, values in rates.items():
            print(f"  {name:<13}{spread(values, ' events/s', 1, 0)}")
        for name, target in (("our reader", 0.9), ("whole server", 0.5)):
            ratio = [a / b for a, b in zip(rates[name], rates["bare reader"], strict=True)]
            print(f"  {name} / bare reader: {spread(ratio, 'x')}  [target >= {target}x]")
        print(f"  whole server: {server.notifications} progress notifications in the last call")
        print(f"  after: {load()}")
        if profile is not None:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
                await profiles(base, client, profile)
        else:
            print("server peak RSS vs stream length (fresh server each):")
            await rss_growth(base, events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5,000 events")
    parser.add_argument("--profile", type=Path, help="then profile ours once each, into this folder")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.events = 2, 5_000
    asyncio.run(run(args.rounds, args.events, args.profile))


if __name__ == "__main__":
    main()
