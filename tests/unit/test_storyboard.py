"""The storyboard: shots read from the draft, the contact sheet drawn, and preview_storyboard over MCP."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from PIL import Image
from pytest_httpx import HTTPXMock

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.shots import Shot, shots_of
from nemo_video_mcp.storyboard import MAX_BYTES, Panel, draw_storyboard

from .conftest import API
from .test_protocol import SID, login, state
from .test_render_text import font_folder, fonts_loaded  # noqa: F401 (fixtures)


@pytest.mark.parametrize(
    ("draft", "expected"),
    [
        pytest.param({}, [], id="no tracks"),
        pytest.param({"t": [{"tt": 1, "sg": [{"d": 5000, "src": "https://cdn/m.mp3"}]}]}, [], id="music only"),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 2000, "src": "https://cdn/a.jpg", "m": {"name": "a"}}, {"d": 3000}]}]},
            [Shot(1, 0, 2, "a", "https://cdn/a.jpg", ()), Shot(2, 2, 5, "clip 2", None, ())],
            id="segments without a start follow one another",
        ),
        pytest.param(
            {
                "t": [
                    {"tt": 7, "sg": [{"start": 0, "d": 3000, "m": {"text": "  Hidden\nPeaks "}}]},
                    {"tt": 0, "sg": [{"start": 4000, "d": 4000, "m": {"src": "file:///b.jpg"}}]},
                    {"tt": 0, "sg": [{"start": 0, "d": 4000, "m": {"src": "file:///a.jpg"}}]},
                    {"tt": 7, "sg": [{"start": 7000, "d": 2000, "text": "the end"}]},
                ]
            },
            [
                Shot(1, 0, 4, "clip 1", "file:///a.jpg", ("Hidden Peaks",)),
                Shot(2, 4, 8, "clip 2", "file:///b.jpg", ("the end",)),
            ],
            id="in time order, with the texts shown while each plays",
        ),
    ],
)
def test_shots_of_the_draft(draft: dict[str, Any], expected: list[Shot]) -> None:
    assert shots_of(draft) == expected


def noise(seed: int) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", (520, 292), rng.randbytes(520 * 292 * 3))


@pytest.mark.parametrize("aspect", [16 / 9, 9 / 16, 1.0])
def test_a_sheet_of_the_worst_pictures_still_fits_in_200_kb(aspect: float) -> None:
    panels = [Panel(i, i, i + 1, f"noise {i}.jpg", ("caption " * 20,), noise(i)) for i in range(1, 25)]
    sheet = draw_storyboard(["Storyboard: 24 shots", 'Title: "x"'], panels, aspect, "a footer")
    assert len(sheet.data) <= MAX_BYTES and sheet.mime_type == "image/jpeg"
    assert Image.open(io.BytesIO(sheet.data)).size == (sheet.width, sheet.height)


def test_a_plain_sheet_is_a_png_and_a_missing_picture_is_drawn_as_its_reason() -> None:
    panels = [Panel(1, 0, 2, "a", (), Image.new("RGB", (300, 200), "red")), Panel(2, 2, 4, "b", (), None, "gone")]
    sheet = draw_storyboard(["Storyboard"], panels, 16 / 9)
    assert sheet.mime_type == "image/png" and len(sheet.data) <= MAX_BYTES


def centre_x(image: Image.Image, wanted: tuple[int, int, int]) -> float:
    """The mean x of the pixels close to colour `wanted`."""
    small = image.convert("RGB").resize((image.width // 4, image.height // 4))
    xs = [
        x
        for y in range(small.height)
        for x in range(small.width)
        if sum(abs(a - b) for a, b in zip(small.getpixel((x, y)), wanted, strict=True)) < 60
    ]
    assert xs, f"no pixel of colour {wanted} on the sheet"
    return sum(xs) / len(xs)


def photo(path: Path, colour: tuple[int, int, int]) -> str:
    Image.new("RGB", (640, 480), colour).save(path)
    return str(path)


def sheet_of(result: Any) -> Image.Image:
    images = [item for item in result.content if item.type == "image"]
    assert len(images) == 1, [item.type for item in result.content]
    data = base64.b64decode(images[0].data)
    assert len(data) <= MAX_BYTES and images[0].mime_type in ("image/png", "image/jpeg")
    assert result.structured_content["image_bytes"] == len(data)
    return Image.open(io.BytesIO(data))


RED, BLUE = (220, 30, 30), (30, 30, 220)


async def test_preview_storyboard_offline_shows_the_pictures_in_order(settings: Settings, tmp_path: Path) -> None:
    photos = [photo(tmp_path / "red.png", RED), photo(tmp_path / "blue.png", BLUE)]
    async with Client(build_app(settings.model_copy(update={"backend": "local"}))) as client:
        empty = await client.call_tool("preview_storyboard", {})
        await client.call_tool("upload_images", {"paths": photos})
        await client.call_tool("generate_video", {"instruction": 'a 6-second video titled "Two Colours"'})
        result = await client.call_tool("preview_storyboard", {})
    assert empty.is_error and "Next step: Call upload_images" in empty.content[0].text
    assert not result.is_error, result.content[0].text
    shots = result.structured_content["shots"]
    assert [(s["label"], s["start_s"], s["end_s"]) for s in shots] == [("red.png", 0, 3), ("blue.png", 3, 6)]
    assert shots[0]["captions"] == ["Two Colours"] and {s["picture"] for s in shots} == {"file on this machine"}
    assert "1. 0-3s red.png · 2. 3-6s blue.png" in result.content[0].text
    sheet = sheet_of(result)
    assert centre_x(sheet, RED) < centre_x(sheet, BLUE)


async def test_a_cloud_storyboard_uses_kept_uploads_then_the_cdn_and_says_what_is_missing(
    settings: Settings, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    login(httpx_mock)
    kept, gone = photo(tmp_path / "kept.png", RED), photo(tmp_path / "gone.png", BLUE)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/upload-video/nemo_agent/me/{SID}",
        json={
            "code": 0,
            "data": {
                "files": [
                    {"filename": "kept.png", "file_type": "image", "cdn_url": "https://cdn.test/kept.png"},
                    {"filename": "gone.png", "file_type": "image", "cdn_url": "https://cdn.test/gone.png"},
                ]
            },
        },
    )
    segments = [
        {"d": 2000, "src": "https://cdn.test/kept.png", "m": {"name": "kept.png"}},
        {"d": 2000, "src": "https://cdn.test/gone.png", "m": {"name": "gone.png"}},
        {"d": 2000, "src": "https://cdn.test/lost.png", "m": {"name": "lost.png"}},
        {"d": 5000, "src": "https://cdn.test/generated/gen_1.mp4", "m": {"name": "generated clip"}},
    ]
    draft = {"t": [{"tt": 0, "sg": segments}, {"tt": 7, "sg": [{"d": 2000, "m": {"text": "Hi"}}]}]}
    httpx_mock.add_response(**state(draft))
    blue = io.BytesIO()
    Image.open(gone).save(blue, format="PNG")
    httpx_mock.add_response(url="https://cdn.test/gone.png", content=blue.getvalue())
    httpx_mock.add_response(url="https://cdn.test/lost.png", status_code=404)
    async with Client(build_app(settings)) as client:
        assert not (await client.call_tool("upload_images", {"paths": [kept, gone]})).is_error
        Path(gone).unlink()  # only the CDN has it now
        result = await client.call_tool("preview_storyboard", {})
    assert not result.is_error, result.content[0].text
    shots = result.structured_content["shots"]
    assert [(s["picture"], s["missing"]) for s in shots] == [
        ("uploaded file kept here", None),
        ("CDN", None),
        (None, "the CDN answered 404"),
        (None, "a video clip: no still of it is made here"),
    ]
    assert [(s["start_s"], s["end_s"]) for s in shots] == [(0, 2), (2, 4), (4, 6), (6, 11)]
    assert shots[0]["captions"] == ["Hi"]
    assert "No picture for shot 3 (the CDN answered 404); shot 4 (a video clip" in result.content[0].text
    sheet = sheet_of(result)
    assert centre_x(sheet, RED) < centre_x(sheet, BLUE)
    assert not [r for r in httpx_mock.get_requests() if r.url.host == "cdn.test" and "kept" in r.url.path]


def test_chinese_labels_are_drawn_with_a_cjk_font(fonts_loaded) -> None:  # noqa: F811
    latin, cjk, loaded = fonts_loaded
    draw_storyboard(["Storyboard"], [Panel(1, 0, 2, "山上的一天", (), None, "no picture")], 16 / 9)
    assert loaded and set(loaded) == {cjk}
    loaded.clear()
    draw_storyboard(["Storyboard"], [Panel(1, 0, 2, "Alps", (), None, "no picture")], 16 / 9)
    assert loaded and set(loaded) == {latin}
