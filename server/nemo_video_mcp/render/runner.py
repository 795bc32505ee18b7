"""Run ffmpeg as a child process: progress from `-progress pipe:1`, output written atomically.

The output goes to a hidden temp name beside the target (tagged with our lease, see `leftovers`) and
is renamed on success; on failure, timeout or cancellation ffmpeg is killed and reaped and the temp
file deleted. ffmpeg is started through `children`, so it also dies if the server is killed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from nemo_video_mcp.atomic import replacing
from nemo_video_mcp.errors import NemoError
from nemo_video_mcp.render import children

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
STDERR_TAIL_LINES = 30


class FfmpegError(NemoError):
    """ffmpeg failed, timed out or could not start."""

    code = "render_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The local render failed: {detail}",
            "Call export_video again; if it fails twice, simplify the plan with generate_video "
            "(fewer or smaller images, static motion) or report the error text.",
        )
        self.detail = detail


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """The ffmpeg binary bundled by imageio-ffmpeg (IMAGEIO_FFMPEG_EXE overrides it)."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def timeout_for(duration_s: float) -> float:
    """A generous wall-clock limit: 2 minutes plus 10 s per second of video."""
    return 120.0 + 10.0 * duration_s


async def run_ffmpeg(
    argv: Sequence[str],
    output: Path,
    *,
    duration_s: float,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
) -> None:
    """Run `argv` + a temp path; rename the temp to `output` when ffmpeg succeeds."""
    output.parent.mkdir(parents=True, exist_ok=True)
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    with replacing(output) as temp:
        try:
            process = await children.start_child(
                *argv,
                str(temp),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise FfmpegError(f"ffmpeg could not be started ({exc})") from exc
        log.debug("ffmpeg started (pid %s) for %s", process.pid, output.name)
        limit = timeout_s if timeout_s is not None else timeout_for(duration_s)
        code, _ = await run_to_exit(
            process,
            [
                _read_progress(process.stdout, duration_s, on_progress),  # type: ignore[arg-type]
                read_tail(process.stderr, stderr_tail),  # type: ignore[arg-type]
            ],
            limit,
            lambda: FfmpegError(f"ffmpeg did not finish within {limit:.0f} s and was stopped"),
        )
        if code != 0:
            tail = " | ".join(line for line in stderr_tail if line.strip())[-1500:]
            raise FfmpegError(f"ffmpeg exited with code {code}: {tail or 'no error text'}")
    if on_progress is not None:
        on_progress(100.0)


async def run_to_exit(
    process: asyncio.subprocess.Process,
    pumps: Sequence[Coroutine[Any, Any, Any]],
    timeout_s: float,
    timed_out: Callable[[], BaseException],
    name: str = "ffmpeg",
) -> tuple[int, list[Any]]:
    """Run `pumps` (the readers and writers of a started child's pipes) until they end, then reap the
    child: its exit code and what each pump returned. Past `timeout_s` the error `timed_out()` is
    raised; on that, any other error or a cancel, the child is killed and reaped first. The child is
    released in every case."""
    try:
        gathered = asyncio.gather(*pumps)
        try:
            results = await asyncio.wait_for(asyncio.shield(gathered), timeout_s)
        except asyncio.TimeoutError:
            raise timed_out() from None
        finally:
            gathered.cancel()
        return await process.wait(), results
    except BaseException:
        await stop_process(process, name)
        raise
    finally:
        children.release(process)


async def stop_process(process: asyncio.subprocess.Process, name: str = "ffmpeg") -> None:
    """Kill a child (ffmpeg, or the preparing helper) and its group if it still runs, and reap it so no
    zombie is left; a cancel while reaping is raised, never swallowed."""
    children.kill(process)
    try:
        await asyncio.shield(asyncio.wait_for(process.wait(), 10))
    except asyncio.TimeoutError:
        log.warning("%s (pid %s) did not exit after kill", name, process.pid)
    # A cancel that lands here passes on (the shielded wait still reaps the child): swallowing it
    # would let a stopped job run on, and a loop shutting down would wait for it for ever.


async def _read_progress(stream: asyncio.StreamReader, duration_s: float, on_progress: ProgressCallback | None) -> None:
    async for raw in stream:
        key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
        if on_progress is None or key not in ("out_time_us", "out_time_ms"):
            continue
        try:
            seconds = int(value) / 1_000_000
        except ValueError:
            continue
        if duration_s > 0:
            on_progress(max(0.0, min(99.0, 100.0 * seconds / duration_s)))


async def read_tail(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """Keep the last lines of a child's output (its error text) in `tail`."""
    async for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip())
