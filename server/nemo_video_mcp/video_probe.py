"""Check a finished MP4 before it is called a success: its boxes read here, its streams by the bundled ffmpeg.

There is no ffprobe. `ffmpeg -i FILE -map 0:v:0 -c copy -f null -` prints the input's streams and, at
the end, how many video frames it copied (without decoding them). The file's top-level MP4 boxes are
read here, a bounded number of 16-byte headers, for where the index (`moov`) sits and whether the last
box runs past the end of the file. A file with no index, no frames, fewer frames than its own duration
and rate promise, a cut-off box, or a duration more than 10 % off the timeline's is a `BadVideoError`;
a check that could not run at all (ffmpeg missing, too slow) is a `ProbeUnavailableError`: the file may
be fine, and the next look checks it again.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from nemo_video_mcp.errors import NemoError
from nemo_video_mcp.models import VideoProbe
from nemo_video_mcp.mp4_boxes import BoxLayout, box_layout

DURATION_TOLERANCE = 0.10
"""A file whose duration is further than this share from the timeline's is not the video that was asked for."""
FRAME_SHARE = 0.9
"""A file must hold at least this share of the frames its duration and frame rate promise (else it is cut)."""
PROBE_TIMEOUT_S = 60.0
STDERR_HEAD_BYTES = 64 * 1024
"""ffmpeg's report of the input is at the start of its error output; the frame count at the end."""
STDERR_TAIL_BYTES = 4 * 1024

CHECK_AGAIN = "Call export_video again to render it again; if it fails twice, call get_state and simplify the timeline"


class BadVideoError(NemoError):
    """The finished file is not a playable video of the timeline."""

    code = "bad_video"

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(
            f"The finished video failed its check: {'; '.join(problems)}. It is not offered as the video (the "
            f"file is left at {path} to inspect).",
            f"{CHECK_AGAIN} with generate_video (fewer or smaller photos, static motion).",
        )
        self.problems = problems


class ProbeUnavailableError(NemoError):
    """The check itself could not run: nothing is known about the file yet."""

    code = "probe_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The finished video could not be checked ({detail}).",
            "Call get_job in a minute to check it again (the render is kept, not started again); if it "
            "repeats, run `nemo-video-mcp doctor` to check the bundled ffmpeg.",
        )


# --- What ffmpeg says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamReport:
    """The input's streams as ffmpeg describes them, and the frames it copied."""

    duration_s: float | None = None
    codec: str | None = None
    pix_fmt: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    audio_codec: str | None = None
    frames: int | None = None
    error: str | None = None


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio): (.*)$", re.MULTILINE)
_SIZE = re.compile(r"^(\d+)x(\d+)\b")
_FPS = re.compile(r"^(\d+(?:\.\d+)?)(k?) fps$")
_FRAMES = re.compile(r"frame=\s*(\d+)")
_ERRORS = ("moov atom not found", "Invalid data found when processing input", "partial file", "matches no streams")


def parse_ffmpeg_report(text: str) -> StreamReport:
    """Read `ffmpeg -i FILE ... -f null -` error output: the first input's duration, its first video and
    audio streams, the last frame count, and the first error ffmpeg named (if any)."""
    inputs = re.split(r"^(?:Stream mapping:|Output #0)", text, maxsplit=1, flags=re.MULTILINE)[0]
    duration = None
    if match := _DURATION.search(inputs):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video: list[str] = []
    audio_codec = None
    for kind, description in _STREAM.findall(inputs):
        if kind == "Video" and not video:
            video = _top_level_parts(description)
        elif kind == "Audio" and audio_codec is None:
            audio_codec = description.split()[0].rstrip(",") if description.split() else None
    width = height = None
    fps = None
    for part in video[1:]:
        if width is None and (size := _SIZE.match(part)):
            width, height = int(size.group(1)), int(size.group(2))
        elif fps is None and (rate := _FPS.match(part)):
            fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
    frames = _FRAMES.findall(text)
    error = next((phrase for phrase in _ERRORS if phrase in text), None)
    return StreamReport(
        duration_s=duration,
        codec=video[0].split()[0] if video and video[0].split() else None,
        pix_fmt=video[1].split("(")[0].strip() if len(video) > 1 else None,
        width=width,
        height=height,
        fps=fps,
        audio_codec=audio_codec,
        frames=int(frames[-1]) if frames else None,
        error=error,
    )


