"""Fonts and line wrapping for the text Pillow draws: the cards ffmpeg overlays (`text`) and the storyboard.

Why not ffmpeg's drawtext: it needs a font file path and an escaping dance for quotes, colons and
percent signs in user text. Pillow takes the text as is, uses a TrueType font when the machine has
one (DejaVu, Liberation, Arial, matplotlib's bundled DejaVu...; for Chinese, Japanese or Korean text
a CJK font: Noto Sans CJK, Source Han Sans, WenQuanYi, Microsoft YaHei, PingFang), and otherwise its
own built-in scalable font (`ImageFont.load_default(size=...)`, Pillow >= 10.1), so a title always
renders.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from PIL import ImageFont

log = logging.getLogger(__name__)

CJK_FONT_NAMES = (
    "NotoSansCJK-Bold.ttc",
    "NotoSansCJKsc-Bold.otf",
    "NotoSansSC-Bold.otf",
    "NotoSansSC-Bold.ttf",
    "SourceHanSans-Bold.ttc",
    "SourceHanSansSC-Bold.otf",
    "msyhbd.ttc",  # Microsoft YaHei Bold
    "wqy-zenhei.ttc",
    "wqy-microhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSansSC-Regular.otf",
    "msyh.ttc",
    "PingFang.ttc",
    "Hiragino Sans GB.ttc",
)
"""Fonts with Chinese (and Japanese and Korean) glyphs, bold first: Noto Sans CJK and Source Han Sans
(Linux, Adobe), Microsoft YaHei (Windows), WenQuanYi (Linux), PingFang (macOS)."""
_CJK = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]")
"""Hangul jamo, CJK radicals to unified ideographs (with kana and CJK punctuation), Hangul syllables,
compatibility ideographs, full-width forms, and the supplementary ideograph planes."""

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


def needs_cjk(text: str) -> bool:
    """Whether `text` has characters a Latin font draws as empty boxes (Chinese, Japanese, Korean)."""
    return _CJK.search(text) is not None


@functools.lru_cache(maxsize=2)
def find_font(cjk: bool = False) -> Path | None:
    """A bold sans TrueType font on this machine, or None (the built-in font is used then); with `cjk`,
    one that draws Chinese, Japanese and Korean first (a log line says when there is none)."""
    dirs = [Path(d).expanduser() for d in _FONT_DIRS]
    mpl = importlib.util.find_spec("matplotlib")
    if mpl and mpl.origin:
        dirs.append(Path(mpl.origin).parent / "mpl-data" / "fonts" / "ttf")
    windir = os.environ.get("WINDIR")
    if windir and sys.platform == "win32":
        dirs.append(Path(windir) / "Fonts")
    return font_in(dirs, cjk)


def font_in(dirs: Sequence[Path], cjk: bool = False) -> Path | None:
    """The first of the known fonts (`CJK_FONT_NAMES` first when `cjk`) found in `dirs` or below them."""
    existing = [d for d in dirs if d.is_dir()]
    if cjk:
        found = _first_font(CJK_FONT_NAMES, existing)
        if found:
            return found
        log.warning(
            "no font for Chinese, Japanese or Korean text was found (Noto Sans CJK, Source Han Sans, "
            "WenQuanYi, Microsoft YaHei, PingFang): such text will show as empty boxes; install one, "
            "e.g. fonts-noto-cjk"
        )
    return _first_font(_FONT_NAMES, existing)


def _first_font(names: Sequence[str], dirs: Sequence[Path]) -> Path | None:
    for name in names:
        for directory in dirs:
            direct = directory / name
            if direct.is_file():
                return direct
            found = next(directory.rglob(name), None)
            if found:
                return found
    return None


def font_of_size(size: int, text: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The machine's bold sans at `size` pixels, one that draws `text` if it has CJK characters, else
    Pillow's built-in scalable font."""
    path = find_font(needs_cjk(text))
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
