"""The timeline's pictures in order: each visual segment with its time range, label, source and the text over it.

Read through the one draft reader (`draft_view`), as `draft.py` reads it, so the time ranges agree
with the timeline summary: visual segments are those of Video tracks (`tt` 0),
text segments those of Title tracks (`tt` 7). Pure; nothing is fetched or opened here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nemo_video_mcp.draft import TRACK_KINDS, shortened
from nemo_video_mcp.draft_view import SegmentView, TrackView, read_draft

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
    """The Video tracks' segments in time order, each with the text tracks' texts shown while it plays."""
    spans: list[tuple[float, float, SegmentView]] = []
    texts: list[tuple[float, float, str]] = []
    for track in read_draft(draft).tracks:
        kind = TRACK_KINDS.get(track.type) if track.type is not None else None
        if kind == "Video":
            spans += _spans(track)
        elif kind == "Title":
            texts += [
                (start, end, shortened(segment.text, MAX_CAPTION_CHARS))
                for start, end, segment in _spans(track)
                if segment.text
            ]
    spans.sort(key=lambda span: span[0])
    return [
        Shot(
            index=index,
            start_s=start / 1000,
            end_s=end / 1000,
            label=shortened(segment.label, None) if segment.label else f"clip {index}",
            source=segment.src,
            captions=tuple(text for t_start, t_end, text in texts if t_start < max(end, start + 1) and t_end > start),
        )
        for index, (start, end, segment) in enumerate(spans, start=1)
    ]


def _spans(track: TrackView) -> list[tuple[float, float, SegmentView]]:
    """(start ms, end ms, segment) of each segment; without a start, segments follow one another from 0."""
    cursor, spans = 0.0, []
    for segment in track.segments:
        duration = max(0.0, segment.duration_ms or 0.0)
        start = cursor if segment.start_ms is None else segment.start_ms
        spans.append((start, start + duration, segment))
        cursor = start + duration
    return spans
