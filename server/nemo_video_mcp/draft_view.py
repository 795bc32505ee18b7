"""The draft read once: the backend's short-key timeline JSON as typed tracks and segments.

Both backends' drafts are read here, tolerantly. The stored JSON stays as it is (nothing here changes
it, unknown keys survive in the store); a value of the wrong type, or a number that is no number (NaN,
"1e999", a boolean), reads as None. `draft.py` (summary, diff) and `render/plan.py` (draft -> plan)
read drafts only through `read_draft`. The views are plain slotted dataclasses (a hostile draft holds
100,000 segments): read them, never change them.

Short keys (firm, see docs/backend.md): `t` tracks; per track `tt` type (0 video, 1 audio/BGM, 7
text/title) and `sg` segments; `d` duration in ms (on the draft, a track or a segment); `m` metadata.
Labels, starts and volumes are read from several places (`LABEL_KEYS`, `START_KEYS`, ... below).

## The draft the local engine writes (`render/plan.py`: `EditPlan.to_draft`, read back by `plan_from_draft`)

Draft `m`: width, height, aspect ("16:9" | "9:16" | "1:1"), fps (24 | 30 | 60), transition,
transition_ms, motion, fit, engine "local", and when they apply: unknown_wishes [str], shuffle_seed
(the seed of the last shuffle), uploads_seen (how many uploaded images the timeline was made from;
later uploads are new and get appended).

Tracks, in this order, every segment with `start` and `d` in ms:
- video (tt 0, `m.name` "Images"): one segment per photo. Segment `m`: name (the file's name), index
  (0-based position in the uploaded images), src (file:// URL), and, when set: fit (a `Fit`), look (a
  `Look`), crop [left, top, right, bottom] as fractions 0-1 of the photo.
- music (tt 1, `m.name` "BGM"): one segment over the whole video. Segment `m`: name (the audio file's
  name, shown in the summary), src, volume 0-1, fade_in_ms, fade_out_ms, loop (true: repeated to the
  video's length when shorter; false: silence after its end).
- text (tt 7), one track per text overlay: the title, then captions in time order, then the end card.
  Track `m`: name ("Title", or "Text" for the others) and role. Segment `m`: text, role (a `TextRole`),
  position (a `TextPosition`), and for a caption `on`: the index of the photo it belongs to (it follows
  that photo when the order or the durations change, and goes when the photo is removed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WrapValidator, model_validator
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

from nemo_video_mcp.models import Fit, Look, TextPosition, TextRole

LABEL_KEYS = ("name", "text", "title")
"""Read from the segment's `m`, then the segment itself (a track: its `m`, then the track)."""

VOLUME_KEYS = ("volume", "vol")
"""0-1 or 0-100 (a value <= 1 is a fraction). Read from the segment, then its `m` (a track: the track,
then its `m`)."""

START_KEYS = ("start", "start_ms", "st", "s")
"""Segment start in ms, read from the segment, then its `m`, then its `tr` (time range) object.
Without one, segments follow one another from 0."""

DURATION_KEYS = ("d", "duration")
"""Segment duration in ms, read from the segment, then its `tr` object."""

SOURCE_KEYS = ("src", "url", "path", "source")
"""Where a segment's media is, read from its `m`, then the segment."""

TYPE_KEYS = ("tt", "type")
"""The track's type code."""


