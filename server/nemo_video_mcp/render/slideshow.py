"""Render a plan to an MP4: normalize the stills (in threads), draw the title, run ffmpeg, probe the result."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nemo_video_mcp.render.graph import EncoderSettings, build_command
from nemo_video_mcp.render.images import normalize_image, still_size
from nemo_video_mcp.render.plan import EditPlan, Fit, PlanError
from nemo_video_mcp.render.probe import VideoInfo, probe_video
from nemo_video_mcp.render.runner import ffmpeg_exe, run_ffmpeg
from nemo_video_mcp.render.title import TitleCard, render_title

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
        stills = await _prepare_stills(sources, Path(tmp), size, plan.fit, lambda share: report(PREPARE_SHARE * share))
        title: TitleCard | None = None
        if plan.title:
            title = await asyncio.to_thread(render_title, plan.title, plan.size, Path(tmp) / "title.png")
        argv = build_command(
            plan, stills, still_size=size, title=title, ffmpeg=ffmpeg_exe(), encoder=encoder or EncoderSettings()
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


async def _prepare_stills(
    sources: list[Path], tmp: Path, size: tuple[int, int], fit: Fit, on_share: Callable[[float], None]
) -> list[Path]:
    """Normalize each distinct source once, two at a time; stop early and wait for the threads if cancelled."""
    unique = list(dict.fromkeys(sources))
    targets = {source: tmp / f"still-{i:03d}.yuv" for i, source in enumerate(unique)}
    stop = threading.Event()
    done = 0
    loop = asyncio.get_running_loop()

    def work(source: Path) -> Path:
        if stop.is_set():
            raise asyncio.CancelledError
        return normalize_image(source, targets[source], size, fit)

    workers = max(1, min(2, os.cpu_count() or 1, len(unique)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nemo-still") as pool:
        futures = [loop.run_in_executor(pool, work, source) for source in unique]
        try:
            for future in asyncio.as_completed(futures):
                await future
                done += 1
                on_share(done / len(unique))
        except BaseException:
            stop.set()
            await asyncio.gather(*futures, return_exceptions=True)
            raise
    return [targets[source] for source in sources]
