"""The edit plan: what the local engine will render, parsed from free text and explicit options.

Pure: no files are read here. `to_draft` / `plan_from_draft` convert to and from the short-key
draft form (`t` tracks, `tt` track type, `sg` segments, `d` ms, `m` metadata) that the store keeps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, computed_field

from nemo_video_mcp.draft_view import Crop, DraftView, read_draft
from nemo_video_mcp.errors import InputError, NothingToExportError
from nemo_video_mcp.models import (
    MAX_DURATION_S,
    Aspect,
    Fit,
    Look,
    Motion,
    TextPosition,
    TextRole,
    Transition,
)
from nemo_video_mcp.paths import file_url, is_file_url, path_of_file_url
from nemo_video_mcp.render import vocabulary as words

T = TypeVar("T", bound=str)

FRAME_SIZES: dict[str, tuple[int, int]] = {"16:9": (1920, 1080), "9:16": (1080, 1920), "1:1": (1080, 1080)}
FPS = 30
MAX_FPS = 120
SECONDS_PER_IMAGE = 3.0
DEFAULT_MIN_S, DEFAULT_MAX_S = 5.0, 60.0
TRANSITION_S = 0.5
TITLE_S = 4.0
END_CARD_S = 3.0
MUSIC_VOLUME = 0.8
MUSIC_FADE_OUT_S = 1.5

TRACK_VIDEO, TRACK_AUDIO, TRACK_TEXT = 0, 1, 7
TRACK_TITLE = TRACK_TEXT


class PlanError(InputError):
    """A plan or draft cannot be rendered as given."""


class PlannedImage(BaseModel):
    """One photo on the timeline. `path` is empty until the plan is bound to uploaded files."""

    index: int = Field(description="Position in the uploaded image list.")
    name: str
    path: str | None = None
    start_frame: int = Field(ge=0)
    frames: int = Field(gt=0)
    fit: Fit | None = Field(None, description="This photo's own fit; None: the plan's `fit`.")
    look: Look = Field("none", description="The colour look drawn over this photo.")
    crop: Crop = Field(None, description="A crop window [left, top, right, bottom], fractions 0-1 of the photo.")

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames


class PlannedText(BaseModel):
    """One text overlay (title, caption or end card) and the frames it is shown over."""

    text: str
    role: TextRole
    start_frame: int = Field(ge=0)
    frames: int = Field(gt=0)
    position: TextPosition = "center"
    on: int | None = Field(None, description="A caption's photo (its `PlannedImage.index`); it follows that photo.")

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frames


class EditPlan(BaseModel):
    """Everything the renderer needs, in frames so that the total is exact.

    Texts: `texts` holds every overlay in drawing order (title, captions by time, end card);
    `title`/`title_frames` read the title among them. Music: trimmed to the video, or looped when
    `music_loop` and shorter; faded in and out over the given seconds.
    """

    images: list[PlannedImage]
    aspect: Aspect = "16:9"
    fps: int = FPS
    transition: Transition = "fade"
    transition_frames: int = Field(0, ge=0)
    motion: Motion = "kenburns"
    fit: Fit | None = Field(
        None, description="The fit asked for; None: auto, chosen per photo by its shape (`crop.fits_for`)."
    )
    texts: list[PlannedText] = Field(default_factory=list)
    music_path: str | None = None
    music_name: str | None = Field(None, description="The audio file's name as the user knows it.")
    music_volume: float = Field(MUSIC_VOLUME, ge=0, le=1)
    music_fade_in_s: float = Field(0.0, ge=0)
    music_fade_out_s: float = Field(MUSIC_FADE_OUT_S, ge=0)
    music_loop: bool = True
    unknown_wishes: list[str] = Field(default_factory=list)
    shuffle_seed: int | None = Field(None, description="The seed of the last shuffle, kept so it can be told.")
    uploads_seen: int | None = Field(None, description="How many uploaded images the timeline was made from.")

    @property
    def title(self) -> str | None:
        return next((text.text for text in self.texts if text.role == "title"), None)

    @property
    def title_frames(self) -> int:
        return next((text.frames for text in self.texts if text.role == "title"), 0)

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

    def fit_of(self, image: PlannedImage, auto: Fit = "blur") -> Fit:
        """The fit a photo is drawn with: its own, else the plan's, else `auto` (what its shape calls for)."""
        return image.fit or self.fit or auto

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
        """The short-key draft, in the shape `draft_view` documents: video, BGM, then one text track each."""
        ms = self._ms
        video = {
            "tt": TRACK_VIDEO,
            "m": {"name": "Images"},
            "sg": [
                {"start": ms(image.start_frame), "d": ms(image.frames), "m": _image_meta(image)}
                for image in self.images
            ],
        }
        tracks: list[dict[str, Any]] = [video]
        if self.music_path:
            music = {
                "name": self.music_name or Path(self.music_path).name,
                **_src(self.music_path),
                "volume": self.music_volume,
                "fade_in_ms": round(self.music_fade_in_s * 1000),
                "fade_out_ms": round(self.music_fade_out_s * 1000),
                "loop": self.music_loop,
            }
            tracks.append(
                {"tt": TRACK_AUDIO, "m": {"name": "BGM"}, "sg": [{"start": 0, "d": ms(self.total_frames), "m": music}]}
            )
        for text in self.texts:
            meta: dict[str, Any] = {"text": text.text, "role": text.role, "position": text.position}
            if text.on is not None:
                meta["on"] = text.on
            segment = {"start": ms(text.start_frame), "d": ms(text.frames), "m": meta}
            name = "Title" if text.role == "title" else "Text"
            tracks.append({"tt": TRACK_TEXT, "m": {"name": name, "role": text.role}, "sg": [segment]})
        width, height = self.size
        draft_meta: dict[str, Any] = {
            "width": width,
            "height": height,
            "aspect": self.aspect,
            "fps": self.fps,
            "transition": self.transition,
            "transition_ms": ms(self.transition_frames),
            "motion": self.motion,
            "engine": "local",
        }
        if self.fit:
            draft_meta["fit"] = self.fit
        if self.unknown_wishes:
            draft_meta["unknown_wishes"] = list(self.unknown_wishes)
        if self.shuffle_seed is not None:
            draft_meta["shuffle_seed"] = self.shuffle_seed
        if self.uploads_seen is not None:
            draft_meta["uploads_seen"] = self.uploads_seen
        return {"d": ms(self.total_frames), "m": draft_meta, "t": tracks}

    def _ms(self, frames: int) -> int:
        return round(frames * 1000 / self.fps)


