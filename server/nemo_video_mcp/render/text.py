"""Text overlays: a title, a caption over a photo, an end card, each drawn once as a transparent PNG.

Each overlay is a text segment with a time range in frames (`plan.PlannedText`, read here through
`TextSegment` so that this module needs no pydantic). Pillow draws it (see
`title` for why not ffmpeg's drawtext) at a size relative to the frame, white with a dark outline and
a soft shadow so it reads on any photo, inside the frame's safe area (`SAFE_MARGINS`: a vertical video's
top and bottom are covered by the apps' buttons and captions). ffmpeg overlays the card on the frames
of its range only, fading it in and out (`graph.build_filtergraph`).

Drawn in the server (a thread) rather than in the preparing child: a card is a few hundred kilobytes,
no photo is decoded, and Pillow is loaded here for the storyboard already.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from nemo_video_mcp.render.fonts import font_of_size, text_width, wrap_lines

TextRole = Literal["title", "caption", "end_card"]
TextPosition = Literal["top", "center", "bottom"]

SAFE_MARGINS: dict[str, tuple[float, float, float, float]] = {
    "16:9": (0.05, 0.06, 0.05, 0.06),
    "1:1": (0.06, 0.06, 0.06, 0.06),
    "9:16": (0.08, 0.10, 0.08, 0.20),
}
"""Left, top, right, bottom margins as shares of the frame. 16:9 and 1:1 keep broadcast's title-safe
area; 9:16 keeps clear of the top bar and of the caption, buttons and description at the bottom that
TikTok, Reels and Shorts lay over the video (their guides leave 20-25 % at the bottom)."""
ANCHORS: dict[TextPosition, float] = {"top": 0.22, "center": 0.5, "bottom": 0.78}
"""Where a card's centre goes, as a share of the frame height, before it is kept inside the safe area:
the upper third, the middle, the lower third."""
MIN_FONT_PX = 12
MAX_LINES = 3
"""A longer text is drawn smaller, down to `SMALLEST_SHARE` of its size; then in more lines, up to half
the safe height, the last one cut short with an ellipsis."""
SMALLEST_SHARE = 0.6
WHITE, OUTLINE = (255, 255, 255, 255), (0, 0, 0, 230)


SIZE_SHARES: dict[TextRole, float] = {"title": 0.085, "caption": 0.06, "end_card": 0.09}
"""Font size of each kind of overlay, as a share of the frame's shorter side."""


class TextSegment(Protocol):
    """A text overlay as the plan has it (`plan.PlannedText`)."""

    @property
    def text(self) -> str: ...
    @property
    def role(self) -> TextRole: ...
    @property
    def position(self) -> TextPosition: ...
    @property
    def start_frame(self) -> int: ...
    @property
    def frames(self) -> int: ...


@dataclass(frozen=True)
class TextCard:
    """A drawn overlay: its PNG, where its top-left corner goes on the frame, and when it is shown."""

    path: Path
    x: int
    y: int
    width: int
    height: int
    start_frame: int
    frames: int


def safe_box(frame: tuple[int, int], aspect: str) -> tuple[int, int, int, int]:
    """The frame's safe area in pixels: left, top, right, bottom."""
    width, height = frame
    left, top, right, bottom = SAFE_MARGINS.get(aspect, SAFE_MARGINS["16:9"])
    return round(width * left), round(height * top), round(width * (1 - right)), round(height * (1 - bottom))


def draw_text_cards(
    overlays: Sequence[TextSegment], frame: tuple[int, int], aspect: str, folder: Path
) -> list[TextCard]:
    """Draw each overlay as `folder/text-NNN.png`, in order."""
    return [draw_text_card(overlay, frame, aspect, folder / f"text-{i:03d}.png") for i, overlay in enumerate(overlays)]


def draw_text_card(overlay: TextSegment, frame: tuple[int, int], aspect: str, target: Path) -> TextCard:
    """Draw `overlay` (wrapped, shrunk until it fits the safe width in `MAX_LINES`) with an outline and a
    soft shadow; save it as an RGBA PNG sized to the text and place it inside the safe area."""
    left, top, right, bottom = safe_box(frame, aspect)
    max_width = right - left
    wanted = round(min(frame) * SIZE_SHARES[overlay.role])
    smallest = max(MIN_FONT_PX, round(wanted * SMALLEST_SHARE))
    size = max(smallest, wanted)
    while True:
        font = font_of_size(size, overlay.text)
        lines = wrap_lines(overlay.text, font, max_width)
        if len(lines) <= MAX_LINES or size <= smallest:
            break
        size = max(smallest, round(size * 0.85))
    line_height = round(size * 1.2)
    rows = max(1, (bottom - top) // 2 // line_height)
    if len(lines) > rows:
        lines = [*lines[: rows - 1], _ellipsized(lines[rows - 1], font, max_width)]
    widest = max(text_width(font, line) for line in lines)
    stroke = max(1, round(size / 14))
    shadow = max(1, round(size / 16))
    pad = stroke + 2 * shadow + size // 8
    card_w = min(frame[0], widest + 2 * pad) // 2 * 2
    card_h = min(frame[1], line_height * len(lines) + 2 * pad) // 2 * 2
    shade = Image.new("L", (card_w, card_h), 0)
    ink = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
    shade_draw, ink_draw = ImageDraw.Draw(shade), ImageDraw.Draw(ink)
    for row, line in enumerate(lines):
        x = (card_w - text_width(font, line)) // 2
        y = pad + row * line_height
        shade_draw.text((x + shadow, y + shadow), line, font=font, fill=170, stroke_width=stroke, stroke_fill=170)
        ink_draw.text((x, y), line, font=font, fill=WHITE, stroke_width=stroke, stroke_fill=OUTLINE)
    card = Image.new("RGBA", (card_w, card_h), (0, 0, 0, 0))
    card.putalpha(shade.filter(ImageFilter.GaussianBlur(shadow)))
    card.alpha_composite(ink)
    card.save(target, format="PNG")
    anchor = ANCHORS[overlay.position]
    x = (frame[0] - card_w) // 2 // 2 * 2
    y = round(frame[1] * anchor - card_h / 2)
    y = max(top, min(bottom - card_h, y)) if card_h <= bottom - top else (frame[1] - card_h) // 2
    return TextCard(target, x, max(0, y) // 2 * 2, card_w, card_h, overlay.start_frame, overlay.frames)


def _ellipsized(line: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int) -> str:
    """`line` ending in an ellipsis, shortened until it fits."""
    while line and text_width(font, line.rstrip() + "…") > max_width:
        line = line[:-1]
    return line.rstrip() + "…"
