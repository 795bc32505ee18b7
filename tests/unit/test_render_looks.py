"""Colour looks (black-and-white, sepia, warm, cool) on a photo's frames, and frame rates 24/30/60."""

from __future__ import annotations

import pytest
from PIL import ImageStat

from nemo_video_mcp.render.looks import look_filters
from nemo_video_mcp.render.plan import build_plan
from nemo_video_mcp.render.probe import count_frames, probe_video
from nemo_video_mcp.render.slideshow import render_slideshow

from .small_frames import flat_image, luma_frames, mean, rgb_frames, shrink_frames

COLOUR = (90, 150, 200)  # a sky blue with every channel well inside the range


def test_a_look_can_cover_one_photos_frames():
    assert look_filters("none") == []
    assert look_filters("bw", (30, 60)) == ["hue=s=0:enable='between(n,30,59)'"]


async def _rendered(tmp_path, monkeypatch, looks: list[str], motion: str = "static", **plan_args):
    size = shrink_frames(monkeypatch)["16:9"]
    images = [flat_image(tmp_path / f"{i}.png", size, COLOUR) for i in range(len(looks))]
    plan = build_plan(range(len(looks)), duration_s=len(looks) * 1.0, motion=motion, transition="none", **plan_args)
    plan = plan.with_images(images)
    plan = plan.model_copy(
        update={
            "images": [image.model_copy(update={"look": look}) for image, look in zip(plan.images, looks, strict=True)]
        }
    )
    path = tmp_path / f"{'-'.join(looks)}-{motion}.mp4"
    await render_slideshow(plan, path)
    return path, size


def _rgb(frame) -> tuple[float, float, float]:
    r, g, b = ImageStat.Stat(frame).mean
    return r, g, b


@pytest.mark.parametrize("motion", ["static", "kenburns"])
async def test_each_look_tints_its_photo_and_only_its_photo(tmp_path, monkeypatch, motion):
    looks = ["none", "bw", "sepia", "warm", "cool"]
    path, size = await _rendered(tmp_path, monkeypatch, looks, motion)
    frames = rgb_frames(path, size)
    plain, bw, sepia, warm, cool = (_rgb(frames[30 * k + 15]) for k in range(5))
    assert plain[2] - plain[0] > 80  # untouched: still blue
    assert max(bw) - min(bw) < 4  # grey
    assert sepia[0] > sepia[1] + 10 > sepia[2] + 20  # brown: red over green over blue
    assert warm[0] - warm[2] > plain[0] - plain[2] + 25  # redder, less blue
    assert cool[2] - cool[0] > plain[2] - plain[0] + 25  # bluer


async def test_one_look_over_every_photo_is_one_filter(tmp_path, monkeypatch):
    path, size = await _rendered(tmp_path, monkeypatch, ["bw", "bw"])
    assert all(max(_rgb(frame)) - min(_rgb(frame)) < 4 for frame in rgb_frames(path, size))


@pytest.mark.parametrize("fps", [24, 60])
async def test_other_frame_rates_keep_length_and_smooth_fades(tmp_path, monkeypatch, fps):
    size = shrink_frames(monkeypatch)["16:9"]
    images = [flat_image(tmp_path / f"{c}.png", size, c) for c in ("black", "white")]
    plan = build_plan(range(2), duration_s=3.0, fps=fps, transition_s=0.5, motion="kenburns").with_images(images)
    path = tmp_path / f"{fps}.mp4"
    await render_slideshow(plan, path)
    assert count_frames(path) == 3 * fps and probe_video(path).duration_s == pytest.approx(3.0, abs=1 / fps)
    brightness = [mean(frame) for frame in luma_frames(path, size)]
    start, n = plan.images[1].start_frame, plan.transition_frames
    steps = [b - a for a, b in zip(brightness[start - 1 : start + n], brightness[start : start + n + 1], strict=True)]
    assert n == round(0.5 * fps) and all(abs(step - 255 / (n + 1)) < 3 for step in steps), steps
