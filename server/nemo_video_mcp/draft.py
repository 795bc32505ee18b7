"""The draft (the backend's timeline JSON): a one-line summary, per-track facts, and a diff of two drafts.

The draft stays opaque JSON; these functions only read it, tolerantly, and never change it.
Known short keys: `t` tracks; per track `tt` type (0 video, 1 audio/BGM, 7 text/title) and `sg`
segments; `d` duration in ms (on the draft, a track or a segment); `m` metadata. Everything else a
segment holds is guessed from the lists below.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

TrackKind = Literal["Video", "BGM", "Title", "Track"]

TRACK_KINDS: dict[int, TrackKind] = {0: "Video", 1: "BGM", 7: "Title"}
"""`tt` value -> kind shown to users; any other value is a plain "Track"."""

LABEL_KEYS = ("name", "text", "title")
"""Read from the segment's `m`, then the segment itself, then the track's `m`, then the track."""

VOLUME_KEYS = ("volume", "vol")
"""0-1 or 0-100 (a value <= 1 is a fraction). Read from the segment, its `m`, the track, the track's `m`."""

START_KEYS = ("start", "start_ms", "st", "s")
"""Segment start in ms, read from the segment, then its `m`, then its `tr` (time range) object.
Without one, segments follow one another from 0."""

DURATION_KEYS = ("d", "duration")
"""Segment duration in ms, read from the segment, then its `tr` object."""

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
        label = f'"{self.label}"' if self.kind == "Title" and self.label != UNTITLED else self.label
        if self.segment_count > 1:
            more = self.segment_count - 1
            label = _count(self.segment_count, "clip") if self.label == UNTITLED else f"{label} + {more} more"
        volume = f", {self.volume_percent}%" if self.volume_percent is not None else ""
        return f"{self.kind}: {label} ({format_seconds(self.start_s)}-{format_seconds(self.end_s)}s{volume})"


def summarize_tracks(draft: Mapping[str, Any]) -> list[TrackSummary]:
    """One `TrackSummary` per track (entries of `t` that are not objects are skipped)."""
    draft_ms = _draft_ms(draft)
    return [_summarize_track(index, track, draft_ms) for index, track in enumerate(_tracks(draft), start=1)]


def timeline_summary(draft: Mapping[str, Any], tracks: list[TrackSummary] | None = None) -> str:
    """The one-line summary users see, e.g.
    `Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)`.

    No tracks gives `Timeline (0 tracks): empty`. `tracks`: the draft's summarized tracks, if already made.
    """
    tracks = summarize_tracks(draft) if tracks is None else tracks
    if not tracks:
        return EMPTY_TIMELINE
    items = " ".join(f"{track.index}. {track.describe()}" for track in tracks)
    return f"Timeline ({_count(len(tracks), 'track')}): {items}"


def is_exportable(draft: Mapping[str, Any]) -> bool:
    """True when at least one track has a segment: the backend refuses to render anything less."""
    return any(_segments(track) for track in _tracks(draft))


def timeline_duration_s(draft: Mapping[str, Any]) -> float:
    """The draft's `d`, or else the end of its last track, in seconds."""
    draft_ms = _draft_ms(draft)
    if draft_ms is not None:
        return draft_ms / 1000
    return max((track.end_s for track in summarize_tracks(draft)), default=0.0)


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
    if _json_size(draft) <= max_bytes:
        return dict(draft), 0, False
    trimmed: dict[str, Any] = {key: value for key, value in draft.items() if key != "t"}
    tracks = [dict(track) for track in _tracks(draft)]
    segments = [_segments(track) for track in tracks]
    keep = max((len(s) for s in segments), default=0)
    while keep > 0:
        for track, track_segments in zip(tracks, segments, strict=True):
            if "sg" in track:
                track["sg"] = track_segments[:keep]
        if _json_size({**trimmed, "t": tracks}) <= max_bytes:
            break
        keep //= 2
    else:
        for track in tracks:
            track.pop("sg", None)
    trimmed["t"] = tracks
    if _json_size(trimmed) > max_bytes:  # the bulk is elsewhere: keep only what names the tracks
        trimmed = {"t": [{key: track[key] for key in ("id", "tt") if key in track} for track in tracks]}
    left_out = sum(len(s) for s in segments) - sum(len(_segments(track)) for track in trimmed["t"])
    return trimmed, left_out, True


