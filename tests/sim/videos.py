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
MAX_MS = 60_000
"""A draft of hours (the hostile 100,000-segment one) still gets a one-minute file: a simulator makes no long videos."""


def render_video(render: Render) -> bytes:
    """The MP4 of `render`: as long as its draft (up to a minute), naming the render and its session."""
    name = f"nemo-sim render {render.id} session {render.session_id}".encode()
    duration_ms = min(MAX_MS, max(MIN_MS, round(render.duration_s * 1000)))
    return black_mp4(duration_ms) + struct.pack(">I", 8 + len(name)) + b"free" + name


@functools.lru_cache(maxsize=64)
def black_mp4(duration_ms: int) -> bytes:
    """A faststart H.264 MP4 of 16x16 black frames at 10 fps lasting `duration_ms` (about 1.5 KB for 9 s)."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="nemo-sim-") as folder:
        output = Path(folder) / "render.mp4"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                *("-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=16x16:r=10"),
                *("-t", f"{duration_ms / 1000:.3f}", "-c:v", "libx264", "-preset", "ultrafast"),
                *("-pix_fmt", "yuv420p", "-movflags", "+faststart", str(output)),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return output.read_bytes()
