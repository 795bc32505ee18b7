"""The finished file's check: MP4 boxes, ffmpeg's report, the verdict, and the three stills' budget."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from nemo_video_mcp.keyframes import BUDGET_BYTES, RUNGS, fits, scaled_size, still_times, write_keyframes
from nemo_video_mcp.models import VideoProbe
from nemo_video_mcp.mp4_boxes import BoxLayout, read_boxes
from nemo_video_mcp.video_probe import (
    BadVideoError,
    StreamReport,
    parse_ffmpeg_report,
    probe_file,
    problems_of,
)
from tests.sim.videos import black_mp4, broken


def box(kind: bytes, body: int = 8) -> bytes:
    return struct.pack(">I", 8 + body) + kind + b"\0" * body


def wide_box(kind: bytes, body: int = 8) -> bytes:
    """A box with a 64-bit size (size field 1, the real size after the type)."""
    return struct.pack(">I", 1) + kind + struct.pack(">Q", 16 + body) + b"\0" * body


def layout_of(data: bytes, limit: int = 4096) -> BoxLayout:
    return read_boxes(io.BytesIO(data), len(data), limit)


FTYP = box(b"ftyp", 16)


@pytest.mark.parametrize(
    ("data", "kinds", "faststart", "moov", "problem"),
    [
        pytest.param(FTYP + box(b"moov") + box(b"mdat", 100), ["ftyp", "moov", "mdat"], True, True, None, id="front"),
        pytest.param(FTYP + box(b"mdat", 100) + box(b"moov"), ["ftyp", "mdat", "moov"], False, True, None, id="end"),
        pytest.param(FTYP + box(b"free") + box(b"mdat"), ["ftyp", "free", "mdat"], False, False, None, id="no-moov"),
        pytest.param(
            FTYP + box(b"moov") + box(b"mdat", 100)[:-40], ["ftyp", "moov", "mdat"], True, True, "cut off", id="cut"
        ),
        pytest.param(FTYP + box(b"moov")[:5], ["ftyp"], False, False, "header cut off", id="cut-header"),
        pytest.param(
            FTYP + box(b"moov") + wide_box(b"mdat", 64), ["ftyp", "moov", "mdat"], True, True, None, id="64-bit"
        ),
        pytest.param(
            FTYP + box(b"moov") + wide_box(b"mdat", 64)[:-1], ["ftyp", "moov", "mdat"], True, True, "lacks 1 bytes",
            id="64-bit-cut",
        ),
        pytest.param(
            FTYP + box(b"moov") + struct.pack(">I", 1) + b"mdat" + b"\0\0", ["ftyp", "moov"], False, True,
            "64-bit size", id="64-bit-size-cut",
        ),
        pytest.param(
            FTYP + box(b"moov") + struct.pack(">I", 0) + b"mdat" + b"\0" * 50, ["ftyp", "moov", "mdat"], True, True,
            None, id="size-0-to-end",
        ),
        pytest.param(FTYP + struct.pack(">I", 4) + b"moov", ["ftyp"], False, False, "impossible size", id="tiny"),
        pytest.param(b"<html><body>not a video</body></html>", [], False, False, "not start like an MP4", id="html"),
    ],
)  # fmt: skip
def test_top_level_boxes(data: bytes, kinds: list[str], faststart: bool, moov: bool, problem: str | None) -> None:
    layout = layout_of(data)
    assert layout.kinds == kinds
    assert (layout.faststart, layout.has_moov) == (faststart, moov)
    if problem is None:
        assert layout.problem is None
    else:
        assert layout.problem is not None and problem in layout.problem


def test_the_box_walk_is_bounded() -> None:
    layout = layout_of(FTYP + box(b"free") * 50, limit=10)
    assert len(layout.boxes) == 10 and layout.problem == "more than 10 top-level boxes"


REPORT_720P = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/a.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:00:02.00, start: 0.000000, bitrate: 427 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), \
1280x720 [SAR 1:1 DAR 16:9], 344 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
    Metadata:
      handler_name    : VideoHandler
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
Stream mapping:
  Stream #0:0 -> #0:0 (copy)
Output #0, null, to 'pipe:':
  Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 640x360, 25 fps
frame=   30 fps=0.0 q=-1.0 size=N/A time=00:00:01.00 bitrate=N/A\rframe=   60 fps=0.0 q=-1.0 Lsize=N/A time=00:00:02.00
"""
REPORT_LONG = """\
  Duration: 83:20:00.00, start: 0.000000, bitrate: N/A
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 16x16 \
[SAR 1:1 DAR 1:1], 0 kb/s, 0.0020 fps, 0.0020 tbr, 16384 tbn (default)
frame=  600 fps=0.0 q=-1.0 Lsize=N/A time=83:20:00.00
"""
REPORT_NO_MOOV = """\
[in#0 @ 0x55a4537f9080] moov atom not found
[in#0 @ 0x55a4537f8d00] Error opening input: Invalid data found when processing input
Error opening input file /tmp/trunc.mp4.
"""
REPORT_NTSC_NO_AUDIO = """\
  Duration: 00:00:10.01, start: 0.000000, bitrate: 1000 kb/s
  Stream #0:0: Video: hevc (Main) (hvc1 / 0x31637668), yuvj420p(pc), 1920x1080, 29.97 fps, 29.97 tbr, 30k tbn
frame=  300
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (REPORT_720P, StreamReport(2.0, "h264", "yuv420p", 1280, 720, 30.0, "aac", 60, None)),
        (REPORT_LONG, StreamReport(300000.0, "h264", "yuv420p", 16, 16, 0.002, None, 600, None)),
        (REPORT_NO_MOOV, StreamReport(error="moov atom not found")),
        (REPORT_NTSC_NO_AUDIO, StreamReport(10.01, "hevc", "yuvj420p", 1920, 1080, 29.97, None, 300, None)),
        ("", StreamReport()),
    ],
    ids=["720p-audio", "hours-slow-rate", "no-moov", "ntsc-hevc", "empty"],
)
def test_ffmpeg_report(text: str, expected: StreamReport) -> None:
    assert parse_ffmpeg_report(text) == expected


GOOD = StreamReport(10.0, "h264", "yuv420p", 1280, 720, 30.0, None, 300, None)
FRONT = layout_of(FTYP + box(b"moov") + box(b"mdat"))


@pytest.mark.parametrize(
    ("layout", "report", "planned", "problems"),
    [
        (FRONT, GOOD, 10.0, []),
        (FRONT, GOOD, None, []),
        (FRONT, GOOD, 10.9, []),
        (FRONT, GOOD, 11.2, ["it lasts 10.0 s where the timeline lasts 11.2 s"]),
        (FRONT, GOOD, 9.0, ["it lasts 10.0 s where the timeline lasts 9.0 s"]),
        (FRONT, StreamReport(10.0, "h264", "yuv420p", 1280, 720, 30.0, None, 0), 10.0, ["it holds no video frames"]),
        (
            FRONT,
            StreamReport(10.0, "h264", "yuv420p", 1280, 720, 30.0, None, 23),
            10.0,
            ["it holds 23 of the 300 frames its duration promises"],
        ),
        (
            layout_of(FTYP + box(b"mdat")),
            StreamReport(error="moov atom not found"),
            10.0,
            ["it has no index (moov box)", "ffmpeg finds no video stream in it (moov atom not found)"],
        ),
    ],
    ids=["exact", "unplanned", "9-percent", "12-percent", "10-percent-short", "no-frames", "cut-frames", "no-moov"],
)
def test_the_verdict(layout: BoxLayout, report: StreamReport, planned: float | None, problems: list[str]) -> None:
    assert problems_of(layout, report, planned) == problems


async def test_a_real_file_is_probed_and_a_broken_one_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    good.write_bytes(black_mp4(3000))
    probe = await probe_file(good, 3.0)
    assert (probe.width, probe.height, probe.codec, probe.pix_fmt, probe.fps) == (16, 16, "h264", "yuv420p", 10.0)
    assert (probe.frames, probe.faststart, probe.audio_codec, probe.size_bytes) == (30, True, None, good.stat().st_size)
    assert (
        probe.summary == f"16x16 H.264 yuv420p 10 fps, 3.0 s, {good.stat().st_size / 1e3:.0f} KB, faststart, no audio"
    )
    for how, said in (("no_moov", "no index (moov box)"), ("cut", "cut off")):
        bad = tmp_path / f"{how}.mp4"
        bad.write_bytes(broken(black_mp4(3000), how))
        with pytest.raises(BadVideoError) as raised:
            await probe_file(bad, 3.0)
        assert said in raised.value.message and "export_video again" in raised.value.next_step
    with pytest.raises(BadVideoError, match="cannot be read"):
        await probe_file(tmp_path / "gone.mp4", 3.0)


def test_the_summary_line() -> None:
    probe = VideoProbe(
        duration_s=10.0, size_bytes=2_100_000, codec="h264", pix_fmt="yuv420p", width=1280, height=720, fps=30.0,
        frames=300, faststart=True,
    )  # fmt: skip
    assert probe.summary == "1280x720 H.264 yuv420p 30 fps, 10.0 s, 2.1 MB, faststart, no audio"
    other = probe.model_copy(update={"faststart": False, "audio_codec": "aac", "fps": 29.97, "codec": "vp9"})
    assert (
        other.summary == "1280x720 VP9 yuv420p 29.97 fps, 10.0 s, 2.1 MB, index at the end (not faststart), aac audio"
    )


# --- the three stills ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "fps", "times"),
    [(10.0, 30.0, (0.0, 5.0, 9.95)), (0.1, 10.0, (0.0, 0.0, 0.0)), (300000.0, 0.002, (0.0, 150000.0, 299250.0))],
)
def test_still_times(duration: float, fps: float, times: tuple[float, float, float]) -> None:
    assert still_times(duration, fps) == pytest.approx(times)


@pytest.mark.parametrize(
    ("size", "longest", "expected"),
    [((1920, 1080), 640, (640, 360)), ((1080, 1920), 480, (270, 480)), ((16, 16), 640, (16, 16)), ((7, 5), 96, (8, 6))],
)
def test_scaled_size(size: tuple[int, int], longest: int, expected: tuple[int, int]) -> None:
    assert scaled_size(*size, longest) == expected


@pytest.mark.parametrize(
    ("sizes", "ok"),
    [([100_000] * 3, True), ([102_400] * 3, True), ([102_400, 102_400, 102_401], False), ([10, 0, 10], False),
     ([10, 10], False)],
)  # fmt: skip
def test_the_budget(sizes: list[int], ok: bool) -> None:
    assert BUDGET_BYTES == 300 * 1024 and fits(sizes) is ok


async def test_stills_shrink_until_they_fit(tmp_path: Path) -> None:
    import subprocess

    from nemo_video_mcp.render.runner import ffmpeg_exe

    video = tmp_path / "noise.mp4"  # noise: JPEGs as large as they get
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "nullsrc=s=1280x720:r=2,geq=random(1)*255:128:128",
         "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)],
        check=True, timeout=60,
    )  # fmt: skip
    folder = tmp_path / "stills"
    folder.mkdir()
    size = {"duration_s": 2.0, "fps": 2.0, "width": 1280, "height": 720}  # few frames: geq draws slowly
    roomy = await write_keyframes(video, folder, **size)
    assert [p.name for p in roomy] == ["start.jpg", "middle.jpg", "end.jpg"]
    with Image.open(roomy[0]) as first:
        assert first.size == scaled_size(1280, 720, RUNGS[0][0])
    tight = 3 * 6 * 1024
    small = await write_keyframes(video, folder, **size, budget=tight)
    assert sum(p.stat().st_size for p in small) <= tight
    with Image.open(small[0]) as first:
        assert first.width < RUNGS[0][0], "the first rung fits 18 KB: the test shows no shrinking"
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in small)
    assert sorted(p.name for p in folder.iterdir()) == ["end.jpg", "middle.jpg", "start.jpg"], "no temp left"
    from nemo_video_mcp.video_probe import ProbeUnavailableError

    with pytest.raises(ProbeUnavailableError, match="did not fit in 0 KB"):
        await write_keyframes(video, folder, **size, budget=300)
