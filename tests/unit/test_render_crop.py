"""Smart framing: a crop window that keeps the photo's subject, and ken burns that moves toward it."""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageDraw

from nemo_video_mcp.render.crop import fits_for, kenburns_window, needs_smart_fit, smart_crop, subject_of
from nemo_video_mcp.render.plan import build_plan, describe_plan, plan_from_draft
from nemo_video_mcp.render.slideshow import render_slideshow

from .small_frames import rgb_frames, shrink_frames


def _photo(size: tuple[int, int], subject: tuple[int, int, int, int]) -> Image.Image:
    """A softly noisy sky-blue photo with a detailed, saturated subject (a red and yellow checker) in `subject`."""
    rng = random.Random(7)
    image = Image.new("RGB", size, (150, 180, 210))
    draw = ImageDraw.Draw(image)
    for _ in range(size[0] * size[1] // 200):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.point((x, y), fill=(140 + rng.randrange(20), 175, 205))
    left, top, right, bottom = subject
    for x in range(left, right, 10):
        for y in range(top, bottom, 10):
            draw.rectangle((x, y, x + 9, y + 9), fill="red" if (x + y) // 10 % 2 else "yellow")
    return image


def _inside(box: tuple[float, float, float, float], part: tuple[int, int, int, int]) -> bool:
    return box[0] <= part[0] and box[1] <= part[1] and part[2] <= box[2] and part[3] <= box[3]


@pytest.mark.parametrize(
    ("size", "subject", "frame"),
    [
        ((1200, 800), (900, 300, 1040, 440), (1080, 1920)),  # 3:2 landscape, subject right, in 9:16
        ((1200, 800), (80, 500, 220, 640), (1080, 1920)),  # subject bottom left
        ((800, 1200), (300, 60, 440, 200), (1920, 1080)),  # portrait, subject at the top, in 16:9
    ],
)
def test_the_crop_window_keeps_an_off_centre_subject(size, subject, frame):
    crop = smart_crop(_photo(size, subject), frame)
    left, top, right, bottom = crop.box
    assert (right - left) / (bottom - top) == pytest.approx(frame[0] / frame[1], rel=1e-3)
    assert left >= 0 and top >= 0 and right <= size[0] + 1e-6 and bottom <= size[1] + 1e-6
    assert right - left == pytest.approx(size[0]) or bottom - top == pytest.approx(size[1])  # as large as fits
    assert _inside(crop.box, subject), (crop.box, subject)
    # A centred crop would have lost it.
    centred = ((size[0] - (right - left)) / 2, (size[1] - (bottom - top)) / 2)
    assert not _inside((*centred, centred[0] + right - left, centred[1] + bottom - top), subject)
    # The subject point is on the subject.
    sx = left + crop.subject[0] * (right - left)
    sy = top + crop.subject[1] * (bottom - top)
    assert subject[0] - 30 <= sx <= subject[2] + 30 and subject[1] - 30 <= sy <= subject[3] + 30, (sx, sy)


def test_a_photo_without_a_subject_is_cropped_in_the_middle():
    crop = smart_crop(Image.new("RGB", (1200, 800), (120, 130, 140)), (1080, 1920))
    assert crop.box == pytest.approx((375.0, 0.0, 825.0, 800.0))
    assert crop.subject == (0.5, 0.5)
    assert crop.fractions((1200, 800)) == pytest.approx((0.3125, 0.0, 0.6875, 1.0))


@pytest.mark.parametrize(
    ("photo", "frame", "smart"),
    [
        ((3000, 2000), (1080, 1920), True),  # 3:2 in 9:16: the band 38 % high
        ((2000, 3000), (1920, 1080), True),
        ((1920, 1080), (1080, 1920), True),
        ((3000, 2000), (1920, 1080), False),  # 3:2 in 16:9: a thin blurred border does
        ((3000, 2000), (1080, 1080), False),
        ((1080, 1920), (1080, 1920), False),
    ],
)
def test_smart_is_for_photos_far_from_the_frames_shape(photo, frame, smart):
    assert needs_smart_fit(photo, frame) is smart


def test_the_ken_burns_window_closes_in_on_the_subject_and_stays_on_the_still():
    subject = (0.85, 0.2)
    distances = []
    for step in range(11):
        x, y, shown = kenburns_window(step / 10, subject, 0.15)
        assert shown / 2 <= x <= 1 - shown / 2 and shown / 2 <= y <= 1 - shown / 2
        distances.append(((x - subject[0]) ** 2 + (y - subject[1]) ** 2) ** 0.5)
    assert distances == sorted(distances, reverse=True) and distances[-1] < distances[0] - 0.05


def _centroid_of_red(frame: Image.Image) -> tuple[float, float]:
    data = frame.tobytes()
    points = [
        (i // 3 % frame.width, i // 3 // frame.width)
        for i in range(0, len(data), 3)
        if data[i] > 150 and data[i + 1] < 90 and data[i + 2] < 90
    ]
    assert points
    return sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points)


@pytest.mark.parametrize(("fit", "toward"), [("smart", True), ("cover", False)])
async def test_ken_burns_moves_toward_the_subject_of_a_smart_still(tmp_path, monkeypatch, fit, toward):
    """A frame-shaped photo with its subject up and to the right: with `smart`, the zoom closes in on it
    (the subject moves toward the frame's centre); the plain zoom into the centre pushes it outward."""
    size = shrink_frames(monkeypatch, 0.2)["9:16"]
    photo = tmp_path / "photo.png"
    _photo((432, 768), (300, 120, 400, 220)).save(photo)
    plan = build_plan([0], duration_s=1.0, aspect="9:16", motion="kenburns", fit=fit).with_images([photo])
    path = tmp_path / "kb.mp4"
    await render_slideshow(plan, path)
    frames = rgb_frames(path, size)
    (x0, y0), (x1, y1) = _centroid_of_red(frames[0]), _centroid_of_red(frames[-1])
    dx0, dy0, dx1, dy1 = abs(x0 - size[0] / 2), abs(y0 - size[1] / 2), abs(x1 - size[0] / 2), abs(y1 - size[1] / 2)
    if toward:  # nearer the middle on both axes
        assert dx1 < dx0 - 2 and dy1 < dy0 - 2, (dx0, dx1, dy0, dy1)
    else:
        assert dx1 > dx0 + 2 and dy1 > dy0 + 2, (dx0, dx1, dy0, dy1)


def test_the_subject_of_a_whole_picture():
    x, y = subject_of(_photo((400, 400), (300, 40, 380, 120)))
    assert x > 0.7 and y < 0.3


WIDE, TALL = (3000, 2000), (1080, 1920)


@pytest.mark.parametrize(
    ("aspect", "plan_fit", "photo_fits", "photos", "fits"),
    [
        ("9:16", None, [None, None, None], [WIDE, TALL, None], ["smart", "blur", "blur"]),  # auto: by shape
        ("16:9", None, [None, None], [WIDE, TALL], ["blur", "smart"]),
        ("9:16", "blur", [None, None], [WIDE, TALL], ["blur", "blur"]),  # a fit asked for wins
        ("9:16", "cover", [None, None], [WIDE, TALL], ["cover", "cover"]),
        ("9:16", None, ["contain", None], [WIDE, WIDE], ["contain", "smart"]),  # and a photo's own fit
        ("9:16", "blur", ["smart", None], [TALL, WIDE], ["smart", "blur"]),
    ],
)  # fmt: skip
def test_a_photo_gets_smart_by_default_only_when_its_shape_is_far_from_the_frames(
    aspect, plan_fit, photo_fits, photos, fits
):
    plan = build_plan(range(len(photos)), duration_s=3.0, aspect=aspect, fit=plan_fit)
    images = [image.model_copy(update={"fit": fit}) for image, fit in zip(plan.images, photo_fits, strict=True)]
    assert fits_for(plan.model_copy(update={"images": images}), photos) == fits


def test_the_plan_names_the_fit_each_photo_got():
    auto = build_plan(range(3), duration_s=3.0, aspect="9:16")
    assert auto.fit is None and "fit" not in auto.to_draft()["m"]
    assert "photos 1, 3 cropped around the subject (fit: smart" in describe_plan(auto, ["smart", "blur", "smart"])
    assert "(fit: smart)" in describe_plan(auto, ["smart"] * 3) and "blur" not in describe_plan(auto, ["smart"] * 3)
    assert "Framing (auto): Pictures of another shape sit on a blurred copy" in describe_plan(auto, ["blur"] * 3)
    assert "Framing: auto" in describe_plan(auto)
    asked = build_plan(range(3), duration_s=3.0, aspect="9:16", fit="blur")
    assert "(fit: blur)" in describe_plan(asked, ["smart"] * 3) and "smart" not in describe_plan(asked, ["smart"] * 3)
    assert plan_from_draft(asked.to_draft()).fit == "blur" and plan_from_draft(auto.to_draft()).fit is None
