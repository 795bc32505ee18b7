"""One 190 MB file through `upload_images` vs `curl -F files=@...`, to the simulator and to a sink.

    .venv/bin/python bench/upload.py                 # 190 MB, 5 interleaved pairs per endpoint
    .venv/bin/python bench/upload.py --quick         # 20 MB, 2 pairs
    .venv/bin/python bench/upload.py --profile FILE  # ours under cProfile, against the sink

Ours is the whole server: an MCP client over stdio calls `upload_images` on `nemo-video-mcp`, whose
`NEMO_API_BASE` points at the endpoint; the first call (token, session) is not timed. The reference
is curl (`/usr/bin/curl`) posting the same file as the same multipart field to the same upload path
with a token of the same endpoint. Pairs alternate which goes first. Two endpoints, each in its own
process: the simulator (`python -m tests.sim`) and `bench/upload_sink.py`, which only drains the body
(and answers in the contract's upload shape), so that it is never the bottleneck. Printed: MB/s of
each, ours / curl in speed pair by pair, the server's peak RSS (sampled every 10 ms during its calls)
and the endpoint's. Targets: ours >= 0.9x curl to the sink; server peak RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    PYTHON,
    ROOT,
    SERVER_SCRIPT,
    TreePeak,
    http_server,
    load,
    mcp_session,
    ratios,
    server_env,
    server_process,
    spread,
)

WORK = ROOT / "bench" / "_work"
MB = 1024 * 1024
FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
ENDPOINTS = {"simulator": ["-m", "tests.sim", "--log-level", "warning"], "sink": ["bench/upload_sink.py"]}


def make_file(size: int) -> Path:
    """An MP4-looking file of `size` bytes (an ftyp box, then random bytes): a video, so nothing decodes it."""
    path = WORK / f"upload-{size}.mp4"
    if not path.exists() or path.stat().st_size != size:
        WORK.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.write(FTYP)
            left = size - len(FTYP)
            while left > 0:
                out.write(os.urandom(min(left, 8 * MB)))
                left -= min(left, 8 * MB)
    with path.open("rb") as handle:  # into the page cache: both contenders read memory, not the disk
        while handle.read(16 * MB):
            pass
    return path


def session_of(base: str) -> tuple[str, str]:
    """A token and a session id of the endpoint, for curl."""
    token = httpx.post(f"{base}/api/auth/anonymous-token", headers={"X-Client-Id": "bench-curl"}).json()["data"]
    headers = {"Authorization": f"Bearer {token['token']}"}
    session = httpx.post(f"{base}/api/tasks/me/with-session/nemo_agent", json={"task_name": "bench"}, headers=headers)
    return token["token"], session.json()["data"]["session_id"]


def curl(base: str, token: str, session_id: str, path: Path) -> float:
    command = [
        "curl", "-sS", "--fail", "-H", f"Authorization: Bearer {token}",
        "-F", f"files=@{path};type=video/mp4", f"{base}/api/upload-video/nemo_agent/me/{session_id}",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    if b'"code":0' not in done.stdout.replace(b" ", b""):
        raise RuntimeError(f"curl's upload was refused: {done.stdout[:300]!r}")
    return elapsed


async def against(name: str, path: Path, small: Path, pairs: int, profile: Path | None) -> dict[str, list[float]]:
    """`pairs` timed uploads of ours and of curl to one endpoint, the peaks of the server and the endpoint,
    and the fixed cost of a call: `small` uploaded as many times by each."""
    import psutil

    marker = "tests.sim" if name == "simulator" else "upload_sink.py"
    with http_server(ENDPOINTS[name]) as base, tempfile.TemporaryDirectory(prefix="nemo-bench-upload-") as home:
        endpoint = server_process(marker)
        assert endpoint is not None, f"the {name} process was not found"
        token, session_id = session_of(base)
        command = [str(SERVER_SCRIPT)]
        if profile is not None:
            command = [PYTHON, "-m", "cProfile", "-o", str(profile), str(SERVER_SCRIPT)]
        env = server_env(base, Path(home), NEMO_CALL_BUDGET_S="600")
        async with mcp_session(command, env) as client:

            async def ours(path: Path = path) -> float:
                start = time.perf_counter()
                result = await client.call_tool("upload_images", {"paths": [str(path)]})
                elapsed = time.perf_counter() - start
                if result.is_error:
                    raise RuntimeError(f"upload_images failed: {result.content}")
                return elapsed

            await ours()  # token, session, first-call imports
            server = server_process("nemo-video-mcp")
            assert server is not None, "the server process was not found"
            rss = psutil.Process(server).memory_info().rss
            figures: dict[str, list[float]] = {"ours": [], "curl": [], "server_peak": [], "endpoint_peak": []}
            with TreePeak(endpoint, interval=0.01) as endpoint_peak:
                for i in range(pairs):
                    order = ("ours", "curl") if i % 2 == 0 else ("curl", "ours")
                    for who in order:
                        if who == "curl":
                            figures["curl"].append(curl(base, token, session_id, path))
                            continue
                        with TreePeak(server, interval=0.01) as server_peak:
                            figures["ours"].append(await ours())
                        figures["server_peak"].append(server_peak.peak / MB)
            figures["endpoint_peak"].append(endpoint_peak.peak / MB)
            figures["server_before"] = [rss / MB]
            for _ in range(pairs):
                figures.setdefault("ours_small", []).append(await ours(small))
                figures.setdefault("curl_small", []).append(curl(base, token, session_id, small))
    return figures


async def run(size_mb: int, pairs: int, profile: Path | None) -> None:
    if shutil.which("curl") is None:
        raise SystemExit("curl is not on PATH: it is the reference")
    path, small = make_file(size_mb * MB), make_file(1024)
    print(f"upload of one {size_mb} MB file, {pairs} interleaved pairs per endpoint, {load()}")
    endpoints = ["sink"] if profile is not None else list(ENDPOINTS)
    for name in endpoints:
        got = await against(name, path, small, pairs, profile if name == "sink" else None)
        speed = {who: [size_mb / t for t in got[who]] for who in ("ours", "curl")}
        print(f"  to the {name}:")
        for who in ("ours", "curl"):
            print(f"    {who:<5} {spread(speed[who], ' MB/s', 1, 0)}   {spread(got[who], ' s')}")
        target = "  [target >= 0.9x]" if name == "sink" else ""
        print(f"    ours / curl (speed, pair by pair) {spread(ratios(got['curl'], got['ours']), 'x')}{target}")
        small_ours, small_curl = spread(got["ours_small"], " ms", 1000, 1), spread(got["curl_small"], " ms", 1000, 1)
        print(f"    a 1 KB file (the fixed cost of a call): ours {small_ours}, curl {small_curl}")
        peak = spread(got["server_peak"], " MB", 1, 0)
        print(f"    server RSS {got['server_before'][0]:.0f} MB after the first call, peak {peak}  [target < 100 MB]")
        print(f"    the {name}'s peak RSS {got['endpoint_peak'][0]:.0f} MB")
    print(f"  after: {load()}")
    if profile is not None:
        import pstats

        print(f"\nours under cProfile (all calls to the sink; inflated by the profiler): {profile}")
        pstats.Stats(str(profile)).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=190)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 MB, 2 pairs")
    parser.add_argument("--profile", type=Path, help="run ours under cProfile against the sink, print the stats")
    args = parser.parse_args()
    if args.quick:
        args.size_mb, args.pairs = 20, 2
    asyncio.run(run(args.size_mb, args.pairs, args.profile))


if __name__ == "__main__":
    main()
