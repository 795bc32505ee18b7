"""Colour looks as ffmpeg filters that work on the yuv420p frames as they are (no conversion to RGB).

Black-and-white drops the chroma; sepia drops it and sets one warm brown tint; warm and cool shift every
pixel's chroma toward red-orange or blue. Each is a lookup table per plane (`lutyuv`) or `hue`, a few
milliseconds a 1080p frame, and both take `enable`, so a look can cover one photo's frames only.
"""

from __future__ import annotations

LOOK_FILTERS: dict[str, tuple[str, ...]] = {
    "none": (),
    "bw": ("hue=s=0",),
    "sepia": ("hue=s=0", "lutyuv=u=108:v=148"),
    "warm": ("lutyuv=u='clip(val-12,16,240)':v='clip(val+10,16,240)'",),
    "cool": ("lutyuv=u='clip(val+12,16,240)':v='clip(val-10,16,240)'",),
}
"""Sepia's chroma (108, 148) is a light brown (about RGB 1.25 : 1 : 0.75 on mid grey)."""


def look_filters(look: str, frames: tuple[int, int] | None = None) -> list[str]:
    """The filters drawing `look`; with `frames` (first, end), only on the frames first..end-1."""
    filters = LOOK_FILTERS.get(look, ())
    if frames is None:
        return list(filters)
    first, end = frames
    return [f"{name}:enable='between(n,{first},{end - 1})'" for name in filters]
