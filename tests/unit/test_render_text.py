"""Text overlays: drawn legibly inside the safe area, and shown on the frames of their range only."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from nemo_video_mcp.render import fonts
from nemo_video_mcp.render.fonts import font_of_size, text_width, wrap_lines
from nemo_video_mcp.render.plan import FRAME_SIZES, PlannedText, build_plan
from nemo_video_mcp.render.slideshow import render_slideshow
from nemo_video_mcp.render.text import ANCHORS, SAFE_MARGINS, draw_text_card, safe_box

from .small_frames import flat_image, rgb_frames, shrink_frames


def _text(text: str, role: str = "caption", position: str = "bottom", start: int = 0, frames: int = 30) -> PlannedText:
    return PlannedText(text=text, role=role, position=position, start_frame=start, frames=frames)  # type: ignore[arg-type]


@pytest.mark.parametrize("aspect", ["16:9", "9:16", "1:1"])
@pytest.mark.parametrize("position", ["top", "center", "bottom"])
@pytest.mark.parametrize("words", ["Alps", "Grandma's garden in the summer of nineteen eighty-four, before the storm"])
def test_a_card_sits_inside_the_safe_area(tmp_path, aspect, position, words):
    frame = FRAME_SIZES[aspect]
    card = draw_text_card(_text(words, position=position), frame, aspect, tmp_path / "card.png")
    left, top, right, bottom = safe_box(frame, aspect)
    assert top <= card.y and card.y + card.height <= bottom
    assert left - 24 <= card.x and card.x + card.width <= right + 24  # the pad around the text may pass the edge
    assert card.x % 2 == card.y % 2 == card.width % 2 == card.height % 2 == 0  # whole chroma samples
    with Image.open(card.path) as image:
        assert image.mode == "RGBA" and image.size == (card.width, card.height)


def test_9_16_keeps_clear_of_the_apps_buttons_and_captions():
    left, top, right, bottom = SAFE_MARGINS["9:16"]
    assert bottom >= 0.2 and top >= 0.1 and left == right
    assert safe_box((1080, 1920), "9:16") == (86, 192, 994, 1536)


def test_positions_go_down_the_frame(tmp_path):
    ys = [
        draw_text_card(_text("Day 1", position=p), (1080, 1920), "9:16", tmp_path / f"{p}.png").y
        for p in ("top", "center", "bottom")
    ]
    assert ys == sorted(ys) and ys[0] < 1920 * 0.3 and ys[2] > 1920 * 0.6
    assert list(ANCHORS) == ["top", "center", "bottom"]


def test_size_follows_the_frame_and_the_role(tmp_path):
    def height(role: str, frame: tuple[int, int], aspect: str) -> int:
        return draw_text_card(_text("Alps", role=role), frame, aspect, tmp_path / "c.png").height

    assert height("caption", (1920, 1080), "16:9") == pytest.approx(2 * height("caption", (960, 540), "16:9"), abs=6)
    assert height("caption", (1920, 1080), "16:9") < height("title", (1920, 1080), "16:9")
    assert height("title", (1920, 1080), "16:9") < height("end_card", (1920, 1080), "16:9")
    assert 0.08 < height("title", (1920, 1080), "16:9") / 1080 < 0.2


def test_long_text_wraps_shrinks_a_little_and_is_cut_short_past_half_the_safe_height(tmp_path):
    frame, (left, top, right, bottom) = (1080, 1920), safe_box((1080, 1920), "9:16")
    one_line = draw_text_card(_text("mountain", role="title"), frame, "9:16", tmp_path / "a.png")
    five_words = draw_text_card(_text(" ".join(["mountain"] * 5), role="title"), frame, "9:16", tmp_path / "b.png")
    endless = draw_text_card(_text(" ".join(["mountain"] * 60), role="title"), frame, "9:16", tmp_path / "c.png")
    assert 1.5 * one_line.height < five_words.height < 3 * one_line.height  # two or three lines
    assert five_words.width <= right - left + 60
    assert 4 * one_line.height < endless.height <= (bottom - top) / 2 + 60  # smaller, many lines, then cut


def test_a_word_wider_than_the_frame_is_broken_inside():
    font = font_of_size(40)
    lines = wrap_lines("Supercalifragilisticexpialidocious in Montreux", font, 200)
    assert len(lines) >= 3 and all(text_width(font, line) <= 200 for line in lines)
    assert "".join(lines).replace(" ", "") == "SupercalifragilisticexpialidociousinMontreux"


def test_white_text_has_a_dark_outline(tmp_path):
    card = draw_text_card(_text("HI", role="title"), (1920, 1080), "16:9", tmp_path / "c.png")
    with Image.open(card.path) as image:
        pixels = list(image.convert("RGBA").get_flattened_data())
    white = sum(1 for r, g, b, a in pixels if a > 250 and min(r, g, b) > 250)
    dark = sum(1 for r, g, b, a in pixels if a > 200 and max(r, g, b) < 40)  # the outline, not the shadow
    clear = sum(1 for *_, a in pixels if a == 0)
    assert white > 500 and dark > 0.2 * white and clear > 0.2 * len(pixels)


# --- Rendered: the text's pixels where and when it is shown -------------------------------------------


def _white_box(frame: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of near-white pixels (the photos here are dark flat colours)."""
    mask = frame.convert("L").point(lambda v: 255 if v > 200 else 0)
    return mask.getbbox()