def _top_level_parts(description: str) -> list[str]:
    """`h264 (High) (avc1 / x), yuv420p(tv, bt709), 1280x720 [SAR 1:1]` -> its comma parts outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in description:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


# --- The verdict ---------------------------------------------------------------------------------


def problems_of(layout: BoxLayout, report: StreamReport, planned_duration_s: float | None) -> list[str]:
    """What makes the file unfit to hand over, in words; empty when it passes."""
    found: list[str] = []
    if not layout.has_moov and layout.boxes:
        found.append("it has no index (moov box)")
    if layout.problem:
        found.append(layout.problem)
    if report.codec is None or report.width is None:
        found.append(f"ffmpeg finds no video stream in it{f' ({report.error})' if report.error else ''}")
        return found
    if not report.frames:
        found.append("it holds no video frames")
    elif report.duration_s and report.fps:
        promised = report.duration_s * report.fps
        if report.frames < FRAME_SHARE * promised - 1:
            found.append(f"it holds {report.frames} of the {promised:.0f} frames its duration promises")
    if planned_duration_s and planned_duration_s > 0:
        actual = report.duration_s or 0.0
        if abs(actual - planned_duration_s) > DURATION_TOLERANCE * planned_duration_s:
            found.append(f"it lasts {actual:.1f} s where the timeline lasts {planned_duration_s:.1f} s")
    return found


async def probe_file(path: Path, planned_duration_s: float | None, *, timeout_s: float = PROBE_TIMEOUT_S) -> VideoProbe:
    """Check `path` (boxes and streams); its `VideoProbe`, or `BadVideoError` with what is wrong."""
    try:
        size = path.stat().st_size
        layout = await asyncio.to_thread(box_layout, path)
    except OSError as exc:
        raise BadVideoError(path, [f"it cannot be read ({exc.strerror or exc})"]) from None
    report = parse_ffmpeg_report(
        await run_ffmpeg_report(["-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"], timeout_s)
    )
    found = problems_of(layout, report, planned_duration_s)
    if found:
        raise BadVideoError(path, found)
    assert report.codec and report.width and report.height and report.frames
    return VideoProbe(
        duration_s=report.duration_s or 0.0,
        planned_duration_s=planned_duration_s,
        size_bytes=size,
        codec=report.codec,
        pix_fmt=report.pix_fmt or "unknown",
        width=report.width,
        height=report.height,
        fps=report.fps or 0.0,
        frames=report.frames,
        faststart=layout.faststart,
        audio_codec=report.audio_codec,
    )


async def run_ffmpeg_report(args: list[str], timeout_s: float) -> str:
    """Run the bundled ffmpeg with `args` (a child that dies with the server, killed at `timeout_s`);
    its error output, the first 64 KB and the last 4 KB of it."""
    from nemo_video_mcp.render import children
    from nemo_video_mcp.render.runner import ffmpeg_exe, run_to_exit

    try:
        process = await children.start_child(
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except (OSError, RuntimeError) as exc:
        raise ProbeUnavailableError(f"ffmpeg could not be started: {exc}") from None
    assert process.stderr is not None
    _, (text,) = await run_to_exit(
        process,
        [_bounded_text(process.stderr)],
        timeout_s,
        lambda: ProbeUnavailableError(f"ffmpeg took longer than {timeout_s:.0f} s and was stopped"),
    )
    return str(text)


async def _bounded_text(stream: asyncio.StreamReader) -> str:
    head = bytearray()
    tail = bytearray()
    while chunk := await stream.read(64 * 1024):
        room = STDERR_HEAD_BYTES - len(head)
        head += chunk[:room]
        tail = (tail + chunk[room:])[-STDERR_TAIL_BYTES:] if room < len(chunk) else tail
    return (bytes(head) + b"\n" + bytes(tail)).decode("utf-8", "replace")
