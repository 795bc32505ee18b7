"""Transition frames: made in Pillow on the yuv420p planes (count, layout and shape of each kind), and
through a whole render, static or ken burns, each step the same size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from nemo_video_mcp.render.images import normalize_image
from nemo_video_mcp.render.plan import build_plan
from nemo_video_mcp.render.slideshow import render_slideshow
from nemo_video_mcp.render.transitions import write_dissolve_masks, write_transition
from nemo_video_mcp.render.y4m import Y4M_FRAME, read_y4m_planes

from .small_frames import flat_image, luma_frames, mean, shrink_frames

SIZE = (64, 32)


def _still(tmp_path: Path, name: str, color: str) -> Path:
    source = tmp_path / f"{name}.png"
    Image.new("RGB", SIZE, color).save(source)
    return normalize_image(source, tmp_path / f"{name}.y4m", SIZE)


def _luma_frames(path: Path) -> list[bytes]:
    header, _, body = path.read_bytes().partition(b"\n")
    assert header.startswith(b"YUV4MPEG2 W64 H32 F30:1")
    frames = body.split(Y4M_FRAME)[1:]
    assert all(len(frame) == 64 * 32 * 3 // 2 for frame in frames)
    return [frame[: 64 * 32] for frame in frames]


@pytest.fixture
def black_to_white(tmp_path):
    return _still(tmp_path, "black", "black"), _still(tmp_path, "white", "white")


def test_fade_steps_evenly_without_repeating_either_still(tmp_path, black_to_white):
    frames = _luma_frames(write_transition(*black_to_white, tmp_path / "t.y4m", "fade", 3, 30))
    expected = [16 + 219 * step / 4 for step in (1, 2, 3)]  # 1/4, 2/4, 3/4 of the way, in limited range
    assert all(abs(frame[0] - value) <= 1 for frame, value in zip(frames, expected, strict=True))


@pytest.mark.parametrize("kind", ["wipe", "slide"])
def test_wipe_and_slide_bring_the_second_still_in_from_the_right(tmp_path, black_to_white, kind):
    frames = _luma_frames(write_transition(*black_to_white, tmp_path / "t.y4m", kind, 3, 30))
    for i, frame in enumerate(frames):
        row = frame[:64]
        edge = 64 - round((i + 1) / 4 * 64)
        assert set(row[:edge]) == {16} and set(row[edge:]) == {235}, (i, row)


def test_slide_moves_the_first_still_out_to_the_left(tmp_path):
    striped = tmp_path / "striped.png"
    image = Image.new("RGB", SIZE, "black")
    image.paste("white", (32, 0, 64, 32))  # right half white
    image.save(striped)
    before = normalize_image(striped, tmp_path / "striped.y4m", SIZE)
    after = _still(tmp_path, "black", "black")
    middle = _luma_frames(write_transition(before, after, tmp_path / "t.y4m", "slide", 1, 30))[0][:64]
    assert set(middle[:32]) == {235} and set(middle[32:]) == {16}  # the white half, pushed halfway out


def test_dissolve_switches_a_growing_share_of_pixels(tmp_path, black_to_white):
    frames = _luma_frames(write_transition(*black_to_white, tmp_path / "t.y4m", "dissolve", 3, 30))
    shares = [frame.count(235) / len(frame) for frame in frames]
    assert all(set(frame) <= {16, 235} for frame in frames)
    assert shares == sorted(shares) and 0.1 < shares[0] < 0.4 and 0.6 < shares[2] < 0.9
    y, u, v = read_y4m_planes(tmp_path / "white.y4m")
    assert (y.size, u.size, v.size) == (SIZE, (32, 16), (32, 16))


def test_dissolve_masks_are_grey_frames_switching_a_growing_share_of_samples(tmp_path):
    path = write_dissolve_masks((40, 20), 3, 30, tmp_path / "masks.y4m")
    header, _, body = path.read_bytes().partition(b"\n")
    assert header == b"YUV4MPEG2 W40 H20 F30:1 Ip A1:1 Cmono XCOLORRANGE=FULL"
    frames = body.split(Y4M_FRAME)[1:]
    assert [len(frame) for frame in frames] == [800] * 3
    assert all(set(frame) <= {0, 255} for frame in frames)
    shown = [{i for i, value in enumerate(frame) if value} for frame in frames]
    assert shown[0] < shown[1] < shown[2]  # a sample once switched stays switched
    assert 0.1 < len(shown[0]) / 800 < 0.4 and 0.6 < len(shown[2]) / 800 < 0.9


# --- Through a whole render: no frame held or skipped at or inside a transition -----------------------


@pytest.mark.parametrize("motion", ["kenburns", "static"])
async def test_a_fade_steps_evenly_from_the_last_held_frame_to_the_first(tmp_path, monkeypatch, motion):
    """Black into white over 15 frames: 16 equal steps of brightness, from the last black frame of the
    first hold to the first white frame of the next, and no step of zero (a repeated frame)."""
    size = shrink_frames(monkeypatch)["16:9"]
    images = [flat_image(tmp_path / f"{c}.png", size, c) for c in ("black", "white")]
    plan = build_plan(range(2), duration_s=3.0, transition_s=0.5, motion=motion).with_images(images)
    path = tmp_path / "fade.mp4"
    await render_slideshow(plan, path)
    brightness = [mean(frame) for frame in luma_frames(path, size)]
    assert len(brightness) == 90
    start, n = plan.images[1].start_frame, plan.transition_frames
    assert (start, n) == (45, 15)
    steps = [b - a for a, b in zip(brightness[start - 1 : start + n], brightness[start : start + n + 1], strict=True)]
    assert all(abs(step - 255 / (n + 1)) < 3 for step in steps), steps
    assert max(brightness[: start - 1]) < 2 and min(brightness[start + n + 1 :]) > 253


@pytest.mark.parametrize("kind", ["slide", "wipe"])
async def test_kenburns_slides_push_and_wipes_uncover(tmp_path, monkeypatch, kind):
    """Half black, half white into half dark, half light grey, with ken burns (zooms about the centre,
    so the halves stay halves): a slide pushes the first picture out to the left as the second comes in
    from the right; a wipe uncovers the second from the right where it is, the first staying put."""
    width, height = size = shrink_frames(monkeypatch)["16:9"]

    def halves(name: str, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
        image = Image.new("RGB", size, left)
        image.paste(right, (width // 2, 0, width, height))
        image.save(tmp_path / name)
        return tmp_path / name

    images = [halves("first.png", (0, 0, 0), (255, 255, 255)), halves("second.png", (64, 64, 64), (170, 170, 170))]
    plan = build_plan(range(2), duration_s=3.0, transition_s=0.5, transition=kind, motion="kenburns")
    path = tmp_path / f"{kind}.mp4"
    await render_slideshow(plan.with_images(images), path)
    frames = luma_frames(path, size)
    start, n = plan.images[1].start_frame, plan.transition_frames
    assert len(frames) == 90 and n == 15

    def shade(value: int) -> str:
        return "black" if value < 30 else "dark" if value < 110 else "light" if value < 215 else "white"

    for i in (2, 7, 12):
        far = 2 * round((i + 1) / (n + 1) * width / 2)  # how far the second picture has come in
        moved = far if kind == "slide" else 0
        expected = [
            ("dark" if x - (width - far if kind == "slide" else 0) < width // 2 else "light")
            if x >= width - far
            else "black"
            if x + moved < width // 2
            else "white"
            for x in range(width)
        ]
        got = [shade(v) for v in frames[start + i][height // 2 * width : (height // 2 + 1) * width]]
        edges = {width // 2 - moved, width - far, width // 2 + (width - far if kind == "slide" else 0)}
        checked = [x for x in range(width) if all(abs(x - edge) > 3 for edge in edges)]
        assert [got[x] for x in checked] == [expected[x] for x in checked], (i, far, got)


async def test_a_kenburns_dissolve_switches_a_growing_share_of_the_picture(tmp_path, monkeypatch):
    """Black into white with ken burns: inside the dissolve each frame is black and white in patches, the
    white share near (i + 1) / (n + 1) and growing; the frames on either side are the two pictures."""
    size = shrink_frames(monkeypatch, 0.2)["16:9"]
    images = [flat_image(tmp_path / f"{c}.png", size, c) for c in ("black", "white")]
    plan = build_plan(range(2), duration_s=3.0, transition_s=0.5, transition="dissolve", motion="kenburns")
    path = tmp_path / "dissolve.mp4"
    await render_slideshow(plan.with_images(images), path)
    frames = luma_frames(path, size)
    start, n = plan.images[1].start_frame, plan.transition_frames
    assert len(frames) == 90 and n == 15
    white = [sum(value > 128 for value in frame) / len(frame) for frame in frames]
    inside = white[start : start + n]
    assert all(abs(share - (i + 1) / (n + 1)) < 0.1 for i, share in enumerate(inside)), inside
    assert inside == sorted(inside)
    assert max(white[:start]) < 0.01 and min(white[start + n :]) > 0.99