def _image_meta(image: PlannedImage) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": image.name, "index": image.index, **_src(image.path)}
    if image.fit:
        meta["fit"] = image.fit
    if image.look != "none":
        meta["look"] = image.look
    if image.crop:
        meta["crop"] = list(image.crop)
    return meta


FIT_WORDS: dict[str, str] = {
    "blur": "Pictures of another shape sit on a blurred copy of themselves (fit: blur).",
    "contain": "Pictures of another shape get black bars (fit: contain).",
    "cover": "Pictures are cropped to fill the frame (fit: cover).",
    "smart": "Pictures of another shape are cropped around their subject (fit: smart).",
}
LOOK_WORDS: dict[str, str] = {"none": "none", "bw": "black-and-white", "sepia": "sepia", "warm": "warm", "cool": "cool"}


def framing_words(plan: EditPlan, fits: Sequence[Fit] | None) -> str:
    """How the photos are framed: the fit asked for, or with auto (no fit asked) the fit each photo got
    from its shape (`fits`, in timeline order), named."""
    if plan.fit:
        return FIT_WORDS[plan.fit]
    if not fits:
        return "Framing: auto (smart where a photo's shape is far from the frame's, else blur)."
    smart = [str(slot) for slot, fit in enumerate(fits, 1) if fit == "smart"]
    if not smart:
        return "Framing (auto): " + FIT_WORDS["blur"]
    if len(smart) == len(fits):
        return "Framing (auto): " + FIT_WORDS["smart"]
    return (
        f"Framing (auto): photo{'s' if len(smart) > 1 else ''} {', '.join(smart)} cropped around the subject "
        "(fit: smart; its shape is far from the frame's), the others on a blurred copy (fit: blur)."
    )