def _json_size(value: Any) -> int:
    return len(
        json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    )


def format_seconds(seconds: float) -> str:
    """Seconds without a trailing `.0`: 10 -> "10", 2.5 -> "2.5", 3.3333 -> "3.33"."""
    return f"{seconds:.2f}".rstrip("0").rstrip(".")


# --- Reading the draft tolerantly --------------------------------------------------------------


def _summarize_track(index: int, track: Mapping[str, Any], draft_ms: float | None) -> TrackSummary:
    raw_type = track.get("tt")
    type_number = _number(raw_type)
    kind: TrackKind = TRACK_KINDS.get(int(type_number), "Track") if type_number is not None else "Track"
    segments = _segments(track)
    start_s, end_s = _track_span(track, segments, draft_ms)
    volume = _volume(track, segments) if kind == "BGM" else None
    return TrackSummary(
        index=index,
        kind=kind,
        label=_track_label(track, segments),
        start_s=start_s,
        end_s=end_s,
        volume_percent=volume,
        segment_count=len(segments),
        raw_type=raw_type if isinstance(raw_type, (int, str)) and not isinstance(raw_type, bool) else None,
    )


def _track_span(
    track: Mapping[str, Any], segments: list[Mapping[str, Any]], draft_ms: float | None
) -> tuple[float, float]:
    track_ms = _number(track.get("d"))
    if len(segments) == 1 and track_ms is None:
        track_ms = draft_ms
    cursor, starts, ends = 0.0, [], []
    for segment in segments:
        start = _first_number(START_KEYS, segment, _meta(segment), _time_range(segment))
        duration = _first_number(DURATION_KEYS, segment, _time_range(segment))
        if duration is None and len(segments) == 1:
            duration = track_ms
        start = cursor if start is None else start
        starts.append(start)
        if duration is not None:
            ends.append(start + duration)
            cursor = start + duration
    start_ms = min(starts, default=0.0)
    if ends:
        end_ms = max(ends)
    elif track_ms is not None:
        end_ms = start_ms + track_ms
    else:
        end_ms = draft_ms if draft_ms is not None else start_ms
    return start_ms / 1000, max(end_ms, start_ms) / 1000


def _track_label(track: Mapping[str, Any], segments: list[Mapping[str, Any]]) -> str:
    labels = (_label(_meta(segment), segment) for segment in segments)
    return next((label for label in labels if label), None) or _label(_meta(track), track) or UNTITLED


def _label(*sources: Mapping[str, Any]) -> str | None:
    for source in sources:
        for key in LABEL_KEYS:
            value = source.get(key)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                text = " ".join(str(value).split())
                if text:
                    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"
    return None


def _volume(track: Mapping[str, Any], segments: list[Mapping[str, Any]]) -> int | None:
    sources = [source for segment in segments[:1] for source in (segment, _meta(segment))]
    value = _first_number(VOLUME_KEYS, *sources, track, _meta(track))
    if value is None or value < 0:
        return None
    return round(value * 100 if value <= 1 else value)


def _draft_ms(draft: Mapping[str, Any]) -> float | None:
    return _number(draft.get("d")) if isinstance(draft, Mapping) else None


def _tracks(draft: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tracks = draft.get("t") if isinstance(draft, Mapping) else None
    return [track for track in tracks if isinstance(track, Mapping)] if isinstance(tracks, list) else []


def _segments(track: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    segments = track.get("sg")
    return [segment for segment in segments if isinstance(segment, Mapping)] if isinstance(segments, list) else []


def _meta(item: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = item.get("m")
    return meta if isinstance(meta, Mapping) else {}


def _time_range(segment: Mapping[str, Any]) -> Mapping[str, Any]:
    time_range = segment.get("tr")
    return time_range if isinstance(time_range, Mapping) else {}


def _first_number(keys: Iterable[str], *sources: Mapping[str, Any]) -> float | None:
    keys = tuple(keys)
    for source in sources:
        for key in keys:
            number = _number(source.get(key))
            if number is not None:
                return number
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None  # NaN and infinities ("nan", "1e999") are no number


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _track_changes(old: TrackSummary, new: TrackSummary, *, several: bool, timing: bool) -> list[str]:
    name = f"{new.kind} (track {new.index})" if several else new.kind
    changes = []
    if old.label != new.label:
        quote = '"' if new.kind == "Title" else ""
        what = "text" if new.kind == "Title" else "label"
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
