"""Render a plan to an MP4: normalize the stills and make the transition frames (in a child process, two
threads) while the text overlays are drawn (here, in a thread), run ffmpeg, probe the result."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemo_video_mcp.render.graph import (
    EncoderSettings,
    Subject,
    build_command,
    holds_as_one_frame,
    masks_size,
    stills_list,
    timeline_list,
)
from nemo_video_mcp.render.images import still_size
from nemo_video_mcp.render.leftovers import work_dir_prefix
from nemo_video_mcp.render.plan import EditPlan, PlanError
from nemo_video_mcp.render.prepare import prepare_in_child
from nemo_video_mcp.render.probe import VideoInfo, probe_video
from nemo_video_mcp.render.runner import ffmpeg_exe, run_ffmpeg, timeout_for
from nemo_video_mcp.render.text import draw_text_cards

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
    encoder = encoder or EncoderSettings()
    with tempfile.TemporaryDirectory(prefix=work_dir_prefix(), dir=work_dir, ignore_cleanup_errors=True) as tmp:
        limit = timeout_s if timeout_s is not None else timeout_for(plan.duration_s)
        (stills, subjects, timeline, masks), texts = await asyncio.gather(
            _prepare(
                plan,
                sources,
                Path(tmp),
                lambda share: report(PREPARE_SHARE * share),
                limit,
                holds_as_one_frame(plan, encoder),
            ),
            asyncio.to_thread(draw_text_cards, plan.texts, plan.size, plan.aspect, Path(tmp)),
        )
        argv = build_command(
            plan,
            stills,
            texts=texts,
            subjects=subjects,
            ffmpeg=ffmpeg_exe(),
            encoder=encoder,
            timeline=timeline,
            masks=masks,
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


async def _prepare(
    plan: EditPlan,
    sources: list[Path],
    tmp: Path,
    on_share: Callable[[float], None],
    timeout_s: float,
    one_frame_holds: bool = False,
) -> tuple[list[Path], list[Subject | None], Path, Path | None]:
    """Normalize each distinct source once and, for a static plan, make the transitions; write the list
    ffmpeg plays; return the stills, the subject point of each smart still of a ken burns plan, the list
    and a ken burns dissolve's masks (else None).
    The Pillow work runs in a child process (`prepare`), which also chooses the fit of a photo with none
    asked (auto) from its shape and finds the subjects; this one only names files."""
    # one still per distinct (picture, fit asked, crop): a photo may carry its own fit and crop window
    keys = [(source, image.fit or plan.fit, image.crop) for source, image in zip(sources, plan.images, strict=True)]
    unique = list(dict.fromkeys(keys))
    targets = {key: tmp / f"still-{i:03d}.y4m" for i, key in enumerate(unique)}
    stills = [targets[key] for key in keys]
    static = plan.motion == "static"
    transitions = [tmp / f"transition-{k:03d}.y4m" for k in range(1, len(plan.images))] if static else []
    pairs = list(zip(stills[:-1], stills[1:], transitions, strict=True)) if static and plan.transition_frames else []
    size = masks_size(plan)
    masks = tmp / "dissolve-masks.y4m" if size else None
    steps = len(unique) + len(pairs) + (1 if masks else 0)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        on_share(done / steps)

    names = {Path(image.path): image.name for image in reversed(plan.images) if image.path}
    job: dict[str, Any] = {
        "stills": [
            [str(source), str(target), names.get(source, source.name), fit, crop]
            for (source, fit, crop), target in targets.items()
        ],
        "size": list(still_size(plan.size, plan.motion)),
        "transitions": [[str(a), str(b), str(t)] for a, b, t in pairs],
        "kind": plan.transition,
        "frames": plan.transition_frames,
        "fps": plan.fps,
        "subjects": plan.motion == "kenburns",
        "masks": [str(masks), *size] if size else None,
    }
    made = await prepare_in_child(job, on_step=step, timeout_s=timeout_s)
    # ken burns zooms toward the subject of a still cropped to its subject (smart); None: the usual path
    subjects = [made.get(str(still), ("", None))[1] for still in stills]
    timeline = tmp / "timeline.ffconcat"
    listed = timeline_list(plan, stills, transitions, one_frame_holds=one_frame_holds) if static else None
    timeline.write_text(listed or stills_list(stills), encoding="utf-8")
    return stills, subjects, timeline, masks
