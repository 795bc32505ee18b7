"""Transition frames made in Pillow from two stills, for static plans, and a ken burns dissolve's masks.

Working on the yuv420p planes directly is exact for these transitions (each output sample is one
input sample, or a fixed mix of two), costs a few milliseconds a frame, and spares ffmpeg the 4:4:4
round trip and the per-transition frame pools that `xfade` needs. Frame i of n shows progress
(i + 1) / (n + 1): the first and last frames already differ from the stills on either side.
The shapes follow ffmpeg's xfade: "slide" is slideleft, "wipe" is wipeleft.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from nemo_video_mcp.render.y4m import Y4M_FRAME, read_y4m_planes, y4m_header, y4m_mono_header

if TYPE_CHECKING:
    from nemo_video_mcp.render.plan import Transition

_DISSOLVE_SEED = 20240601


def write_transition(before: Path, after: Path, target: Path, kind: Transition, frames: int, fps: int) -> Path:
    """Write the `frames` frames going from the still `before` to the still `after` (both `.y4m`) as one `.y4m`."""
    if kind == "none":
        raise ValueError("a hard cut has no transition frames")
    planes_a, planes_b = read_y4m_planes(before), read_y4m_planes(after)
    if [p.size for p in planes_a] != [p.size for p in planes_b]:
        raise ValueError("the two stills differ in size")
    noise = _noise(planes_a[0].size) if kind == "dissolve" else None
    with open(target, "wb") as handle:
        handle.write(y4m_header(planes_a[0].size, fps))
        for i in range(frames):
            progress = (i + 1) / (frames + 1)
            handle.write(Y4M_FRAME)
            for a, b in zip(planes_a, planes_b, strict=True):
                handle.write(_mix(a, b, kind, progress, noise).tobytes())
    return target


def _mix(a: Image.Image, b: Image.Image, kind: Transition, progress: float, noise: Image.Image | None) -> Image.Image:
    width, height = a.size
    if kind == "fade":
        return Image.blend(a, b, progress)
    if kind == "slide":  # a leaves to the left, b follows it in from the right
        shift = round(progress * width)
        frame = Image.new("L", a.size)
        frame.paste(a.crop((shift, 0, width, height)), (0, 0))
        frame.paste(b.crop((0, 0, shift, height)), (width - shift, 0))
        return frame
    if kind == "wipe":  # b is uncovered from the right edge leftwards
        edge = round((1 - progress) * width)
        frame = a.copy()
        frame.paste(b.crop((edge, 0, width, height)), (edge, 0))
        return frame
    assert noise is not None  # dissolve: each sample switches to b at its own random moment
    mask = noise.resize(a.size, Image.Resampling.NEAREST) if noise.size != a.size else noise
    return Image.composite(b, a, dissolve_mask(mask, progress))


def dissolve_mask(noise: Image.Image, progress: float) -> Image.Image:
    """255 where a dissolve at `progress` shows the incoming picture, 0 where the outgoing one: each
    sample of `noise` switches at its own moment, so the share shown grows with progress."""
    threshold = round(progress * 256)
    return noise.point([255 if value < threshold else 0 for value in range(256)])


def write_dissolve_masks(size: tuple[int, int], frames: int, fps: int, target: Path) -> Path:
    """The `frames` masks of a ken burns dissolve as one grey `.y4m`, frame i at progress (i + 1) / (frames + 1),
    with the same noise as a static dissolve. Ken burns overlays the incoming clip through them (see
    `graph._kenburns_in_sequence`), enlarged 2x by ffmpeg: `size` is half the frame's, so each mask sample
    covers a 2x2 block of luma and one chroma sample, and the file and ffmpeg's queues stay a quarter as big."""
    noise = _noise(size)
    with open(target, "wb") as handle:
        handle.write(y4m_mono_header(size, fps))
        for i in range(frames):
            handle.write(Y4M_FRAME + dissolve_mask(noise, (i + 1) / (frames + 1)).tobytes())
    return target


def _noise(size: tuple[int, int]) -> Image.Image:
    """Uniform random bytes, the same for every render, so a dissolve looks the same each time."""
    return Image.frombytes("L", size, random.Random(_DISSOLVE_SEED).randbytes(size[0] * size[1]))
