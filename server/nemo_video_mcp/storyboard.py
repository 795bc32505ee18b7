"""The contact sheet: the timeline's pictures in order, each with its time range and the text over it.

Drawn by Pillow with the text cards' font (`render.fonts`: a TrueType font of this machine, else
Pillow's built-in one). The sheet is a PNG when one of at most `MAX_BYTES` can be made (full colour, then 256
colours), else a JPEG, made smaller until it fits: hosts and models take images of a few hundred KB.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from nemo_video_mcp.draft import format_seconds
from nemo_video_mcp.render.fonts import font_of_size

MAX_BYTES = 200 * 1024
JPEG_QUALITY = 80
COLUMNS = 4
THUMB_WIDTH = 260
"""A horizontal or square picture's width on the sheet; a vertical one is `THUMB_HEIGHT` high."""
THUMB_HEIGHT = 300
MARGIN = 16
TEXT_SIZE = 15
HEADING_SIZE = 19
CAPTION_LINES = 2
BACKGROUND = (24, 24, 28)
CARD = (40, 40, 46)
EMPTY = (64, 64, 72)
TEXT = (235, 235, 240)
DIM = (170, 170, 180)
ACCENT = (255, 204, 80)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Panel:
    """One shot as drawn: its picture (None: the reason is written in its place) and its lines of text."""

    number: int
    start_s: float
    end_s: float
    label: str
    captions: tuple[str, ...]
    picture: Image.Image | None
    missing: str | None = None


@dataclass(frozen=True)
class Sheet:
    data: bytes
    mime_type: str
    width: int
    height: int


def draw_storyboard(heading: Sequence[str], panels: Sequence[Panel], aspect: float, footer: str = "") -> Sheet:
    """The contact sheet of `panels` (in order) under the `heading` lines, for frames `aspect` (width/height) wide."""
    thumb_w, thumb_h = _thumb_size(aspect)
    shown = " ".join([*heading, footer, *(panel.label for panel in panels), *(c for p in panels for c in p.captions)])
    text_font, heading_font = font_of_size(TEXT_SIZE, shown), font_of_size(HEADING_SIZE, shown)  # CJK: a CJK font
    line_h = round(TEXT_SIZE * 1.35)
    columns = max(1, min(COLUMNS, len(panels)))
    rows = max(1, -(-len(panels) // columns))
    cell_w, cell_h = thumb_w + 2 * 8, thumb_h + 8 + line_h * (2 + CAPTION_LINES) + 8
    width = max(columns * (cell_w + MARGIN) + MARGIN, 480)
    heading_lines = [line for text in heading for line in _wrap(text, heading_font, width - 2 * MARGIN)][:4]
    top = MARGIN + len(heading_lines) * round(HEADING_SIZE * 1.4) + MARGIN // 2
    footer_lines = _wrap(footer, text_font, width - 2 * MARGIN)[:3] if footer else []
    height = top + rows * (cell_h + MARGIN) + len(footer_lines) * line_h + MARGIN
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for row, line in enumerate(heading_lines):
        draw.text((MARGIN, MARGIN + row * round(HEADING_SIZE * 1.4)), line, font=heading_font, fill=TEXT)
    for position, panel in enumerate(panels):
        x = MARGIN + (position % columns) * (cell_w + MARGIN)
        y = top + (position // columns) * (cell_h + MARGIN)
        _draw_panel(sheet, draw, panel, (x, y, cell_w, cell_h), (thumb_w, thumb_h), text_font, line_h)
    for row, line in enumerate(footer_lines):
        draw.text((MARGIN, height - MARGIN - (len(footer_lines) - row) * line_h), line, font=text_font, fill=DIM)
    return _encode(sheet)


def _draw_panel(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    panel: Panel,
    box: tuple[int, int, int, int],
    thumb: tuple[int, int],
    font: Font,
    line_h: int,
) -> None:
    x, y, cell_w, cell_h = box
    thumb_w, thumb_h = thumb
    draw.rounded_rectangle((x, y, x + cell_w, y + cell_h), radius=6, fill=CARD)
    px, py = x + 8, y + 8
    if panel.picture is not None:
        picture = ImageOps.fit(panel.picture.convert("RGB"), (thumb_w, thumb_h), Image.Resampling.LANCZOS)
        sheet.paste(picture, (px, py))
    else:
        draw.rectangle((px, py, px + thumb_w, py + thumb_h), fill=EMPTY)
        for row, line in enumerate(_wrap(panel.missing or "no picture", font, thumb_w - 16)[:4]):
            draw.text((px + 8, py + 8 + row * line_h), line, font=font, fill=DIM)
    span = f"{panel.number}. {format_seconds(panel.start_s)}–{format_seconds(panel.end_s)} s"
    text_y = py + thumb_h + 6
    draw.text((px, text_y), span, font=font, fill=ACCENT)
    draw.text((px, text_y + line_h), _fit(panel.label, font, thumb_w), font=font, fill=DIM)
    captions = [line for caption in panel.captions for line in _wrap(f"“{caption}”", font, thumb_w)]
    if len(captions) > CAPTION_LINES:
        captions = [*captions[: CAPTION_LINES - 1], _fit(captions[CAPTION_LINES - 1] + " …", font, thumb_w)]
    for row, line in enumerate(captions):
        draw.text((px, text_y + (row + 2) * line_h), line, font=font, fill=TEXT)


def _thumb_size(aspect: float) -> tuple[int, int]:
    aspect = min(max(aspect, 0.4), 2.5)
    if aspect >= 1:
        return THUMB_WIDTH, round(THUMB_WIDTH / aspect)
    return round(THUMB_HEIGHT * aspect), THUMB_HEIGHT


def _encode(sheet: Image.Image) -> Sheet:
    """PNG if it fits (full colour, then 256 colours); else JPEG, scaled down by what the last try weighed."""
    data = _save(sheet, "PNG")
    if len(data) <= MAX_BYTES:
        return Sheet(data, "image/png", sheet.width, sheet.height)
    if len(data) <= 4 * MAX_BYTES:  # drawn panels, flat colours: 256 colours keep them sharp
        data = _save(sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT), "PNG")
        if len(data) <= MAX_BYTES:
            return Sheet(data, "image/png", sheet.width, sheet.height)
    image = sheet
    for _ in range(6):
        data = _save(image, "JPEG", quality=JPEG_QUALITY)
        if len(data) <= MAX_BYTES or image.width < 200:
            break
        scale = max(0.3, min(0.92, 0.95 * (MAX_BYTES / len(data)) ** 0.5))  # bytes grow with the area
        image = sheet.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    return Sheet(data, "image/jpeg", image.width, image.height)


def _save(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=kind, **options)
    return out.getvalue()


def _wrap(text: str, font: Font, max_width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and font.getlength(candidate) > max_width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return [_fit(line, font, max_width) for line in lines]


def _fit(text: str, font: Font, max_width: int) -> str:
    """`text`, cut with an ellipsis to `max_width` pixels."""
    if font.getlength(text) <= max_width:
        return text
    while text and font.getlength(text + "…") > max_width:
        text = text[:-1]
    return text + "…"
