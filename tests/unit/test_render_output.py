"""Real renders with the bundled ffmpeg, checked by reading the files back."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from nemo_video_mcp.models import EditOptions
from nemo_video_mcp.render import runner
from nemo_video_mcp.render.changes import first_plan
from nemo_video_mcp.render.graph import EncoderSettings
from nemo_video_mcp.render.plan import build_plan, plan_from_draft
from nemo_video_mcp.render.probe import count_frames, is_faststart, probe_video, read_frame, top_level_atoms
from nemo_video_mcp.render.runner import FfmpegError, ffmpeg_exe, run_ffmpeg
from nemo_video_mcp.render.slideshow import render_slideshow
from nemo_video_mcp.render.text import ANCHORS

from .conftest import assert_process_gone
from .shared_render import INSTRUCTION as HIDDEN_PEAKS
from .shared_render import HiddenPeaks
from .test_render_images import striped_image

COLORS = ["darkred", "darkgreen", "navy", "purple"]


def _images(tmp_path: Path, count: int, size: tuple[int, int] = (800, 600)) -> list[Path]:
    return [striped_image(tmp_path / f"in{i}.png", size, COLORS[i % len(COLORS)]) for i in range(count)]


def _white_share(image) -> float:
    """Share of near-white pixels (title text is white; the stills' white stripes are avoided by cropping)."""
    grey = image.convert("L").point(lambda v: 255 if v > 230 else 0)
    return ImageStat.Stat(grey).mean[0] / 255


def test_vertical_kenburns_hidden_peaks(hidden_peaks: HiddenPeaks):
    """The engine's one call of the shared render: the plan the instruction makes, rendered and read back."""
    (call,) = hidden_peaks.engine
    planned = first_plan(HIDDEN_PEAKS, 3, EditOptions()).with_images([i.path for i in call.plan.images])
    assert call.plan.model_dump(exclude={"images": {"__all__": {"name"}}}) == planned.model_dump(
        exclude={"images": {"__all__": {"name"}}}
    )
    info, seen, path = call.info, call.progress, call.output
    assert info is not None

    assert (info.width, info.height, info.codec, info.pix_fmt) == (1080, 1920, "h264", "yuv420p")
    assert info.duration_s == pytest.approx(12.0, abs=1 / 30)
    assert count_frames(path) == 360
    assert info.faststart and is_faststart(path)
    assert seen[-1] == 100 and seen == sorted(seen)
    assert sorted(os.listdir(path.parent)) == [path.name]  # no temp file left

    # Motion: on one still, the picture changes between the start and the end of its slot.
    early, late = read_frame(path, 0.3), read_frame(path, 3.4)
    assert ImageStat.Stat(ImageChops.difference(early, late)).mean[0] > 5
    # Title: white text at its place (the middle, as planned) while it is shown, gone afterwards.
    (title,) = call.plan.texts
    middle = ANCHORS[title.position]
    band = (0, round(1920 * (middle - 0.08)), 1080, round(1920 * (middle + 0.08)))
    with_title = read_frame(path, 2.0).crop(band)
    without = read_frame(path, 10.0).crop(band)
    assert _white_share(with_title) > _white_share(without) + 0.01


@pytest.mark.parametrize(
    ("aspect", "transition", "size"),
    [("16:9", "fade", (1920, 1080)), ("1:1", "wipe", (1080, 1080)), ("9:16", "none", (1080, 1920))],
)
async def test_static_renders_have_exact_size_and_length(tmp_path, aspect, transition, size):
    plan = build_plan(
        range(3), duration_s=2.0, aspect=aspect, transition=transition, transition_s=0.3, motion="static"
    ).with_images(_images(tmp_path, 3))
    path = tmp_path / "static.mp4"
    info = await render_slideshow(plan, path)
    assert (info.width, info.height) == size
    assert count_frames(path) == 60
    # Static: inside a hold, consecutive frames are the same picture.
    a, b = read_frame(path, 0.1), read_frame(path, 0.4)
    assert ImageStat.Stat(ImageChops.difference(a, b)).mean[0] < 1.5


async def test_one_frame_holds_keep_the_exact_length_the_pictures_and_the_last_hold(tmp_path):
    plan = build_plan(range(3), duration_s=3.0, transition="fade", transition_s=0.3, motion="static")
    plan = plan.with_images(_images(tmp_path, 3))
    cfr, vfr = tmp_path / "cfr.mp4", tmp_path / "vfr.mp4"
    await render_slideshow(plan, cfr)
    info = await render_slideshow(plan, vfr, encoder=EncoderSettings(one_frame_holds=True))
    assert info.duration_s == pytest.approx(3.0, abs=0.01) and info.faststart
    assert count_frames(vfr) < count_frames(cfr) == 90
    # Shown at 30 fps, frame by frame, it is the same video (`read_frame`'s -ss would skip to the next frame).
    shown, planned = _frames_at(vfr, plan.fps), _frames_at(cfr, plan.fps)
    assert len(shown) == len(planned) == 90
    for ours, theirs in zip(shown, planned, strict=True):
        assert ImageStat.Stat(ImageChops.difference(ours, theirs)).mean[0] < 2


def _frames_at(path: Path, fps: int) -> list[Image.Image]:
    """Every frame shown at `fps`, 64x36 RGB."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(path), "-vf", f"fps={fps},scale=64:36",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    size = 64 * 36 * 3
    return [Image.frombytes("RGB", (64, 36), raw[at : at + size]) for at in range(0, len(raw), size)]


@pytest.mark.parametrize(("fit", "black"), [("blur", False), ("contain", True)])
async def test_landscape_in_a_vertical_frame_fills_the_corners_unless_contained(tmp_path, fit, black):
    images = [striped_image(tmp_path / "wide.jpg", (1200, 800), "darkgreen")]
    plan = build_plan([0], duration_s=1.0, aspect="9:16", motion="static", fit=fit).with_images(images)
    path = tmp_path / f"{fit}.mp4"
    await render_slideshow(plan, path)
    frame = read_frame(str(path), 0.5)
    assert frame.size == (1080, 1920)
    corners = [(0, 0, 120, 200), (960, 0, 1080, 200), (0, 1720, 120, 1920), (960, 1720, 1080, 1920)]
    brightness = [ImageStat.Stat(frame.crop(box)).mean[1] for box in corners]  # green channel
    if black:
        assert max(brightness) < 4, brightness
    else:
        assert min(brightness) > 25, brightness
    middle = ImageStat.Stat(frame.crop((0, 800, 1080, 1120))).mean[1]
    assert middle > 90  # the picture itself, undimmed


async def test_title_changes_the_frame_where_it_is_drawn(tmp_path):
    images = _images(tmp_path, 1, (1080, 1080))
    common = {"duration_s": 1.0, "aspect": "1:1", "motion": "static"}
    plain = build_plan([0], **common).with_images(images)
    titled = build_plan([0], title="Hidden Peaks", **common).with_images(images)
    await render_slideshow(plain, tmp_path / "plain.mp4")
    await render_slideshow(titled, tmp_path / "titled.mp4")
    middle = round(1080 * ANCHORS[titled.texts[0].position])
    band = (0, middle - 140, 1080, middle + 140)
    before = read_frame(tmp_path / "plain.mp4", 0.5).crop(band)
    after = read_frame(tmp_path / "titled.mp4", 0.5).crop(band)
    assert ImageStat.Stat(ImageChops.difference(before, after)).mean[0] > 3


async def test_music_is_cut_to_the_video_length(tmp_path):
    song = tmp_path / "song.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.7", str(song)], check=True
    )  # shorter than the video: it must loop
    plan = build_plan([0, 1], duration_s=2.0, motion="static", music_path=str(song)).with_images(_images(tmp_path, 2))
    info = await render_slideshow(plan, tmp_path / "music.mp4")
    assert info.audio_codec == "aac"
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert count_frames(tmp_path / "music.mp4") == 60


def test_faststart_is_read_from_the_atom_order(tmp_path):
    moov_first = tmp_path / "a.mp4"
    moov_first.write_bytes(_atom(b"ftyp", 8) + _atom(b"moov", 16) + _atom(b"mdat", 32))
    mdat_first = tmp_path / "b.mp4"
    mdat_first.write_bytes(_atom(b"ftyp", 8) + _atom(b"mdat", 32) + _atom(b"moov", 16))
    assert top_level_atoms(moov_first) == ["ftyp", "moov", "mdat"]
    assert is_faststart(moov_first) and not is_faststart(mdat_first)


def _atom(kind: bytes, body: int) -> bytes:
    return (8 + body).to_bytes(4, "big") + kind + b"\x00" * body


def test_probe_refuses_a_non_video(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"nothing here")
    with pytest.raises(FfmpegError):
        probe_video(path)


# --- The runner ------------------------------------------------------------------------------------


def _endless_argv() -> list[str]:
    """ffmpeg encoding an endless test pattern: only a kill stops it."""
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
        "testsrc=size=320x240:rate=30", "-c:v", "libx264", "-preset", "ultrafast", "-progress", "pipe:1",
        "-nostats", "-f", "mp4",
    ]  # fmt: skip


@pytest.fixture
def started(monkeypatch):
    """The ffmpeg processes the runner starts, to check that they were killed and reaped."""
    processes: list[asyncio.subprocess.Process] = []
    original = asyncio.create_subprocess_exec

    async def spy(*args, **kwargs):
        process = await original(*args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(runner.asyncio, "create_subprocess_exec", spy)
    return processes


async def test_cancel_kills_ffmpeg_and_leaves_no_temp_file(tmp_path, started):
    output = tmp_path / "out" / "endless.mp4"
    progress: list[float] = []
    task = asyncio.create_task(run_ffmpeg(_endless_argv(), output, duration_s=60, on_progress=progress.append))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if progress:
            break
    assert progress, "ffmpeg never reported progress"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_process_gone(started[0])
    assert os.listdir(output.parent) == []


async def test_timeout_kills_ffmpeg(tmp_path, started):
    output = tmp_path / "slow.mp4"
    with pytest.raises(FfmpegError, match="did not finish within"):
        await run_ffmpeg(_endless_argv(), output, duration_s=60, timeout_s=0.5)
    assert_process_gone(started[0])
    assert not output.exists() and os.listdir(tmp_path) == []


async def test_failure_reports_the_error_text_and_cleans_up(tmp_path):
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(tmp_path / "missing.png"), "-f", "mp4"]
    with pytest.raises(FfmpegError, match=r"missing\.png") as caught:
        await run_ffmpeg(argv, tmp_path / "x.mp4", duration_s=1)
    assert "export_video" in caught.value.next_step
    assert os.listdir(tmp_path) == []


async def test_missing_binary_is_a_clear_error(tmp_path):
    with pytest.raises(FfmpegError, match="could not be started"):
        await run_ffmpeg([str(tmp_path / "no-ffmpeg")], tmp_path / "x.mp4", duration_s=1)


async def test_each_photo_is_drawn_with_its_own_fit(tmp_path):
    wide = striped_image(tmp_path / "wide.jpg", (1200, 800), "darkgreen")
    plan = build_plan([0, 0], duration_s=2.0, aspect="9:16", motion="static", fit="blur", transition="none")
    plan = plan.with_images([wide, wide])
    plan = plan.model_copy(update={"images": [plan.images[0].model_copy(update={"fit": "contain"}), plan.images[1]]})
    path = tmp_path / "mixed.mp4"
    await render_slideshow(plan, path)
    corner = (0, 0, 120, 200)
    first, second = read_frame(str(path), 0.4), read_frame(str(path), 1.6)
    assert ImageStat.Stat(first.crop(corner)).mean[1] < 4, "the first photo is contained: black bars"
    assert ImageStat.Stat(second.crop(corner)).mean[1] > 25, "the second keeps the plan's blur"


@pytest.mark.parametrize(("fit", "subject_shown"), [("smart", True), (None, True), ("cover", False)])
async def test_a_smart_fit_keeps_an_off_centre_subject_in_a_vertical_frame(tmp_path, fit, subject_shown):
    photo = Image.new("RGB", (1500, 1000), (90, 120, 90))
    ImageDraw.Draw(photo).ellipse((1200, 400, 1400, 600), fill=(230, 20, 20))  # the subject, far right
    photo.save(tmp_path / "subject.png")
    plan = build_plan([0], duration_s=1.0, aspect="9:16", motion="static", fit=fit).with_images(
        [tmp_path / "subject.png"]
    )
    path = tmp_path / f"{fit or 'auto'}.mp4"
    await render_slideshow(plan, path)  # auto (no fit asked): smart, as a 3:2 photo in 9:16 needs
    frame = read_frame(str(path), 0.5).convert("RGB")
    pixels = frame.resize((108, 192)).tobytes()  # RGB triples
    red = sum(1 for i in range(0, len(pixels), 3) if pixels[i] > 150 and pixels[i + 1] < 90 and pixels[i + 2] < 90)
    # shown large: the photo's full height (a blurred band, 38 % high, would show it a fifth as big)
    assert (red > 500) is subject_shown, red


async def test_a_photo_is_drawn_from_its_own_crop_window(tmp_path):
    photo = Image.new("RGB", (600, 400), "red")
    photo.paste("blue", (300, 0, 600, 400))  # the right half, which the draft's crop keeps
    photo.save(tmp_path / "halves.png")
    plan = build_plan([0, 0], duration_s=2.0, aspect="1:1", motion="static", transition="none", fit="cover")
    plan = plan.with_images([tmp_path / "halves.png"] * 2)
    cropped = plan.images[0].model_copy(update={"crop": (0.5, 0.0, 1.0, 1.0)})
    plan = plan_from_draft(plan.model_copy(update={"images": [cropped, plan.images[1]]}).to_draft())
    path = tmp_path / "cropped.mp4"
    await render_slideshow(plan, path)
    first, second = read_frame(str(path), 0.4).convert("RGB"), read_frame(str(path), 1.6).convert("RGB")
    r, _, b = ImageStat.Stat(first).mean
    assert b > 200 and r < 40, "photo 1 shows only its crop window, the blue half"
    left, right = second.getpixel((10, second.height // 2)), second.getpixel((second.width - 10, second.height // 2))
    assert left[0] > 200 and right[2] > 200, "photo 2 (no crop) is the middle of both halves"
