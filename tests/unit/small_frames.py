"""Small real renders for the tests that read frames back: the frame sizes shrunk, frames decoded raw.

A 1080p frame is 2 MB of luma; the checks here (a fade's steps, where text is drawn, a crop) only need
a picture's shape, so `shrink_frames` shrinks every aspect's frame size for one test and `luma_frames`
decodes a whole output as grey bytes with the bundled ffmpeg.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from nemo_video_mcp.render import plan as plan_module
from nemo_video_mcp.render.runner import ffmpeg_exe

FULL_SIZES = dict(plan_module.FRAME_SIZES)


def shrink_frames(monkeypatch: pytest.MonkeyPatch, scale: float = 0.1) -> dict[str, tuple[int, int]]:
    """Render every aspect at `scale` of its size (even sides) for the rest of this test."""
    sizes = {}
    for aspect, (width, height) in FULL_SIZES.items():
        sizes[aspect] = (2 * round(width * scale / 2), 2 * round(height * scale / 2))
        monkeypatch.setitem(plan_module.FRAME_SIZES, aspect, sizes[aspect])
    return sizes


def luma_frames(path: Path, size: tuple[int, int]) -> list[bytes]:
    """Every frame of the video at `path` as full-range grey bytes, `size[0] * size[1]` each."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    ).stdout
    step = size[0] * size[1]
    return [raw[i : i + step] for i in range(0, len(raw), step)]


def rgb_frames(path: Path, size: tuple[int, int]) -> list[Image.Image]:
    """Every frame of the video at `path` as an RGB picture."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    step = size[0] * size[1] * 3
    return [Image.frombytes("RGB", size, raw[i : i + step]) for i in range(0, len(raw), step)]


def flat_image(path: Path, size: tuple[int, int], color: str | tuple[int, int, int]) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def mean(frame: bytes) -> float:
    return sum(frame) / len(frame)
