"""The timeline's pictures in order: each visual segment with its time range, label, source and the text over it.

Read from the draft as tolerantly as `draft.py` reads it (the same keys and the same readers, so the
time ranges agree with the timeline summary): visual segments are those of Video tracks (`tt` 0),
text segments those of Title tracks (`tt` 7). Pure; nothing is fetched or opened here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nemo_video_mcp.draft import (
    DURATION_KEYS,
    START_KEYS,
    TRACK_KINDS,
    _first_number,
    _label,
    _meta,
    _number,
    _segments,
    _time_range,
    _tracks,
)

SOURCE_KEYS = ("src", "url", "source")
"""Where a segment's picture is, read from the segment, then its `m`."""
MAX_CAPTION_CHARS = 120


@dataclass(frozen=True)
class Shot:
    """One visual segment of the timeline."""

    index: int
    start_s: float
    end_s: float
    label: str
    source: str | None
    captions: tuple[str, ...]


def shots_of(draft: Mapping[str, Any]) -> list[Shot]:
    """The Video tracks' segments in time order, each with the Title tracks' texts shown while it plays."""
    spans: list[tuple[float, float, Mapping[str, Any]]] = []
    texts: list[tuple[float, float, str]] = []
    for track in _tracks(draft):
        kind = TRACK_KINDS.get(int(number)) if (number := _number(track.get("tt"))) is not None else None
        if kind == "Video":
            spans += _spans(track)
        elif kind == "Title":
            texts += [(start, end, text) for start, end, segment in _spans(track) if (text := _text(segment))]
    spans.sort(key=lambda span: span[0])
    return [
        Shot(
            index=index,
            start_s=start / 1000,
            end_s=end / 1000,
            label=_label(_meta(segment), segment) or f"clip {index}",
            source=_source(segment),
            captions=tuple(text for t_start, t_end, text in texts if t_start < max(end, start + 1) and t_end > start),
        )
        for index, (start, end, segment) in enumerate(spans, start=1)
    ]


def _spans(track: Mapping[str, Any]) -> list[tuple[float, float, Mapping[str, Any]]]:
    """(start ms, end ms, segment) of each segment; without a start, segments follow one another from 0."""
    cursor, spans = 0.0, []
    for segment in _segments(track):
        start = _first_number(START_KEYS, segment, _meta(segment), _time_range(segment))
        duration = _first_number(DURATION_KEYS, segment, _time_range(segment)) or 0.0
        start = cursor if start is None else start
        spans.append((start, start + max(0.0, duration), segment))
        cursor = start + max(0.0, duration)
    return spans


def _text(segment: Mapping[str, Any]) -> str | None:
    for source in (_meta(segment), segment):
        value = source.get("text")
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= MAX_CAPTION_CHARS else text[: MAX_CAPTION_CHARS - 1] + "…"
    return None


def _source(segment: Mapping[str, Any]) -> str | None:
    for source in (segment, _meta(segment)):
        for key in SOURCE_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None
