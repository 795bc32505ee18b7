"""The local render engine: instruction -> plan -> draft -> ffmpeg -> MP4, with no network.

plan = first_plan(text, image_count, options).with_images(paths)   # or apply_changes(plan, parse_edit(...))
draft = plan.to_draft()                     # short-key form, kept in the store
info = await render_slideshow(plan_from_draft(draft), output, on_progress=...)

The names below are imported on first use, so the child that prepares the pictures
(`prepare_worker`) loads Pillow and its own modules, not the plan's (pydantic) and the runner's.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nemo_video_mcp.render.changes import first_plan
    from nemo_video_mcp.render.images import ImageTooLargeError, ImageTooSmallError, ImageUnreadableError, inspect_image
    from nemo_video_mcp.render.plan import EditPlan, PlanError, describe_plan, plan_from_draft
    from nemo_video_mcp.render.probe import VideoInfo, probe_video
    from nemo_video_mcp.render.runner import FfmpegError
    from nemo_video_mcp.render.slideshow import render_slideshow

_HOMES = {
    "EditPlan": "plan",
    "FfmpegError": "runner",
    "ImageTooLargeError": "images",
    "ImageTooSmallError": "images",
    "ImageUnreadableError": "images",
    "PlanError": "plan",
    "VideoInfo": "probe",
    "describe_plan": "plan",
    "first_plan": "changes",
    "inspect_image": "images",
    "plan_from_draft": "plan",
    "probe_video": "probe",
    "render_slideshow": "slideshow",
}

__all__ = [
    "EditPlan",
    "FfmpegError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "ImageUnreadableError",
    "PlanError",
    "VideoInfo",
    "describe_plan",
    "first_plan",
    "inspect_image",
    "plan_from_draft",
    "probe_video",
    "render_slideshow",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
