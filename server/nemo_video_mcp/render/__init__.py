"""The local render engine: instruction -> plan -> draft -> ffmpeg -> MP4, with no network.

plan = plan_from_instruction(text, image_count, options).with_images(paths)
draft = plan.to_draft()                     # short-key form, kept in the store
info = await render_slideshow(plan_from_draft(draft), output, on_progress=...)
"""

from nemo_video_mcp.render.images import ImageTooLargeError, ImageTooSmallError, ImageUnreadableError, inspect_image
from nemo_video_mcp.render.plan import EditPlan, PlanError, describe_plan, plan_from_draft, plan_from_instruction
from nemo_video_mcp.render.probe import VideoInfo, probe_video
from nemo_video_mcp.render.runner import FfmpegError
from nemo_video_mcp.render.slideshow import render_slideshow

__all__ = [
    "EditPlan",
    "FfmpegError",
    "ImageTooLargeError",
    "ImageTooSmallError",
    "ImageUnreadableError",
    "PlanError",
    "VideoInfo",
    "describe_plan",
    "inspect_image",
    "plan_from_draft",
    "plan_from_instruction",
    "probe_video",
    "render_slideshow",
]