def describe_plan(plan: EditPlan, fits: Sequence[Fit] | None = None) -> str:
    """The plan in plain words, ending with what the text asked for that the engine cannot do.

    `fits` are the fits the photos get (`crop.fits_for`), named when the plan's fit is auto."""
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
        framing_words(plan, fits),
        f'Title: "{plan.title}" for the first {plan.title_frames / plan.fps:g} s.' if plan.title else "No title.",
    ]
    for text in plan.texts:
        span = f"{text.start_frame / plan.fps:g}-{text.end_frame / plan.fps:g} s"
        if text.role == "caption":
            parts.append(f'Caption: "{text.text}" ({span}).')
        elif text.role == "end_card":
            parts.append(f'End card: "{text.text}" ({span}).')
    looks = {LOOK_WORDS[image.look] for image in plan.images if image.look != "none"}
    if looks:
        parts.append(f"Look: {', '.join(sorted(looks))}.")
    if plan.music_path:
        fades = f", faded in over {plan.music_fade_in_s:g} s" if plan.music_fade_in_s else ""
        fades += f", faded out over {plan.music_fade_out_s:g} s" if plan.music_fade_out_s else ""
        parts.append(
            f"Music: {plan.music_name or Path(plan.music_path).name} at {round(plan.music_volume * 100)}% volume"
            f"{fades}{'' if plan.music_loop else ', played once'}."
        )
    else:
        parts.append("No music.")
    if plan.shuffle_seed is not None:
        parts.append(f"Shuffled (seed {plan.shuffle_seed}).")
    if plan.unknown_wishes:
        parts.append("Not supported offline: " + "; ".join(plan.unknown_wishes) + ".")
    return " ".join(parts)


def default_plan(image_count: int) -> EditPlan:
    """What an instruction that asks for nothing gets: 3 s a photo (5-60 s in all), 16:9, fades, ken burns."""
    if image_count < 1:
        raise PlanError("There are no images to put in the video.", "Call upload_images first.")
    duration = min(max(SECONDS_PER_IMAGE * image_count, DEFAULT_MIN_S), DEFAULT_MAX_S)
    return build_plan(range(image_count), duration_s=duration, uploads_seen=image_count)


def build_plan(
    order: Sequence[int],
    *,
    duration_s: float,
    aspect: Aspect = "16:9",
    fps: int = FPS,
    transition: Transition = "fade",
    transition_s: float = TRANSITION_S,
    motion: Motion = "kenburns",
    fit: Fit | None = None,
    title: str | None = None,
    title_s: float = TITLE_S,
    music_path: str | None = None,
    music_volume: float = MUSIC_VOLUME,
    unknown_wishes: Sequence[str] = (),
    names: Sequence[str] | None = None,
    paths: Sequence[str | None] | None = None,
    uploads_seen: int | None = None,
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
        transition_frames = min(round(transition_s * fps), max_transition_frames(images))
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
        texts=[PlannedText(text=title, role="title", start_frame=0, frames=min(round(title_s * fps), total))]
        if title
        else [],
        music_path=music_path,
        music_volume=music_volume,
        unknown_wishes=list(unknown_wishes),
        uploads_seen=uploads_seen,
    )


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
    return _first(value, words.ASPECTS)


def _parse_transition(value: str) -> Transition | None:
    value = value.strip().lower()
    if value in ("none", "cut", "cuts"):
        return "none"
    return _first(value, words.TRANSITIONS)


def _parse_motion(value: str) -> Motion | None:
    value = value.strip().lower().replace("_", " ").replace("-", " ")
    if value in ("kenburns", "none"):
        return "kenburns" if value == "kenburns" else "static"
    return _first(value, words.MOTIONS)


def _parse_fit(value: str) -> Fit | None:
    value = value.strip().lower()
    if value in FIT_WORDS:
        return value  # type: ignore[return-value]
    return _first(value, words.FITS)


# --- Draft -> plan -------------------------------------------------------------------------------


