"""The edit plan: what the local engine will render, parsed from free text and explicit options.

Pure: no files are read here. `to_draft` / `plan_from_draft` convert to and from the short-key
draft form (`t` tracks, `tt` track type, `sg` segments, `d` ms, `m` metadata) that the store keeps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, computed_field

from nemo_video_mcp.errors import InputError, NothingToExportError
from nemo_video_mcp.models import MAX_DURATION_S, MIN_DURATION_S, Aspect, EditOptions, Fit, Motion, Transition
from nemo_video_mcp.paths import file_url, is_file_url, path_of_file_url

T = TypeVar("T", bound=str)

FRAME_SIZES: dict[str, tuple[int, int]] = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
FPS = 30
SECONDS_PER_IMAGE = 3.0
DEFAULT_MIN_S, DEFAULT_MAX_S = 5.0, 60.0
TRANSITION_S = 0.5
TITLE_S = 4.0
MUSIC_VOLUME = 0.8

TRACK_VIDEO, TRACK_AUDIO, TRACK_TITLE = 0, 1, 7


class PlanError(InputError):
    """A plan or draft cannot be rendered as given."""


class PlannedImage(BaseModel):
    """One still on the timeline. `path` is empty until the plan is bound to uploaded files."""

    index: int = Field(description="Position in the uploaded image list.")
    name: str
    path: str | None = None
    start_frame: int = Field(ge=0)
    frames: int = Field(gt=0)


class EditPlan(BaseModel):
    """Everything the renderer needs, in frames so that the total is exact."""

    images: list[PlannedImage]
    aspect: Aspect = "16:9"
    fps: int = FPS
    transition: Transition = "fade"
    transition_frames: int = Field(0, ge=0)
    motion: Motion = "kenburns"
    fit: Fit = "blur"
    title: str | None = None
    title_frames: int = Field(0, ge=0)
    music_path: str | None = None
    music_volume: float = Field(MUSIC_VOLUME, ge=0, le=1)
    unknown_wishes: list[str] = Field(default_factory=list)

    @property
    def total_frames(self) -> int:
        return sum(image.frames for image in self.images)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float:
        return self.total_frames / self.fps

    @property
    def transition_s(self) -> float:
        return self.transition_frames / self.fps

    @property
    def size(self) -> tuple[int, int]:
        return FRAME_SIZES[self.aspect]

    def with_images(self, paths: Sequence[str | Path], names: Sequence[str] | None = None) -> EditPlan:
        """Bind each planned image to the file at its `index` in `paths` (the uploaded order)."""
        images = []
        for image in self.images:
            if not 0 <= image.index < len(paths):
                raise PlanError(
                    f"The plan refers to image {image.index + 1} but only {len(paths)} are uploaded.",
                    "Call upload_images, then generate_video again.",
                )
            name = names[image.index] if names else Path(paths[image.index]).name
            images.append(image.model_copy(update={"path": str(paths[image.index]), "name": name}))
        return self.model_copy(update={"images": images})

    def to_draft(self) -> dict[str, Any]:
        """The short-key draft: a video track (tt 0), then a title (tt 7) and a BGM (tt 1) if any."""
        ms = self._ms
        video = {
            "tt": TRACK_VIDEO,
            "m": {"name": "Images"},
            "sg": [
                {
                    "start": ms(image.start_frame),
                    "d": ms(image.frames),
                    "m": {"name": image.name, "index": image.index, **_src(image.path)},
                }
                for image in self.images
            ],
        }
        tracks: list[dict[str, Any]] = [video]
        if self.title:
            title_segment = {"start": 0, "d": ms(self.title_frames), "m": {"text": self.title}}
            tracks.append({"tt": TRACK_TITLE, "m": {"name": "Title"}, "sg": [title_segment]})
        if self.music_path:
            music = {"name": Path(self.music_path).name, "volume": self.music_volume, **_src(self.music_path)}
            tracks.append(
                {"tt": TRACK_AUDIO, "m": {"name": "BGM"}, "sg": [{"start": 0, "d": ms(self.total_frames), "m": music}]}
            )
        width, height = self.size
        meta: dict[str, Any] = {
            "width": width,
            "height": height,
            "aspect": self.aspect,
            "fps": self.fps,
            "transition": self.transition,
            "transition_ms": ms(self.transition_frames),
            "motion": self.motion,
            "fit": self.fit,
            "engine": "local",
        }
        if self.unknown_wishes:
            meta["unknown_wishes"] = list(self.unknown_wishes)
        return {"d": ms(self.total_frames), "m": meta, "t": tracks}

    def _ms(self, frames: int) -> int:
        return round(frames * 1000 / self.fps)


def describe_plan(plan: EditPlan) -> str:
    """The plan in plain words, ending with what the text asked for that the engine cannot do."""
    width, height = plan.size
    shape = {"16:9": "horizontal", "9:16": "vertical", "1:1": "square"}[plan.aspect]
    names = ", ".join(image.name for image in plan.images)
    each = plan.duration_s / len(plan.images)
    parts = [
        f"Planned a {plan.duration_s:g} s {shape} video ({plan.aspect}, {width}x{height}, {plan.fps} fps) "
        f"from {len(plan.images)} image(s), about {each:.1f} s each: {names}.",
        "Transitions: none (hard cuts)."
        if plan.transition == "none"
        else f"Transitions: {plan.transition} ({plan.transition_s:g} s).",
        "Motion: ken burns (slow zoom and pan)." if plan.motion == "kenburns" else "Motion: none (static images).",
        _FIT_WORDS[plan.fit],
        f'Title: "{plan.title}" for the first {plan.title_frames / plan.fps:g} s.' if plan.title else "No title.",
        f"Music: {Path(plan.music_path).name} at {round(plan.music_volume * 100)}% volume, faded out at the end."
        if plan.music_path
        else "No music.",
    ]
    if plan.unknown_wishes:
        parts.append("Not supported offline: " + "; ".join(plan.unknown_wishes) + ".")
    return " ".join(parts)


def mentions_music(instruction: str) -> bool:
    """True when the text asks for music (and not for silence)."""
    text = instruction.lower()
    return bool(_MUSIC_RE.search(text)) and not _NO_MUSIC_RE.search(text)


# --- Free text -> plan ---------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_NUM = r"\b(\d{1,3}(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_SECONDS = r"(?:s|sec|secs|second|seconds)\b"
_MINUTES = r"(?:min|mins|minute|minutes)\b"
_TRANSITION_WORDS = r"(?:cross-?fades?|fades?|dissolves?|wipes?|slides?|transitions?)\b"

_PER_IMAGE_RE = re.compile(
    _NUM + r"\s*-?\s*" + _SECONDS + r"\s*(?:per|each|for each|an?)\s*(?:image|photo|picture|slide|still|shot)s?\b"
)
_TRANSITION_LEN_RE = re.compile(_NUM + r"\s*-?\s*" + _SECONDS + r"(?=\s*(?:long\s+)?" + _TRANSITION_WORDS + ")")
_MINUTES_RE = re.compile(_NUM + r"\s*-?\s*" + _MINUTES)
_SECONDS_RE = re.compile(_NUM + r"\s*-?\s*" + _SECONDS)

_ASPECTS: list[tuple[str, Aspect]] = [
    (r"\b9\s*[:x/]\s*16\b|\bvertical\b|\bportrait\b|\btik\s*tok\b|\breels?\b|\bshorts\b", "9:16"),
    (r"\b1\s*[:x/]\s*1\b|\bsquare\b|\binstagram post\b", "1:1"),
    (r"\b16\s*[:x/]\s*9\b|\bhorizontal\b|\blandscape\b|\bwidescreen\b|\byoutube\b", "16:9"),
]
_TRANSITIONS: list[tuple[str, Transition]] = [
    (r"\bno transitions?\b|\bhard cuts?\b|\bjust cuts?\b|\bstraight cuts?\b|\bwithout transitions?\b", "none"),
    (r"\bdissolves?\b", "dissolve"),
    (r"\bwipes?\b", "wipe"),
    (r"\bslides?\b|\bslide-?in\b|\bswipes?\b|\bpush(?:es)?\b", "slide"),
    (r"\bcross-?fades?\b|\bfades?\b|\bfading\b", "fade"),
]
_MOTIONS: list[tuple[str, Motion]] = [
    (r"\bno (?:motion|movement|zoom|ken ?burns|animation)\b|\bstatic\b|\bwithout (?:motion|zoom)\b", "static"),
    (r"\bken ?burns\b|\bzoom(?:s|ing)?\b|\bpan(?:s|ning)?\b|\bmotion\b|\bmovement\b", "kenburns"),
]
_FITS: list[tuple[str, Fit]] = [
    (r"\bfill (?:the )?(?:whole )?(?:frame|screen)\b|\bcrop(?:ped)? to (?:fill|fit)\b|\bfull[- ]?bleed\b", "cover"),
    (r"(?<!no )(?<!without )\bblack (?:bars|borders)\b|\bletter-?box\w*|\bpillar-?box\w*", "contain"),
    (r"\bblur(?:red|ry)? (?:background|backdrop|fill|sides|edges)\b", "blur"),
]
_FIT_WORDS: dict[str, str] = {
    "blur": "Pictures of another shape sit on a blurred copy of themselves.",
    "contain": "Pictures of another shape get black bars.",
    "cover": "Pictures are cropped to fill the frame.",
}
_REVERSE_RE = re.compile(r"\breverse(?:d)?(?: order)?\b|\bbackwards?\b|\blast (?:image|photo) first\b")
_MUSIC_RE = re.compile(r"\bmusic\b|\bsong\b|\bsoundtrack\b|\bbgm\b|\baudio\b|\bbackground track\b")
_NO_MUSIC_RE = re.compile(r"\bno (?:music|sound|audio)\b|\bsilent\b|\bwithout (?:music|sound|audio)\b")

_UNSUPPORTED = re.compile(
    r"\b(?:slow[- ]?mo(?:tion)?|time[- ]?lapse|speed|faster|slower|voice[- ]?over|narrat\w*|subtitles?|captions"
    r"|filters?|sepia|black[- ]and[- ]white|grayscale|greyscale|vintage|retro|glitch|blur\w*|color grad\w*"
    r"|colou?r correct\w*|brightness|contrast|saturat\w*|stickers?|emojis?|logo|watermark|3d|beat[- ]?sync\w*"
    r"|on the beat|shuffle|random order|loop(?:ing)?|intro|outro|credits|end card|gifs?"
    r"|sound effects?|sfx|voice|text overlay|lower third|split[- ]screen|picture[- ]in[- ]picture|green ?screen"
    r"|4k|60 ?fps|24 ?fps|hdr|stabili[sz]\w*|upscal\w*|ai)\b"
)
_TITLE_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|«([^»]+)»|„([^“”]+)[“”]")
_TITLE_BARE_RE = re.compile(
    r"(?:\b(?:title|caption|heading)\s*[:=]|\b(?:titled|called|captioned)\s)\s*([^,.;!?\n]+?)\s*(?:$|[,.;!?\n]|\band\b|\bwith\b)",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"[,;.!?\n]+|\band\b|\bwith\b|\bthen\b|\bplus\b")


def plan_from_instruction(instruction: str, image_count: int, options: EditOptions) -> EditPlan:
    """Parse `instruction` into a plan over `image_count` images; `options` win over the text.

    What the text asks but the engine cannot do is listed in `unknown_wishes`, never dropped.
    """
    if image_count < 1:
        raise PlanError("There are no images to put in the video.", "Call upload_images first.")
    title, rest = _take_title(instruction)
    text = rest.lower()

    transition_s, text = _take(text, _TRANSITION_LEN_RE)
    per_image_s, text = _take(text, _PER_IMAGE_RE)
    minutes, text = _take(text, _MINUTES_RE)
    seconds, text = _take(text, _SECONDS_RE)
    if options.duration_s is not None:
        duration = float(options.duration_s)
    elif per_image_s is not None:
        duration = per_image_s * image_count
    elif minutes is not None or seconds is not None:
        duration = (minutes or 0) * 60 + (seconds or 0)
    else:
        duration = min(max(SECONDS_PER_IMAGE * image_count, DEFAULT_MIN_S), DEFAULT_MAX_S)
    duration = min(max(duration, MIN_DURATION_S), MAX_DURATION_S)

    aspect = options.aspect or _first(text, _ASPECTS) or "16:9"
    transition = options.transition or _first(text, _TRANSITIONS) or "fade"
    motion = options.motion or _first(text, _MOTIONS) or "kenburns"
    fit = options.fit or _first(text, _FITS) or "blur"
    if options.title is not None:
        title = options.title.strip() or None

    wishes = _unknown_wishes(re.sub("|".join(pattern for pattern, _ in _FITS), " ", rest, flags=re.IGNORECASE))
    music_path = options.music_path
    if music_path is None and mentions_music(text):
        wishes.append("music (no music file was given: pass music_path, or upload an audio file)")

    order = list(range(image_count))
    if _REVERSE_RE.search(text):
        order.reverse()
    return build_plan(
        order,
        duration_s=duration,
        aspect=aspect,
        transition=transition,
        transition_s=TRANSITION_S if transition_s is None else transition_s,
        motion=motion,
        fit=fit,
        title=title,
        music_path=music_path,
        unknown_wishes=wishes,
    )


def build_plan(
    order: Sequence[int],
    *,
    duration_s: float,
    aspect: Aspect = "16:9",
    fps: int = FPS,
    transition: Transition = "fade",
    transition_s: float = TRANSITION_S,
    motion: Motion = "kenburns",
    fit: Fit = "blur",
    title: str | None = None,
    title_s: float = TITLE_S,
    music_path: str | None = None,
    music_volume: float = MUSIC_VOLUME,
    unknown_wishes: Sequence[str] = (),
    names: Sequence[str] | None = None,
    paths: Sequence[str | None] | None = None,
) -> EditPlan:
    """A plan with `duration_s` split into whole-frame slots, as even as frames allow."""
    total = max(round(duration_s * fps), len(order))
    base, extra = divmod(total, len(order))
    images, start = [], 0
    for slot, index in enumerate(order):
        frames = base + (1 if slot < extra else 0)
        name = names[slot] if names else f"image {index + 1}"
        path = paths[slot] if paths else None
        images.append(PlannedImage(index=index, name=name, path=path, start_frame=start, frames=frames))
        start += frames
    transition_frames = 0
    if transition != "none" and len(order) > 1:
        transition_frames = min(round(transition_s * fps), _max_transition(images))
    if transition_frames == 0:
        transition = "none"
    return EditPlan(
        images=images,
        aspect=aspect,
        fps=fps,
        transition=transition,
        transition_frames=transition_frames,
        motion=motion,
        fit=fit,
        title=title,
        title_frames=min(round(title_s * fps), total) if title else 0,
        music_path=music_path,
        music_volume=music_volume,
        unknown_wishes=list(unknown_wishes),
    )


def _take(text: str, pattern: re.Pattern[str]) -> tuple[float | None, str]:
    """The number of the first match of `pattern`, and `text` with that match blanked out."""
    match = pattern.search(text)
    if not match:
        return None, text
    word = match.group(1)
    value = float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else float(word)
    return value, text[: match.start()] + " " + text[match.end() :]


def _first(text: str, table: Sequence[tuple[str, T]]) -> T | None:
    """The value of the earliest-mentioned pattern in `table` (ties go to the table's order)."""
    best: tuple[int, int, T] | None = None
    for rank, (pattern, value) in enumerate(table):
        match = re.search(pattern, text)
        if match and (best is None or (match.start(), rank) < best[:2]):
            best = (match.start(), rank, value)
    return best[2] if best else None


def _parse_aspect(value: str) -> Aspect | None:
    value = value.strip().lower()
    if value in FRAME_SIZES:
        return value  # type: ignore[return-value]
    return _first(value, _ASPECTS)


def _parse_transition(value: str) -> Transition | None:
    value = value.strip().lower()
    if value in ("none", "cut", "cuts"):
        return "none"
    return _first(value, _TRANSITIONS)


def _parse_motion(value: str) -> Motion | None:
    value = value.strip().lower().replace("_", " ").replace("-", " ")
    if value in ("kenburns", "none"):
        return "kenburns" if value == "kenburns" else "static"
    return _first(value, _MOTIONS)


def _parse_fit(value: str) -> Fit | None:
    value = value.strip().lower()
    if value in _FIT_WORDS:
        return value  # type: ignore[return-value]
    return _first(value, _FITS)


def _take_title(instruction: str) -> tuple[str | None, str]:
    """The title (quoted text, or `title: X` / `titled X`) and the instruction without it."""
    quoted = list(_TITLE_QUOTED_RE.finditer(instruction))
    if quoted:
        near_title = [m for m in quoted if re.search(r"title|call|name|caption|head", instruction[: m.start()], re.I)]
        match = (near_title or quoted)[0]
        text = next(group for group in match.groups() if group)
        return text.strip() or None, instruction[: match.start()] + " " + instruction[match.end() :]
    bare = _TITLE_BARE_RE.search(instruction)
    if bare and bare.group(1).strip():
        return bare.group(1).strip(), instruction[: bare.start()] + " " + instruction[bare.end() :]
    return None, instruction


def _unknown_wishes(text: str) -> list[str]:
    """Clauses of `text` that ask for something the local engine does not do, as the user wrote them."""
    wishes: list[str] = []
    for clause in _CLAUSE_SPLIT.split(text):
        clause = " ".join(clause.split())
        if clause and _UNSUPPORTED.search(clause.lower()) and clause not in wishes:
            wishes.append(clause)
    return wishes


# --- Draft -> plan -------------------------------------------------------------------------------


def plan_from_draft(draft: dict[str, Any]) -> EditPlan:
    """Read a short-key draft back into a plan, tolerantly (labels, starts and volumes in any known form)."""
    tracks = draft.get("t") if isinstance(draft, dict) else None
    if not isinstance(tracks, list):
        raise NothingToExportError()
    meta = _meta(draft)
    fps = int(meta.get("fps") or FPS)
    video = [seg for track in tracks if _track_type(track) == TRACK_VIDEO for seg in _segments(track)]
    if not video:
        raise NothingToExportError()

    cursor, images = 0, []
    for slot, segment in enumerate(video):
        seg_meta = _meta(segment)
        start_ms = _number(segment.get("start", segment.get("st", segment.get("s"))))
        start = round(start_ms * fps / 1000) if start_ms is not None else cursor
        frames = max(1, _frames(segment.get("d", segment.get("dur")), 0, fps))
        path = _local_path(seg_meta.get("src") or seg_meta.get("path") or seg_meta.get("url") or segment.get("src"))
        images.append(
            PlannedImage(
                index=int(seg_meta.get("index", slot)),
                name=str(_label(seg_meta) or f"image {slot + 1}"),
                path=path,
                start_frame=start,
                frames=frames,
            )
        )
        cursor = start + frames

    title, title_frames = None, 0
    for track in tracks:
        if _track_type(track) == TRACK_TITLE:
            for segment in _segments(track):
                label = _label(segment.get("m") or {})
                if label:
                    title = str(label)
                    title_frames = _frames(segment.get("d"), TITLE_S, fps)
                    break
        if title:
            break

    music_path, volume = None, MUSIC_VOLUME
    for track in tracks:
        if _track_type(track) == TRACK_AUDIO:
            for segment in _segments(track):
                seg_meta = segment.get("m") or {}
                music_path = _local_path(seg_meta.get("src") or seg_meta.get("path") or seg_meta.get("url"))
                raw_volume = _number(seg_meta.get("volume", segment.get("volume")))
                if raw_volume is not None:
                    volume = raw_volume / 100 if raw_volume > 1 else raw_volume
                if music_path:
                    break
        if music_path:
            break

    aspect = _parse_aspect(str(meta.get("aspect", ""))) or _aspect_of(meta.get("width"), meta.get("height"))
    transition = _parse_transition(str(meta.get("transition", "fade"))) or "fade"
    total = sum(image.frames for image in images)
    transition_frames = min(_frames(meta.get("transition_ms"), TRANSITION_S, fps), _max_transition(images))
    if transition == "none" or len(images) < 2 or transition_frames == 0:
        transition, transition_frames = "none", 0
    wishes = meta.get("unknown_wishes")
    return EditPlan(
        images=images,
        aspect=aspect,
        fps=fps,
        transition=transition,
        transition_frames=transition_frames,
        motion=_parse_motion(str(meta.get("motion", "kenburns"))) or "kenburns",
        fit=_parse_fit(str(meta.get("fit", "blur"))) or "blur",
        title=title,
        title_frames=min(max(title_frames, 1), total) if title else 0,
        music_path=music_path,
        music_volume=min(max(volume, 0.0), 1.0),
        unknown_wishes=[str(w) for w in wishes] if isinstance(wishes, list) else [],
    )


def _track_type(track: Any) -> int | None:
    if not isinstance(track, dict):
        return None
    value = _number(track.get("tt", track.get("type")))
    return int(value) if value is not None else None


def _segments(track: dict[str, Any]) -> list[dict[str, Any]]:
    segments = track.get("sg")
    return [s for s in segments if isinstance(s, dict)] if isinstance(segments, list) else []


def _meta(item: dict[str, Any]) -> dict[str, Any]:
    meta = item.get("m")
    return meta if isinstance(meta, dict) else {}


def _label(meta: dict[str, Any]) -> Any:
    return meta.get("name") or meta.get("text") or meta.get("title")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _frames(ms: Any, default_s: float, fps: int) -> int:
    value = _number(ms)
    return round((default_s * 1000 if value is None else value) * fps / 1000)


def _max_transition(images: Sequence[PlannedImage]) -> int:
    """A transition may take at most 40% of the shortest slot, so every image is seen on its own."""
    return min(image.frames for image in images) * 2 // 5


def _src(path: str | None) -> dict[str, str]:
    return {"src": file_url(path)} if path else {}


def _local_path(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if is_file_url(value):
        try:
            return str(path_of_file_url(value))
        except ValueError:
            return None
    return None if "://" in value else value


def _aspect_of(width: Any, height: Any) -> Aspect:
    w, h = _number(width), _number(height)
    if not w or not h:
        return "16:9"
    ratio = w / h
    return "9:16" if ratio < 0.8 else "1:1" if ratio < 1.25 else "16:9"
