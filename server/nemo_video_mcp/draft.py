"""The draft (the backend's timeline JSON): a one-line summary, per-track facts, and a diff of two drafts.

The draft stays opaque JSON; these functions read it through `draft_view.read_draft` (the one
reader, which says where labels, starts and volumes are looked for) and never change it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

from nemo_video_mcp.draft_view import DraftView, SegmentView, TrackView, read_draft

TrackKind = Literal["Video", "BGM", "Title", "Text", "Track"]

TRACK_KINDS: dict[int, TrackKind] = {0: "Video", 1: "BGM", 7: "Title"}
"""`tt` value -> kind shown to users; any other value is a plain "Track". A tt 7 track whose role is
caption or end card (the local engine's overlays) shows as "Text"."""

TEXT_KINDS: tuple[TrackKind, ...] = ("Title", "Text")

EMPTY_TIMELINE = "Timeline (0 tracks): empty"
UNTITLED = "untitled"
MAX_LABEL_CHARS = 60


class TrackSummary(BaseModel):
    """What one track holds, read from the draft."""

    index: int = Field(description="1-based position in the draft.")
    kind: TrackKind
    label: str = Field(description="The first labelled clip's label, else the track's, else \"untitled\".")
    start_s: float
    end_s: float
    volume_percent: int | None = Field(None, description="Audio (BGM) tracks only, when the draft says.")
    segment_count: int
    raw_type: int | str | None = Field(None, description="The track's `tt` value as sent.")

    def describe(self) -> str:
        """The track as the timeline summary shows it, without its number: `BGM: Lo-fi (0-10s, 35%)`.

        Several clips show as `photo 1 + 2 more`, or `3 clips` when none has a label.
        """
        if self.segment_count == 0:
            return f"{self.kind}: no clips"
        label = f'"{self.label}"' if self.kind in TEXT_KINDS and self.label != UNTITLED else self.label
        if self.segment_count > 1:
            more = self.segment_count - 1
            label = _count(self.segment_count, "clip") if self.label == UNTITLED else f"{label} + {more} more"
        volume = f", {self.volume_percent}%" if self.volume_percent is not None else ""
        return f"{self.kind}: {label} ({format_seconds(self.start_s)}-{format_seconds(self.end_s)}s{volume})"


class SegmentSpan(BaseModel):
    """One segment on the time axis."""

    start_s: float
    end_s: float
    label: str


class TrackLane(TrackSummary):
    """A track with its segments, for a timeline drawn to scale (at most `MAX_SEGMENTS_PER_LANE` of them)."""

    segments: list[SegmentSpan]


MAX_SEGMENTS_PER_LANE = 200
"""A lane lists this many segments at most (`segment_count` counts them all): a hostile draft has 100,000."""

Draft = Mapping[str, Any] | DraftView
"""A draft as sent, or already read (`read_draft`): a caller that asks several things reads it once."""


def _view(draft: Draft) -> DraftView:
    return draft if isinstance(draft, DraftView) else read_draft(draft)


def summarize_tracks(draft: Draft) -> list[TrackSummary]:
    """One `TrackSummary` per track (entries of `t` that are not objects are skipped)."""
    view = _view(draft)
    return [_summarize_track(track, view.duration_ms) for track in view.tracks]


def timeline_summary(draft: Draft, tracks: list[TrackSummary] | None = None) -> str:
    """The one-line summary users see, e.g.
    `Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)`.

    No tracks gives `Timeline (0 tracks): empty`. `tracks`: the draft's summarized tracks, if already made.
    """
    tracks = summarize_tracks(draft) if tracks is None else tracks
    if not tracks:
        return EMPTY_TIMELINE
    items = " ".join(f"{track.index}. {track.describe()}" for track in tracks)
    return f"Timeline ({_count(len(tracks), 'track')}): {items}"


def is_exportable(draft: Draft) -> bool:
    """True when at least one track has a segment: the backend refuses to render anything less."""
    if isinstance(draft, DraftView):
        return any(track.segments for track in draft.tracks)
    tracks = draft.get("t")  # asked before every export: no need to read 100,000 segments for it
    return isinstance(tracks, list) and any(
        isinstance(track, Mapping)
        and isinstance(track.get("sg"), list)
        and any(isinstance(segment, Mapping) for segment in track["sg"])
        for track in tracks
    )


def timeline_duration_s(draft: Draft) -> float:
    """The draft's `d`, or else the end of its last track, in seconds."""
    view = _view(draft)
    if view.duration_ms is not None:
        return view.duration_ms / 1000
    return max((track.end_s for track in summarize_tracks(view)), default=0.0)


def describe_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A short English account of what changed between two drafts, for edits that ended without text.

    Tracks are paired by kind and order (the first Video before with the first Video after, ...).
    """
    if draft_fingerprint(before) == draft_fingerprint(after):
        return "No change to the timeline."
    old_duration, new_duration = timeline_duration_s(before), timeline_duration_s(after)
    duration_changed = old_duration != new_duration
    added: list[str] = []
    removed: list[str] = []
    changed: list[str] = []
    old_tracks, new_tracks = summarize_tracks(before), summarize_tracks(after)
    for kind in dict.fromkeys(track.kind for track in [*old_tracks, *new_tracks]):
        old_of_kind = [track for track in old_tracks if track.kind == kind]
        new_of_kind = [track for track in new_tracks if track.kind == kind]
        for old, new in zip(old_of_kind, new_of_kind, strict=False):
            changed.extend(_track_changes(old, new, several=len(new_of_kind) > 1, timing=not duration_changed))
        added.extend(f"added {track.describe()}" for track in new_of_kind[len(old_of_kind) :])
        removed.extend(f"removed {track.describe()}" for track in old_of_kind[len(new_of_kind) :])
    changes = [*added, *removed, *changed]
    if duration_changed:
        changes.append(f"duration {format_seconds(old_duration)}s → {format_seconds(new_duration)}s")

    if not changes:
        return "The timeline changed in details the summary does not show (e.g. effects or positions)."
    text = "; ".join(changes)
    return f"{text[0].upper()}{text[1:]}."


def draft_fingerprint(draft: Mapping[str, Any]) -> str:
    """A stable hash of the draft's canonical JSON (keys sorted), to tell whether the state changed."""
    canonical = json.dumps(draft, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def trimmed_draft(draft: Mapping[str, Any], max_bytes: int) -> tuple[dict[str, Any], int, bool]:
    """The draft, cut to about `max_bytes` of JSON for the agent: (draft, segments left out, whether cut).

    Every key and track is kept; only the segments of the longest tracks are shortened, so the shape
    the agent sees stays the backend's. A draft that fits is returned as is.
    """
    if _fits(draft, max_bytes):
        return dict(draft), 0, False
    trimmed: dict[str, Any] = {key: value for key, value in draft.items() if key != "t"}
    tracks = [dict(track) for track in _tracks(draft)]
    segments = [_segments(track) for track in tracks]
    keep = max((len(s) for s in segments), default=0)
    while keep > 0:
        for track, track_segments in zip(tracks, segments, strict=True):
            if "sg" in track:
                track["sg"] = track_segments[:keep]
        if _fits({**trimmed, "t": tracks}, max_bytes):
            break
        keep //= 2
    else:
        for track in tracks:
            track.pop("sg", None)
    trimmed["t"] = tracks
    if not _fits(trimmed, max_bytes):  # the bulk is elsewhere: keep only what names the tracks
        trimmed = {"t": [{key: track[key] for key in ("id", "tt") if key in track} for track in tracks]}
    left_out = sum(len(s) for s in segments) - sum(len(_segments(track)) for track in trimmed["t"])
    return trimmed, left_out, True


_SIZER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def _fits(value: Any, max_bytes: int) -> bool:
    """Whether `value` as compact JSON is at most `max_bytes` of UTF-8: encoded piece by piece, and given up
    on as soon as it is over (a 10 MB draft is never written out whole to learn that it is too big)."""
    size = 0
    for piece in _SIZER.iterencode(value):
        size += len(piece.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            return False
    return True


def format_seconds(seconds: float) -> str:
    """Seconds without a trailing `.0`: 10 -> "10", 2.5 -> "2.5", 3.3333 -> "3.33"."""
    return f"{seconds:.2f}".rstrip("0").rstrip(".")


# --- Tracks as the summary shows them ----------------------------------------------------------


def _summarize_track(track: TrackView, draft_ms: float | None) -> TrackSummary:
    kind: TrackKind = TRACK_KINDS.get(track.type, "Track") if track.type is not None else "Track"
    if kind == "Title" and track.text_role in ("caption", "end_card"):
        kind = "Text"
    start_s, end_s = _track_span(track, draft_ms)
    return TrackSummary(
        index=track.index,
        kind=kind,
        label=shortened(_track_label(track) or UNTITLED),
        start_s=start_s,
        end_s=end_s,
        volume_percent=_volume(track) if kind == "BGM" else None,
        segment_count=len(track.segments),
        raw_type=track.raw_type,
    )


def _track_span(track: TrackView, draft_ms: float | None) -> tuple[float, float]:
    track_ms = track.duration_ms
    if len(track.segments) == 1 and track_ms is None:
        track_ms = draft_ms
    times = list(_segment_times(track, track_ms))
    starts = [start for start, _ in times]
    ends = [end for _, end in times if end is not None]
    start_ms = min(starts, default=0.0)
    if ends:
        end_ms = max(ends)
    elif track_ms is not None:
        end_ms = start_ms + track_ms
    else:
        end_ms = draft_ms if draft_ms is not None else start_ms
    return start_ms / 1000, max(end_ms, start_ms) / 1000


def _segment_times(track: TrackView, track_ms: float | None) -> Iterator[tuple[float, float | None]]:
    """Each segment's (start, end) in ms: a segment without a start follows the one before; a lone segment
    without a duration lasts the track (`track_ms`); else its end is None."""
    segments = track.segments
    cursor = 0.0
    for segment in segments:
        duration = segment.duration_ms
        if duration is None and len(segments) == 1:
            duration = track_ms
        start = cursor if segment.start_ms is None else segment.start_ms
        if duration is None:
            yield start, None
        else:
            cursor = start + duration
            yield start, cursor


def track_lanes(draft: Draft, max_segments: int = MAX_SEGMENTS_PER_LANE) -> list[TrackLane]:
    """Each track with its first `max_segments` segments placed on the time axis (the studio's timeline).

    A segment without an end of its own ends where the track does.
    """
    view = _view(draft)
    lanes = []
    for track, summary in zip(view.tracks, summarize_tracks(view), strict=True):
        spans = [
            SegmentSpan(
                start_s=start / 1000,
                end_s=max(start / 1000, summary.end_s if end is None else end / 1000),
                label=shortened(segment.label or UNTITLED),
            )
            for segment, (start, end) in zip(
                track.segments[:max_segments], _segment_times(track, track.duration_ms), strict=False
            )
        ]
        lanes.append(TrackLane(**summary.model_dump(), segments=spans))
    return lanes


def _track_label(track: TrackView) -> str | None:
    return next((segment.label for segment in track.segments if segment.label), None) or track.label


def shortened(text: str, max_chars: int | None = MAX_LABEL_CHARS) -> str:
    """`text` cut to `max_chars` (default: a label's), ending in "…" when cut."""
    max_chars = MAX_LABEL_CHARS if max_chars is None else max_chars
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def _volume(track: TrackView) -> int | None:
    first: list[SegmentView] = track.segments[:1]
    value = next((segment.volume for segment in first if segment.volume is not None), track.volume)
    if value is None or value < 0:
        return None
    return round(value * 100 if value <= 1 else value)


def _tracks(draft: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The raw track objects, for `trimmed_draft` (which cuts the JSON itself, not a reading of it)."""
    tracks = draft.get("t") if isinstance(draft, Mapping) else None
    return [track for track in tracks if isinstance(track, Mapping)] if isinstance(tracks, list) else []


def _segments(track: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    segments = track.get("sg")
    return [segment for segment in segments if isinstance(segment, Mapping)] if isinstance(segments, list) else []


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _track_changes(old: TrackSummary, new: TrackSummary, *, several: bool, timing: bool) -> list[str]:
    name = f"{new.kind} (track {new.index})" if several else new.kind
    changes = []
    if old.label != new.label:
        quote = '"' if new.kind in TEXT_KINDS else ""
        what = "text" if new.kind in TEXT_KINDS else "label"
        changes.append(f"{name} {what} {quote}{old.label}{quote} → {quote}{new.label}{quote}")
    if new.segment_count != old.segment_count:
        difference = new.segment_count - old.segment_count
        verb = "added" if difference > 0 else "removed"
        changes.append(f"{name}: {_count(abs(difference), 'clip')} {verb} ({new.segment_count} now)")
    if old.volume_percent != new.volume_percent:
        old_volume = "unset" if old.volume_percent is None else f"{old.volume_percent}%"
        new_volume = "unset" if new.volume_percent is None else f"{new.volume_percent}%"
        changes.append(f"{name} volume {old_volume} → {new_volume}")
    if timing and (old.start_s, old.end_s) != (new.start_s, new.end_s) and old.segment_count == new.segment_count:
        changes.append(
            f"{name} {format_seconds(old.start_s)}-{format_seconds(old.end_s)}s"
            f" → {format_seconds(new.start_s)}-{format_seconds(new.end_s)}s"
        )
    return changes
