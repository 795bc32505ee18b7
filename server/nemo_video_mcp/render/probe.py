"""Read back a rendered file with the bundled ffmpeg (there is no ffprobe): size, codec, duration, layout."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from nemo_video_mcp.mp4_boxes import box_layout
from nemo_video_mcp.render.runner import FfmpegError, ffmpeg_exe

_DURATION_RE = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO_RE = re.compile(r"Stream #\S+.*?: Video: (\w+)[^,]*, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_AUDIO_RE = re.compile(r"Stream #\S+.*?: Audio: (\w+)")
_FRAME_RE = re.compile(r"frame=\s*(\d+)")


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    faststart: bool
    audio_codec: str | None
    size_bytes: int


def probe_video(path: str | Path) -> VideoInfo:
    """Parse `ffmpeg -i` for the streams, and the file's top-level atoms for faststart."""
    path = Path(path)
    text = _ffmpeg(["-i", str(path)], check=False)
    duration = _DURATION_RE.search(text)
    video = _VIDEO_RE.search(text)
    if not duration or not video:
        raise FfmpegError(f"{path.name} is not a readable video ({text.strip().splitlines()[-1:]})")
    hours, minutes, seconds = duration.groups()
    audio = _AUDIO_RE.search(text)
    return VideoInfo(
        duration_s=int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        width=int(video.group(3)),
        height=int(video.group(4)),
        codec=video.group(1),
        pix_fmt=video.group(2),
        faststart=is_faststart(path),
        audio_codec=audio.group(1) if audio else None,
        size_bytes=path.stat().st_size,
    )


def count_frames(path: str | Path) -> int:
    """The number of video frames, counted by remuxing the stream to nowhere (no decode)."""
    path = Path(path)
    text = _ffmpeg(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], stats=True)
    frames = _FRAME_RE.findall(text)
    if not frames:
        raise FfmpegError(f"could not count the frames of {path.name}")
    return int(frames[-1])


def read_frame(path: str | Path, seconds: float) -> Image.Image:
    """The frame shown at `seconds`, decoded to RGB."""
    path = Path(path)
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-ss", f"{seconds:.3f}", "-i", str(path),
         "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"],
        capture_output=True,
        check=False,
    )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise FfmpegError(f"could not read a frame at {seconds:.2f} s of {path.name}")
    return Image.open(io.BytesIO(result.stdout)).convert("RGB")


def top_level_atoms(path: str | Path) -> list[str]:
    """The MP4 top-level box types in file order (e.g. ftyp, moov, mdat), read by the export check's walk."""
    return box_layout(Path(path)).kinds


def is_faststart(path: str | Path) -> bool:
    """True when the moov atom (the index) comes before mdat, so playback starts before the download ends."""
    return box_layout(Path(path)).faststart


def _ffmpeg(args: list[str], *, check: bool = True, stats: bool = False) -> str:
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    if stats:
        argv[3:3] = ["-stats"]
    result = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
    if check and result.returncode != 0:
        raise FfmpegError(result.stderr.strip()[-500:] or f"ffmpeg exited with code {result.returncode}")
    return result.stderr