def draft_number(value: Any) -> float | None:
    """A number from the draft, or None: booleans, NaN, infinities and non-numeric text are no number.
    Numeric text may end in `%` ("35%")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any) -> int | None:
    number = draft_number(value)
    return int(number) if number is not None and number.is_integer() and abs(number) < 2**53 else None


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


def _crop(value: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    numbers = [draft_number(part) for part in value]
    if any(n is None or not 0 <= n <= 1 for n in numbers):
        return None
    left, top, right, bottom = (float(n) for n in numbers if n is not None)
    return (left, top, right, bottom) if left < right and top < bottom else None


Number = Annotated[float | None, BeforeValidator(draft_number)]
Whole = Annotated[int | None, BeforeValidator(_whole)]
Crop = Annotated[tuple[float, float, float, float] | None, BeforeValidator(_crop)]
"""[left, top, right, bottom] as fractions 0-1 of the photo, left < right and top < bottom."""
OrNone = WrapValidator(_or_none)
"""On an `X | None` field: a value that is not an X reads as None."""
Text = Annotated[str | None, OrNone]


def _one_of(value: Any, allowed: tuple[str, ...]) -> Any:
    return value if isinstance(value, str) and value in allowed else None


_FITS, _LOOKS, _ROLES, _POSITIONS = (get_args(kind) for kind in (Fit, Look, TextRole, TextPosition))


class SegmentView:
    """One segment (clip) of a track, with what both backends' drafts say about it.

    Its times are read when the draft is; everything else when asked (a property each): a hostile draft
    has 100,000 segments, and the summary needs the times of all of them but the label of one.
    """

    __slots__ = ("_local", "_time_range", "duration_ms", "meta", "raw", "start_ms")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.meta: Mapping[str, Any] = _mapping(raw.get("m"))
        """The segment's `m`, as sent (not copied)."""
        self._time_range = _mapping(raw.get("tr"))
        self.start_ms = _first_number(START_KEYS, raw, self.meta, self._time_range)
        self.duration_ms = _first_number(DURATION_KEYS, raw, self._time_range)
        self._local = bool(self.meta) and not self.meta.keys().isdisjoint(_LOCAL_SEGMENT_KEYS)

    @property
    def label(self) -> str | None:
        """Whitespace-normalized; not shortened."""
        return _label(self.meta, self.raw)

    @property
    def text(self) -> str | None:
        """The `text` key alone (from `m`, then the segment): what a text shows."""
        return _label(self.meta, self.raw, keys=("text",))

    @property
    def volume(self) -> float | None:
        """As written: 0-1 or 0-100."""
        return _first_number(VOLUME_KEYS, self.raw, self.meta)

    @property
    def src(self) -> str | None:
        return _first_text(SOURCE_KEYS, self.meta, self.raw)

    # The local engine's fields (see the module docstring); None when absent or unusable.
    @property
    def index(self) -> int | None:
        return _whole(self.meta.get("index")) if self._local else None

    @property
    def fit(self) -> Fit | None:
        return _one_of(self.meta.get("fit"), _FITS) if self._local else None

    @property
    def look(self) -> Look | None:
        return _one_of(self.meta.get("look"), _LOOKS) if self._local else None

    @property
    def crop(self) -> tuple[float, float, float, float] | None:
        """[left, top, right, bottom] as fractions 0-1 of the photo, left < right and top < bottom."""
        return _crop(self.meta.get("crop")) if self._local else None

    @property
    def role(self) -> TextRole | None:
        return _one_of(self.meta.get("role"), _ROLES) if self._local else None

    @property
    def position(self) -> TextPosition | None:
        return _one_of(self.meta.get("position"), _POSITIONS) if self._local else None

    @property
    def on(self) -> int | None:
        """A caption's photo (its index in the uploaded images)."""
        return _whole(self.meta.get("on")) if self._local else None

    @property
    def fade_in_ms(self) -> float | None:
        return draft_number(self.meta.get("fade_in_ms")) if self._local else None

    @property
    def fade_out_ms(self) -> float | None:
        return draft_number(self.meta.get("fade_out_ms")) if self._local else None

    @property
    def loop(self) -> bool | None:
        loop = self.meta.get("loop") if self._local else None
        return loop if isinstance(loop, bool) else None


_LOCAL_SEGMENT_KEYS = frozenset(
    ("index", "fit", "look", "crop", "role", "position", "on", "fade_in_ms", "fade_out_ms", "loop")
)


