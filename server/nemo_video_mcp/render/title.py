"""The title card: text drawn by Pillow onto a transparent PNG that ffmpeg overlays.

Why not ffmpeg's drawtext: it needs a font file path and an escaping dance for quotes, colons and
percent signs in user text. Pillow takes the text as is, uses a TrueType font when the machine has
one (DejaVu, Liberation, Arial, matplotlib's bundled DejaVu...), and otherwise its own built-in
scalable font (`ImageFont.load_default(size=...)`, Pillow >= 10.1), so a title always renders.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

_FONT_NAMES = (
    "DejaVuSans-Bold.ttf",
    "LiberationSans-Bold.ttf",
    "NotoSans-Bold.ttf",
    "Arial Bold.ttf",
    "arialbd.ttf",
    "Roboto-Bold.ttf",
    "FreeSansBold.ttf",
    "DejaVuSans.ttf",
    "Arial.ttf",
    "arial.ttf",
)
_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "~/Library/Fonts",
    "C:/Windows/Fonts",
)
HEIGHT_SHARE = 0.085
"""Font size as a share of the frame's shorter side."""
WIDTH_SHARE = 0.86
"""The title may use this share of the frame width."""
CENTER_Y = 0.78
"""Vertical centre of the title, as a share of the frame height (the lower third)."""


@dataclass(frozen=True)
class TitleCard:
    """A rendered title and where its top-left corner goes on the frame."""

    path: Path
    x: int
    y: int
    width: int
    height: int


@functools.lru_cache(maxsize=1)
def find_font() -> Path | None:
    """A bold sans TrueType font on this machine, or None (the built-in font is used then)."""
    dirs = [Path(d).expanduser() for d in _FONT_DIRS]
    mpl = importlib.util.find_spec("matplotlib")
    if mpl and mpl.origin:
        dirs.append(Path(mpl.origin).parent / "mpl-data" / "fonts" / "ttf")
    windir = os.environ.get("WINDIR")
    if windir and sys.platform == "win32":
        dirs.append(Path(windir) / "Fonts")
    existing = [d for d in dirs if d.is_dir()]
    for name in _FONT_NAMES:
        for directory in existing:
            direct = directory / name
            if direct.is_file():
                return direct
            found = next(directory.rglob(name), None)
            if found:
                return found
    return None


def render_title(text: str, frame: tuple[int, int], target: Path) -> TitleCard:
    """Draw `text` (wrapped and shrunk to fit) with an outline and shadow; save it as RGBA PNG."""
    width, height = frame
    size = max(12, round(min(width, height) * HEIGHT_SHARE))
    max_width = round(width * WIDTH_SHARE)
    while True:
        font = _font(size)
        lines = _wrap(text, font, max_width)
        widest = max(_text_width(font, line) for line in lines)
        if (widest <= max_width and len(lines) <= 3) or size <= 12:
            break
        size = max(12, round(size * 0.85))
    stroke = max(1, size // 16)
    line_height = round(size * 1.2)
    pad = stroke * 2 + size // 8
    card_w = min(width, widest + 2 * pad)
    card_h = min(height, line_height * len(lines) + 2 * pad)
    card = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    for row, line in enumerate(lines):
        x = (card_w - _text_width(font, line)) // 2
        y = pad + row * line_height
        shadow = max(1, size // 20)
        draw.text((x + shadow, y + shadow), line, font=font, fill=(0, 0, 0, 140))
        draw.text((x, y), line, font=font, fill=(255, 255, 255, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 220))
    card.save(target, format="PNG")
    x = (width - card_w) // 2
    y = min(height - card_h, max(0, round(height * CENTER_Y - card_h / 2)))
    return TitleCard(path=target, x=x, y=y, width=card_w, height=card_h)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = find_font()
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _text_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text, stroke_width=0)
    return int(right - left)


def _wrap(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and _text_width(font, candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return [line for line in lines if line] or [text.strip() or " "]
