"""The bytes of a finished render: a real MP4, so a client can check it as it would a real one.

A client that keeps the file probes its duration with ffmpeg; a few bytes that only start like an MP4
would fail that check. So each render is a tiny H.264 video of black frames as long as its draft,
made once per duration with the bundled ffmpeg, and a trailing `free` box names the render (players
and probes skip it) so two renders never share their bytes.
"""

from __future__ import annotations

import functools
import struct
import subprocess
import tempfile
from pathlib import Path

from tests.sim.world import Render

MIN_MS = 100
MAX_FRAMES = 600
"""A draft of hours (the hostile 100,000-segment one) is as long as it says, in at most 600 frames (each shown
longer): a client checks the file's duration against the timeline's, and a simulator makes no big files."""


def render_video(render: Render) -> bytes:
    """The MP4 of `render`: as long as its draft (up to a minute), naming the render and its session."""
    name = f"nemo-sim render {render.id} session {render.session_id}"
    return named_mp4(max(MIN_MS, round(render.duration_s * 1000)), name)


def named_mp4(duration_ms: int, name: str) -> bytes:
    """`black_mp4(duration_ms)` with a trailing `free` box holding `name`: a real video of its own bytes."""
    label = name.encode()
    return black_mp4(duration_ms) + struct.pack(">I", 8 + len(label)) + b"free" + label


@functools.lru_cache(maxsize=64)
def black_mp4(duration_ms: int) -> bytes:
    """A faststart H.264 MP4 of 16x16 black frames at 10 fps (fewer past a minute) lasting `duration_ms`
    (about 1.5 KB for 9 s)."""
    import imageio_ffmpeg

    frames = min(MAX_FRAMES, max(1, round(duration_ms / 100)))

    with tempfile.TemporaryDirectory(prefix="nemo-sim-") as folder:
        output = Path(folder) / "render.mp4"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                *("-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=black:s=16x16:r={frames * 1000}/{duration_ms}"),
                *("-t", f"{duration_ms / 1000:.3f}", "-c:v", "libx264", "-preset", "ultrafast"),
                *("-pix_fmt", "yuv420p", "-movflags", "+faststart", str(output)),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return output.read_bytes()


def broken(video: bytes, how: str) -> bytes:
    """`video` as `SimConfig.broken_video` serves it: whole ("none"), without its moov box, or cut halfway."""
    if how == "cut":
        return video[: len(video) // 2]
    if how != "no_moov":
        return video
    kept, offset = b"", 0
    while offset + 8 <= len(video):
        (size,) = struct.unpack(">I", video[offset : offset + 4])
        if video[offset + 4 : offset + 8] != b"moov":
            kept += video[offset : offset + size]
        offset += size
    return kept
