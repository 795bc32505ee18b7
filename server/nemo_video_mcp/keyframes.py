"""Three JPEG stills of a finished video (start, middle, end), small enough to go beside the tool's text.

One ffmpeg run seeks to the three times (input seeking: it decodes from the keyframe before each) and
writes three JPEGs at once. Together they must stay within `BUDGET_BYTES`; if they do not, the next
rung of `RUNGS` (narrower, lower quality) is tried. The stills are kept in the cache, owner-only,
each renamed into place whole; the ledger holds only their paths.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from nemo_video_mcp.video_probe import ProbeUnavailableError, run_ffmpeg_report

BUDGET_BYTES = 300 * 1024
"""The three stills together, as sent to the agent (before base64)."""
RUNGS: tuple[tuple[int, int], ...] = ((640, 4), (480, 7), (360, 11), (240, 16), (160, 24), (96, 31))
"""(longest side in pixels, ffmpeg's JPEG quality: 2 best .. 31 worst), tried in order until the three fit."""
NAMES = ("start", "middle", "end")
KEYFRAME_TIMEOUT_S = 60.0


def still_times(duration_s: float, fps: float) -> tuple[float, float, float]:
    """The start, the middle and the last frame's time (a seek past the last frame finds none)."""
    frame = 1 / fps if fps > 0 else 0.1
    last = max(0.0, duration_s - 1.5 * frame)
    return 0.0, min(last, duration_s / 2), last


def scaled_size(width: int, height: int, longest: int) -> tuple[int, int]:
    """The still's size: the longest side at most `longest`, never larger than the video, both even."""
    scale = min(1.0, longest / max(width, height, 1))
    return max(2, int(width * scale / 2 + 0.5) * 2), max(2, int(height * scale / 2 + 0.5) * 2)


def fits(sizes: list[int], budget: int = BUDGET_BYTES) -> bool:
    return len(sizes) == len(NAMES) and all(size > 0 for size in sizes) and sum(sizes) <= budget


async def write_keyframes(
    video: Path,
    folder: Path,
    *,
    duration_s: float,
    fps: float,
    width: int,
    height: int,
    budget: int = BUDGET_BYTES,
    timeout_s: float = KEYFRAME_TIMEOUT_S,
) -> list[Path]:
    """The three stills of `video`, as `folder`/start.jpg, middle.jpg, end.jpg (replacing older ones);
    `folder` exists and is private (`Store.private_folder`)."""
    times = still_times(duration_s, fps)
    with tempfile.TemporaryDirectory(prefix=".keyframes-", dir=folder) as work:
        temps = [Path(work) / f"{name}.jpg" for name in NAMES]
        tried: list[int] = []
        for longest, quality in RUNGS:
            size = scaled_size(width, height, longest)
            await run_ffmpeg_report(_still_args(video, times, size, quality, temps), timeout_s)
            sizes = [temp.stat().st_size if temp.is_file() else 0 for temp in temps]
            if fits(sizes, budget):
                return await asyncio.to_thread(_place, temps, folder)
            tried.append(sum(sizes))
            for temp in temps:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
    if not any(tried):
        raise ProbeUnavailableError("ffmpeg made no still of it")
    raise ProbeUnavailableError(f"its three stills did not fit in {budget // 1024} KB even at the smallest size")


def _still_args(
    video: Path, times: tuple[float, ...], size: tuple[int, int], quality: int, outputs: list[Path]
) -> list[str]:
    args = ["-loglevel", "error"]
    for seconds in times:
        args += ["-threads", "1", "-ss", f"{seconds:.3f}", "-i", str(video)]  # one decoding thread: leaves the cores
    for index, output in enumerate(outputs):
        args += ["-map", f"{index}:v:0", "-frames:v", "1", "-vf", f"scale={size[0]}:{size[1]}"]
        args += ["-q:v", str(quality), "-y", str(output)]
    return args


def _place(temps: list[Path], folder: Path) -> list[Path]:
    placed = []
    for temp in temps:
        os.chmod(temp, 0o600)
        target = folder / temp.name
        os.replace(temp, target)
        placed.append(target)
    return placed


def remove_keyframes(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