def plan_from_draft(draft: Mapping[str, Any] | DraftView) -> EditPlan:
    """Read a short-key draft (either backend's) back into a plan, through the one draft reader."""
    view = draft if isinstance(draft, DraftView) else read_draft(draft)
    meta = view.meta
    fps = int(meta.fps) if meta.fps is not None and 1 <= meta.fps <= MAX_FPS else FPS
    video = [segment for track in view.of_type(TRACK_VIDEO) for segment in track.segments]
    if not video:
        raise NothingToExportError()

    def frames_of(ms: float | None, default_s: float) -> int:
        return round((default_s * 1000 if ms is None else ms) * fps / 1000)

    cursor, images = 0, []
    for slot, segment in enumerate(video):
        start = round(segment.start_ms * fps / 1000) if segment.start_ms is not None else cursor
        frames = max(1, frames_of(segment.duration_ms, 0))
        images.append(
            PlannedImage(
                index=segment.index if segment.index is not None and segment.index >= 0 else slot,
                name=segment.label or f"image {slot + 1}",
                path=_local_path(segment.src),
                start_frame=max(0, start),
                frames=frames,
                fit=segment.fit,
                look=segment.look or "none",
                crop=segment.crop,
            )
        )
        cursor = max(0, start) + frames
    total = sum(image.frames for image in images)

    texts: list[PlannedText] = []
    for track in view.of_type(TRACK_TEXT):
        role = track.text_role or ("title" if not texts else "caption")
        for segment in track.segments:
            if segment.label:
                start = min(max(0, frames_of(segment.start_ms, 0)), total - 1)
                default_s = TITLE_S if role == "title" else (total - start) / fps
                frames = min(max(1, frames_of(segment.duration_ms, default_s)), total - start)
                position = segment.position or ("bottom" if role == "caption" else "center")
                texts.append(
                    PlannedText(
                        text=segment.label,
                        role=role,
                        start_frame=start,
                        frames=frames,
                        position=position,
                        on=segment.on,
                    )
                )
    texts = _one_title(texts)

    music = next(
        (segment for track in view.of_type(TRACK_AUDIO) for segment in track.segments if _local_path(segment.src)),
        None,
    )
    volume = music.volume if music is not None and music.volume is not None and music.volume >= 0 else None
    aspect = _parse_aspect(meta.aspect or "") or _aspect_of(meta.width, meta.height)
    transition = _parse_transition(meta.transition or "fade") or "fade"
    transition_frames = min(frames_of(meta.transition_ms, TRANSITION_S), max_transition_frames(images))
    if transition == "none" or len(images) < 2 or transition_frames <= 0:
        transition, transition_frames = "none", 0
    return EditPlan(
        images=images,
        aspect=aspect,
        fps=fps,
        transition=transition,
        transition_frames=transition_frames,
        motion=_parse_motion(meta.motion or "kenburns") or "kenburns",
        fit=_parse_fit(meta.fit) if meta.fit else None,
        texts=texts,
        music_path=_local_path(music.src) if music else None,
        music_name=music.label if music else None,
        music_volume=MUSIC_VOLUME if volume is None else min(volume / 100 if volume > 1 else volume, 1.0),
        music_fade_in_s=_seconds(music.fade_in_ms if music else None, 0.0),
        music_fade_out_s=_seconds(music.fade_out_ms if music else None, MUSIC_FADE_OUT_S),
        music_loop=True if music is None or music.loop is None else music.loop,
        unknown_wishes=list(meta.unknown_wishes),
        shuffle_seed=meta.shuffle_seed,
        uploads_seen=meta.uploads_seen if meta.uploads_seen is not None and meta.uploads_seen >= 0 else None,
    )


def _one_title(texts: list[PlannedText]) -> list[PlannedText]:
    """At most one title (the first); the others become captions where they are."""
    titles = [text for text in texts if text.role == "title"]
    extra = [text.model_copy(update={"role": "caption"}) for text in titles[1:]]
    rest = [text for text in texts if text.role != "title"] + extra
    return (
        titles[:1]
        + sorted((t for t in rest if t.role == "caption"), key=lambda t: t.start_frame)
        + [t for t in rest if t.role == "end_card"]
    )


def _seconds(ms: float | None, default_s: float) -> float:
    return default_s if ms is None or ms < 0 else min(ms / 1000, MAX_DURATION_S)


def max_transition_frames(images: Sequence[PlannedImage]) -> int:
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


def _aspect_of(width: float | None, height: float | None) -> Aspect:
    w, h = width, height
    if not w or not h:
        return "16:9"
    ratio = w / h
    return "9:16" if ratio < 0.8 else "1:1" if ratio < 1.25 else "16:9"
