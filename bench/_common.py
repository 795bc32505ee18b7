"""What every bench shares: figures as min/median/max, pairwise ratios, and the peak RSS of a process tree."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "_work"
PYTHON = sys.executable
SERVER_SCRIPT = Path(PYTHON).with_name("nemo-video-mcp")
BARE_SERVER = ROOT / "bench" / "bare_server.py"


def spread(values: Sequence[float], unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    """`median (min-max)` of the values, each times `scale`."""
    vals = sorted(v * scale for v in values)
    med = statistics.median(vals)
    return f"{med:.{digits}f}{unit} ({vals[0]:.{digits}f}-{vals[-1]:.{digits}f})"


def ratios(ours: Sequence[float], reference: Sequence[float]) -> list[float]:
    """Ratios run by run (the pairs were measured side by side, so a drift in the machine's speed cancels)."""
    return [a / b for a, b in zip(ours, reference, strict=True) if b > 0]


def load() -> str:
    """The load average, to print beside every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


class TreePeak:
    """Samples the summed RSS of a process and all its descendants every `interval` s, in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self.peak = 0
        self.parts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> int:
        import psutil

        total = 0
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
                name = "ffmpeg" if "ffmpeg" in proc.name() else ("main" if proc.pid == self._root.pid else "python")
            except psutil.Error:
                continue
            total += rss
            self.parts[name] = max(self.parts.get(name, 0), rss)
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self._interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def http_server(args: Sequence[str]) -> Iterator[str]:
    """A loopback HTTP server in its own process (`args` + `--port N`, run from the repo); yields its base URL."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([PYTHON, *args, "--port", str(port)], cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/_sim/stats", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def simulator() -> contextlib.AbstractContextManager[str]:
    """The project's simulator (`python -m tests.sim`), quiet."""
    return http_server(["-m", "tests.sim", "--log-level", "warning"])


def server_env(base: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of our server against the backend at `base`, with a private cache under `home`.

    PYTHONPATH is passed on when set, so that a run from a worktree (`PYTHONPATH=$PWD/server`) serves
    that worktree's code rather than the checkout the venv was installed from.
    """
    inherited = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return {
        "NEMO_API_BASE": base,
        "NEMO_CACHE_DIR": str(home / "cache"),
        "NEMO_OUTPUT_DIR": str(home / "videos"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        **inherited,
        **extra,
    }


@contextlib.asynccontextmanager
async def mcp_session(command: Sequence[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    """One MCP client session over stdio with `command` (its stderr thrown away)."""
    from mcp import Client, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=command[0], args=list(command[1:]), env=env)
    with open(os.devnull, "w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=600) as client:
            yield client


def server_process(marker: str = "nemo-video-mcp") -> int | None:
    """The pid of this process's child whose command line contains `marker`."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(marker in part for part in child.cmdline()):
                return child.pid
    return None


# --- The local renderer's benches: photo-like images, and a contender's process tree ---------------

IMAGES = [
    ("a.jpg", (6000, 4000)),
    ("b.png", (3000, 2000)),
    ("c.jpg", (6000, 4000)),
    ("d.png", (2400, 2400)),  # with alpha
    ("e.jpg", (4000, 6000)),  # portrait
    ("f.png", (1200, 1600)),
    ("g.jpg", (6000, 4000)),
    ("h.png", (3000, 2000)),
]
"""Eight mixed-size images; more than eight repeat these sizes and kinds as different pictures."""


def make_images(count: int = 8) -> list[Path]:
    """`count` different photo-like stills (colour gradients under fine noise, so the encoder has real
    detail to code), made once under bench/_work/."""
    from PIL import Image

    WORK.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        name, size = IMAGES[i % len(IMAGES)]
        path = WORK / (name if i < len(IMAGES) else f"{i:02d}{name}")
        paths.append(path)
        if path.exists():
            continue
        small = (size[0] // 8, size[1] // 8)
        r = Image.linear_gradient("L").resize(small).rotate(40 * i, expand=False)
        g = Image.radial_gradient("L").resize(small)
        b = Image.effect_noise(small, 60)
        base = Image.merge("RGB", (r, g, b)).resize(size, Image.Resampling.BICUBIC)
        noise = Image.effect_noise(size, 25).convert("RGB")
        image = Image.blend(base, noise, 0.15)
        if name.startswith("d"):
            image = image.convert("RGBA")
            image.putalpha(Image.radial_gradient("L").resize(size))
        image.save(path, quality=92) if path.suffix == ".jpg" else image.save(path, compress_level=6)
    return paths


def measure_child(argv: Sequence[str]) -> dict[str, float]:
    """Run a contender's child process (`argv`), which prints a JSON object as its last line; return it
    with the peak RSS of the child's whole tree (`peak_mb`, sampled every 20 ms) and of each part alone:
    `peak_main_mb` (the child), `peak_helper_mb` (its Python children), `peak_ffmpeg_mb`."""
    import psutil

    process = subprocess.Popen(list(argv), stdout=subprocess.PIPE, text=True)
    peak = 0
    parts: dict[str, int] = {}
    watched = psutil.Process(process.pid)
    done = threading.Event()

    def part(member: psutil.Process) -> str:
        if member.pid == watched.pid:
            return "main"
        return "ffmpeg" if "ffmpeg" in member.name() else "helper"

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [watched, *watched.children(recursive=True)]
                total = 0
                now: dict[str, int] = {}
                for member in tree:
                    with contextlib.suppress(psutil.Error):  # a child may exit between listing and reading
                        rss = member.memory_info().rss
                        total += rss
                        label = part(member)
                        now[label] = now.get(label, 0) + rss
                peak = max(peak, total)
                for label, rss in now.items():
                    parts[label] = max(parts.get(label, 0), rss)
            except psutil.Error:
                pass
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed with code {process.returncode}")
    result: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    result["peak_mb"] = peak / 1024 / 1024
    for label, rss in parts.items():
        result[f"peak_{label}_mb"] = rss / 1024 / 1024
    return result
