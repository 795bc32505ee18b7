"""Render a plan to an MP4: normalize the stills and make the transition frames (in threads), draw the
title, run ffmpeg, probe the result."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nemo_video_mcp.render.graph import EncoderSettings, build_command, timeline_list
from nemo_video_mcp.render.images import normalize_image, still_size
from nemo_video_mcp.render.plan import EditPlan, PlanError
from nemo_video_mcp.render.probe import VideoInfo, probe_video
from nemo_video_mcp.render.runner import ffmpeg_exe, run_ffmpeg
from nemo_video_mcp.render.title import TitleCard, render_title
from nemo_video_mcp.render.transitions import write_transition

log = logging.getLogger(__name__)

PREPARE_SHARE = 10.0
"""Percent of the progress bar given to preparing the stills; ffmpeg gets the rest."""


async def render_slideshow(
    plan: EditPlan,
    output: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
    timeout_s: float | None = None,
    encoder: EncoderSettings | None = None,
    work_dir: Path | None = None,
) -> VideoInfo:
    """Render `plan` (its images bound to files) to `output`, atomically; return what was written."""
    sources = [Path(image.path) for image in plan.images if image.path]
    if len(sources) != len(plan.images):
        raise PlanError(
            "The plan has images that are not bound to files.",
            "Call upload_images, then generate_video again.",
        )
    if plan.music_path and not Path(plan.music_path).is_file():
        raise PlanError(
            f"The music file {Path(plan.music_path).name} is missing.",
            "Call generate_video again with an existing music_path (or none).",
        )
    report = on_progress or (lambda _percent: None)
    with tempfile.TemporaryDirectory(prefix="nemo-render-", dir=work_dir, ignore_cleanup_errors=True) as tmp:
        size = still_size(plan.size, plan.motion)
        stills, timeline = await _prepare(plan, sources, Path(tmp), size, lambda share: report(PREPARE_SHARE * share))
        title: TitleCard | None = None
        if plan.title:
            title = await asyncio.to_thread(render_title, plan.title, plan.size, Path(tmp) / "title.png")
        _return_freed_memory()
        argv = build_command(
            plan, stills, title=title, ffmpeg=ffmpeg_exe(), encoder=encoder or EncoderSettings(), timeline=timeline
        )
        log.info("rendering %d images, %.2f s, to %s", len(stills), plan.duration_s, output.name)
        await run_ffmpeg(
            argv,
            output,
            duration_s=plan.duration_s,
            on_progress=lambda percent: report(PREPARE_SHARE + (100 - PREPARE_SHARE) * percent / 100),
            timeout_s=timeout_s,
        )
    return await asyncio.to_thread(probe_video, output)


def _return_freed_memory() -> None:
    """Give the memory Pillow freed back to the OS before ffmpeg starts.

    glibc keeps large freed blocks for reuse (about 100 MB after preparing eight big photos), which
    would sit beside ffmpeg for the whole encode. Elsewhere there is nothing to do.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).malloc_trim(0)


async def _prepare(
    plan: EditPlan, sources: list[Path], tmp: Path, size: tuple[int, int], on_share: Callable[[float], None]
) -> tuple[list[Path], Path | None]:
    """Normalize each distinct source once; for a static plan, also make the transitions and the timeline list."""
    unique = list(dict.fromkeys(sources))
    targets = {source: tmp / f"still-{i:03d}.y4m" for i, source in enumerate(unique)}
    stills = [targets[source] for source in sources]
    static = plan.motion == "static"
    steps = len(unique) + (len(plan.images) - 1 if static and plan.transition_frames else 0)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        on_share(done / steps)

    await _in_threads([functools.partial(normalize_image, s, targets[s], size, plan.fit) for s in unique], step)
    if not static:
        return stills, None
    transitions = [tmp / f"transition-{k:03d}.y4m" for k in range(1, len(plan.images))]
    if plan.transition_frames:
        kind, frames = plan.transition, plan.transition_frames
        pairs = zip(stills[:-1], stills[1:], transitions, strict=True)
        jobs = [functools.partial(write_transition, a, b, t, kind, frames, plan.fps) for a, b, t in pairs]
        await _in_threads(jobs, step)
    timeline = tmp / "timeline.ffconcat"
    timeline.write_text(timeline_list(plan, stills, transitions), encoding="utf-8")
    return stills, timeline


async def _in_threads(jobs: list[Callable[[], object]], on_done: Callable[[], None]) -> None:
    """Run `jobs` two at a time; stop early and wait for the threads if cancelled or one fails."""
    stop = threading.Event()
    loop = asyncio.get_running_loop()

    def run(job: Callable[[], object]) -> object:
        if stop.is_set():
            raise asyncio.CancelledError
        return job()

    workers = max(1, min(2, os.cpu_count() or 1, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nemo-still") as pool:
        futures = [loop.run_in_executor(pool, run, job) for job in jobs]
        try:
            for future in asyncio.as_completed(futures):
                await future
                on_done()
        except BaseException:
            stop.set()
            await asyncio.gather(*futures, return_exceptions=True)
            raise
