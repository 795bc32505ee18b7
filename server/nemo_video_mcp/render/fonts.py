"""Fonts and line wrapping for the text Pillow draws: the cards ffmpeg overlays (`text`) and the storyboard.

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
from pathlib import Path

from PIL import ImageFont

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


def font_of_size(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The machine's bold sans at `size` pixels, else Pillow's built-in scalable font."""
    path = find_font()
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def text_width(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> int:
    left, _, right, _ = font.getbbox(text, stroke_width=0)
    return int(right - left)


def wrap_lines(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int) -> list[str]:
    """`text` in lines no wider than `max_width`: broken between words, and inside a word that is wider
    on its own (a long name, or Chinese and Japanese, written without spaces)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if line and text_width(font, candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
            while len(line) > 1 and text_width(font, line) > max_width:  # one word wider than a line
                cut = next((i for i in range(len(line) - 1, 1, -1) if text_width(font, line[:i]) <= max_width), 1)
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return [line for line in lines if line] or [text.strip() or " "]