@pytest.mark.parametrize("motion", ["static", "kenburns"])
async def test_a_caption_and_an_end_card_show_only_in_their_ranges_and_places(tmp_path, monkeypatch, motion):
    size = shrink_frames(monkeypatch, 0.2)["9:16"]
    assert size == (216, 384)
    colors = ("darkred", "darkgreen", "navy")
    images = [flat_image(tmp_path / f"{i}.png", (300, 200), c) for i, c in enumerate(colors)]
    plan = build_plan(range(3), duration_s=3.0, aspect="9:16", motion=motion, transition="none").with_images(images)
    caption = _text("Day 1", start=30, frames=30)  # the second photo
    end_card = _text("Thanks", role="end_card", position="center", start=70, frames=20)
    plan = plan.model_copy(update={"texts": [caption, end_card]})
    path = tmp_path / "texts.mp4"
    await render_slideshow(plan, path)
    frames = rgb_frames(path, size)
    assert len(frames) == 90

    left, top, right, bottom = safe_box(size, "9:16")
    for n in [*range(0, 30), *range(60, 70)]:
        assert _white_box(frames[n]) is None, n
    for n in range(40, 51):
        box = _white_box(frames[n])
        assert box is not None, n
        assert top <= box[1] and box[3] <= bottom and box[1] > size[1] * 0.55, (n, box)  # the lower third
        assert left <= box[0] and box[2] <= right
    for n in range(78, 84):
        box = _white_box(frames[n])
        assert box is not None, n
        assert box[1] < size[1] / 2 < box[3], (n, box)  # across the middle


# --- Chinese, Japanese and Korean text get a font that has their glyphs --------------------------------


@pytest.mark.parametrize(
    ("text", "cjk"),
    [("Alps", False), ("Café “Sommer”", False), ("标题", True), ("Day 1 在山上", True), ("こんにちは", True),
     ("한국", True), ("ＡＢＣ", True), ("𠀋", True)],
)  # fmt: skip
def test_cjk_text_is_told_apart(text, cjk):
    assert fonts.needs_cjk(text) is cjk


@pytest.fixture
def font_folder(tmp_path):
    """A folder with a Latin bold font and, deeper, a fake CJK one (the same font file under a CJK font's name)."""
    real = fonts.find_font()
    if real is None:
        pytest.skip("no TrueType font on this machine to copy")
    (tmp_path / "latin").mkdir()
    (tmp_path / "cjk" / "noto").mkdir(parents=True)
    latin = tmp_path / "latin" / "DejaVuSans-Bold.ttf"
    cjk = tmp_path / "cjk" / "noto" / "NotoSansCJK-Bold.ttc"
    latin.write_bytes(real.read_bytes())
    cjk.write_bytes(real.read_bytes())
    return tmp_path, latin, cjk


def test_a_cjk_font_is_preferred_for_cjk_text_only(font_folder, caplog):
    folder, latin, cjk = font_folder
    assert fonts.font_in([folder], cjk=True) == cjk
    assert fonts.font_in([folder], cjk=False) == latin
    cjk.unlink()
    with caplog.at_level(logging.WARNING, logger=fonts.__name__):
        assert fonts.font_in([folder], cjk=True) == latin  # none here: the Latin font, and a log line says so
    assert "no font for Chinese, Japanese or Korean text" in caplog.text


@pytest.fixture
def fonts_loaded(font_folder, monkeypatch):
    """Only `font_folder`'s fonts are found; (latin, cjk, the font files loaded, in order)."""
    folder, latin, cjk = font_folder
    monkeypatch.setattr(fonts, "_FONT_DIRS", (str(folder),))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)  # no matplotlib fonts
    fonts.find_font.cache_clear()
    loaded: list[Path] = []
    truetype = ImageFont.truetype
    monkeypatch.setattr(ImageFont, "truetype", lambda path, size: loaded.append(Path(path)) or truetype(path, size))
    yield latin, cjk, loaded
    fonts.find_font.cache_clear()


def test_a_card_of_chinese_text_is_drawn_with_the_cjk_font(fonts_loaded, tmp_path):
    latin, cjk, loaded = fonts_loaded
    draw_text_card(_text("山上的一天"), (1920, 1080), "16:9", tmp_path / "zh.png")
    assert loaded and set(loaded) == {cjk}
    loaded.clear()
    draw_text_card(_text("Alps"), (1920, 1080), "16:9", tmp_path / "en.png")
    assert loaded and set(loaded) == {latin}
