"""What every bench shares: figures as min/median/max, pairwise ratios, and the peak RSS of a process tree."""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