@dataclass(slots=True)
class TrackView:
    """One track: its type code, its own label and volume, and its segments in draft order."""

    index: int
    """1-based position among the draft's tracks (entries that are not objects skipped)."""
    type: int | None = None
    """The `tt` code as a whole number (7.0 and '7' read as 7)."""
    raw_type: int | str | None = None
    """The `tt` value as sent."""
    label: str | None = None
    """The track's own label (its `m`, then the track)."""
    duration_ms: float | None = None
    volume: float | None = None
    role: TextRole | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    segments: list[SegmentView] = field(default_factory=list)

    @property
    def text_role(self) -> TextRole | None:
        """The role of a text track: its own, else its first segment's."""
        return self.role or next((segment.role for segment in self.segments if segment.role), None)


def _track(track: Mapping[str, Any], index: int) -> TrackView:
    meta = _mapping(track.get("m"))
    raw_type = next((track[key] for key in TYPE_KEYS if key in track), None)
    number = draft_number(raw_type)
    segments = track.get("sg")
    return TrackView(
        index=index,
        type=int(number) if number is not None and number.is_integer() and abs(number) < 2**31 else None,
        raw_type=raw_type if isinstance(raw_type, int | str) and not isinstance(raw_type, bool) else None,
        label=_label(meta, track),
        duration_ms=draft_number(track.get("d")),
        volume=_first_number(VOLUME_KEYS, track, meta),
        role=_one_of(meta.get("role"), _ROLES),
        meta=meta,
        segments=[SegmentView(s) for s in segments if isinstance(s, Mapping)] if isinstance(segments, list) else [],
    )


class DraftMeta(BaseModel):
    """The draft's `m`: frame and style settings (the local engine writes them all; the cloud, some)."""

    model_config = ConfigDict(frozen=True)

    width: Number = None
    height: Number = None
    aspect: Text = None
    fps: Number = None
    transition: Text = None
    transition_ms: Number = None
    motion: Text = None
    fit: Text = None
    engine: Text = None
    unknown_wishes: list[str] = Field(default_factory=list)
    shuffle_seed: Whole = None
    uploads_seen: Whole = None

    @model_validator(mode="before")
    @classmethod
    def _tolerant(cls, raw: Any) -> dict[str, Any]:
        meta = dict(_mapping(raw))
        wishes = meta.get("unknown_wishes")
        meta["unknown_wishes"] = [str(w) for w in wishes if isinstance(w, str)] if isinstance(wishes, list) else []
        return meta


@dataclass(slots=True)
class DraftView:
    """A whole draft, read once."""

    duration_ms: float | None = None
    meta: DraftMeta = field(default_factory=lambda: DraftMeta())
    tracks: list[TrackView] = field(default_factory=list)

    def of_type(self, type_code: int) -> list[TrackView]:
        return [track for track in self.tracks if track.type == type_code]


def read_draft(draft: Any) -> DraftView:
    """The draft as typed tracks and segments. Never fails: what cannot be read is left out or None."""
    if not isinstance(draft, Mapping):
        return DraftView()
    tracks = draft.get("t")
    objects = [track for track in tracks if isinstance(track, Mapping)] if isinstance(tracks, list) else []
    return DraftView(
        duration_ms=draft_number(draft.get("d")),
        meta=DraftMeta.model_validate(draft.get("m")),
        tracks=[_track(track, index) for index, track in enumerate(objects, start=1)],
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first_number(keys: Iterable[str], *sources: Mapping[str, Any]) -> float | None:
    keys = tuple(keys)
    for source in sources:
        for key in keys:
            value = source.get(key)
            if value is not None and (number := draft_number(value)) is not None:
                return number
    return None


def _first_text(keys: Iterable[str], *sources: Mapping[str, Any]) -> str | None:
    keys = tuple(keys)
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _label(*sources: Mapping[str, Any], keys: tuple[str, ...] = LABEL_KEYS) -> str | None:
    for source in sources:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                text = " ".join(str(value).split())
                if text:
                    return text
    return None
