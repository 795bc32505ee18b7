"""An edit as a list of changes to the timeline that exists: parsed from free text, applied to a plan.

`parse_edit` reads an instruction (English or Chinese, words from `render/vocabulary.py`) into
`Change`s; what it cannot do is a short wish (`slow motion`), never the clause around it.
`apply_changes` applies them to the current `EditPlan`: what the instruction does not mention stays.
`describe_edit` says what changed and what was kept. Pure: nothing is read or written here.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from nemo_video_mcp.draft import format_seconds
from nemo_video_mcp.models import (
    MAX_DURATION_S,
    MIN_DURATION_S,
    Aspect,
    EditOptions,
    Fit,
    Look,
    Motion,
    TextPosition,
    TextRole,
    Transition,
)
from nemo_video_mcp.render import vocabulary as words
from nemo_video_mcp.render.plan import (
    END_CARD_S,
    LOOK_WORDS,
    TITLE_S,
    TRANSITION_S,
    EditPlan,
    PlannedImage,
    PlannedText,
    default_plan,
    framing_words,
    max_transition_frames,
)

# --- Changes -------------------------------------------------------------------------------------


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True)


class StartOver(_Change):
    kind: Literal["start_over"] = "start_over"


class SetDuration(_Change):
    kind: Literal["duration"] = "duration"
    seconds: float


class SetPhotoDuration(_Change):
    """`photo`: a 1-based slot on the timeline before the edit (-1 the last); None: every photo."""

    kind: Literal["photo_duration"] = "photo_duration"
    seconds: float
    photo: int | None = None


class SetSpeed(_Change):
    """Each photo's time multiplied by `factor` (< 1 is faster)."""

    kind: Literal["speed"] = "speed"
    factor: float


class SetAspect(_Change):
    kind: Literal["aspect"] = "aspect"
    aspect: Aspect


class SetTransition(_Change):
    kind: Literal["transition"] = "transition"
    transition: Transition | None = None
    seconds: float | None = None


class SetMotion(_Change):
    kind: Literal["motion"] = "motion"
    motion: Motion


class SetFit(_Change):
    kind: Literal["fit"] = "fit"
    fit: Fit


class SetFps(_Change):
    kind: Literal["fps"] = "fps"
    fps: int


class SetLook(_Change):
    kind: Literal["look"] = "look"
    look: Look
    photo: int | None = None


class SetTitle(_Change):
    """`text` None removes the title."""

    kind: Literal["title"] = "title"
    text: str | None


class AddText(_Change):
    kind: Literal["add_text"] = "add_text"
    text: str
    role: TextRole
    photo: int | None = None


class RemoveTexts(_Change):
    kind: Literal["remove_texts"] = "remove_texts"
    role: TextRole
    photo: int | None = None


class SetMusic(_Change):
    """Music wanted, or changed: each field None leaves that setting as it is."""

    kind: Literal["music"] = "music"
    volume: float | None = None
    volume_factor: float | None = None
    fade_in_s: float | None = None
    fade_out_s: float | None = None
    loop: bool | None = None
    path: str | None = Field(None, description="An explicit file (the music_path option).")


class RemoveMusic(_Change):
    kind: Literal["remove_music"] = "remove_music"


class Reverse(_Change):
    kind: Literal["reverse"] = "reverse"


class Shuffle(_Change):
    kind: Literal["shuffle"] = "shuffle"
    seed: int


class MovePhoto(_Change):
    """`to`: the 1-based slot it goes to (-1 the end)."""

    kind: Literal["move"] = "move"
    photo: int
    to: int


class SwapPhotos(_Change):
    kind: Literal["swap"] = "swap"
    a: int
    b: int


class RemovePhoto(_Change):
    kind: Literal["remove_photo"] = "remove_photo"
    photo: int


Change = (
    StartOver | SetDuration | SetPhotoDuration | SetSpeed | SetAspect | SetTransition | SetMotion | SetFit | SetFps
    | SetLook | SetTitle | AddText | RemoveTexts | SetMusic | RemoveMusic | Reverse | Shuffle | MovePhoto
    | SwapPhotos | RemovePhoto
)  # fmt: skip


class ParsedEdit(BaseModel):
    """What one instruction asks: the changes in the order they apply, and the wishes nobody can do here."""

    changes: list[Change] = Field(default_factory=list)
    unknown_wishes: list[str] = Field(default_factory=list)

    @property
    def starts_over(self) -> bool:
        return any(isinstance(change, StartOver) for change in self.changes)

    @property
    def wants_music(self) -> bool:
        return any(isinstance(change, SetMusic) for change in self.changes)


# --- Parsing -------------------------------------------------------------------------------------


_T = TypeVar("_T", bound=str)


@dataclass
class _Reading:
    """The instruction being read: lower-cased, quoted texts as placeholders, read parts blanked."""

    text: str
    quotes: list[str]
    changes: list[Change] = field(default_factory=list)
    wishes: list[str] = field(default_factory=list)

    def take(self, pattern: str) -> list[re.Match[str]]:
        """Every match of `pattern`, blanked out of the text so nothing else reads it."""
        found = list(re.finditer(pattern, self.text))
        for match in reversed(found):
            self.text = self.text[: match.start()] + " " * (match.end() - match.start()) + self.text[match.end() :]
        return found

    def earliest(self, table: Sequence[tuple[str, _T]]) -> _T | None:
        """The value of the earliest mention among `table`'s patterns; every mention is blanked."""
        best: tuple[int, int, _T] | None = None
        for rank, (pattern, value) in enumerate(table):
            for match in self.take(pattern):
                if best is None or (match.start(), rank) < best[:2]:
                    best = (match.start(), rank, value)
        return best[2] if best else None

    def quoted(self, placeholder: str | None) -> str | None:
        found = re.search(r"\d+", placeholder or "")
        return self.quotes[int(found.group(0))] if found else None


_PLACEHOLDER = "⟦{}⟧"


def parse_edit(instruction: str, options: EditOptions | None = None, *, seed: int | None = None) -> ParsedEdit:
    """The changes `instruction` asks for, then those of the explicit `options` (which win).

    `seed`: the shuffle's seed when the text gives none (else a random one, recorded in the plan).
    """
    reading = _read_quotes(instruction)
    for rule in _RULES:
        rule(reading)
    if seed is not None:
        reading.changes = [Shuffle(seed=seed) if isinstance(c, Shuffle) and c.seed < 0 else c for c in reading.changes]
    reading.changes = [
        Shuffle(seed=secrets.randbelow(2**31)) if isinstance(c, Shuffle) and c.seed < 0 else c for c in reading.changes
    ]
    changes = reading.changes + _option_changes(options or EditOptions())
    return ParsedEdit(changes=_in_applying_order(changes), unknown_wishes=list(dict.fromkeys(reading.wishes)))


def _read_quotes(instruction: str) -> _Reading:
    """Quoted texts (and an unquoted `titled X`) become placeholders; the rest is lower-cased.

    `remove the title` is read here, before an unquoted title could take its words.
    """
    quotes: list[str] = []

    def hold(text: str) -> str:
        quotes.append(" ".join(text.split()))
        return " " + _PLACEHOLDER.format(len(quotes) - 1) + " "

    text = words.QUOTED_RE.sub(lambda m: hold(next(g for g in m.groups() if g)), instruction)
    removals = len(re.findall(words.REMOVE_TITLE, text, flags=re.IGNORECASE))
    text = re.sub(words.REMOVE_TITLE, " ", text, flags=re.IGNORECASE)

    def hold_bare(match: re.Match[str]) -> str:
        start, end = match.span(1)
        return match.string[match.start() : start] + hold(match.group(1)) + match.string[end : match.end()]

    text = re.sub(words.TITLE_BARE, hold_bare, text, count=1, flags=re.IGNORECASE)
    changes: list[Change] = [SetTitle(text=None)] if removals else []
    return _Reading(text=text.lower(), quotes=quotes, changes=changes)


def _texts(reading: _Reading) -> None:
    if reading.take(words.REMOVE_END_CARD):
        reading.changes.append(RemoveTexts(role="end_card"))
    for match in reading.take(words.REMOVE_CAPTION):
        photo = match.group("photo")
        reading.changes.append(RemoveTexts(role="caption", photo=words.photo_number(photo) if photo else None))
    for match in reading.take(words.END_CARD):
        text = reading.quoted(match.group("q") or match.group("q2") or match.group("q3"))
        if text:
            reading.changes.append(AddText(text=text, role="end_card"))
    for match in reading.take(words.CAPTION):
        text = reading.quoted(next(g for g in (match.group(f"q{n}") for n in ("", "2", "3", "4")) if g))
        photo = next(g for g in (match.group(f"photo{n}") for n in ("", "2", "3", "4")) if g)
        if text:
            reading.changes.append(AddText(text=text, role="caption", photo=words.photo_number(photo)))
    titles = reading.take(words.TITLE_QUOTED) or reading.take(words.Q)  # a quote with no other use is the title
    if titles:
        reading.changes.append(SetTitle(text=reading.quoted(titles[0].group(0))))


def _unknown(reading: _Reading) -> None:
    for match in words.UNSUPPORTED_RE.finditer(reading.text):
        reading.wishes.append(match.group(0))
    reading.text = words.UNSUPPORTED_RE.sub(lambda m: " " * len(m.group(0)), reading.text)


def _structure(reading: _Reading) -> None:
    if reading.take(words.START_OVER):
        reading.changes.append(StartOver())
    for match in reading.take(words.REMOVE_PHOTO):
        if match.group("list"):
            numbers = [int(n) for n in re.findall(r"\d{1,3}", match.group("list"))]
        else:
            numbers = [words.photo_number(match.group("photo"))]
        reading.changes += [RemovePhoto(photo=n) for n in numbers]
    for match in reading.take(words.MOVE_PHOTO):
        to = 1 if match.group("start") else -1 if match.group("end") else int(match.group("to"))
        reading.changes.append(MovePhoto(photo=words.photo_number(match.group("photo")), to=to))
    for match in reading.take(words.SWAP_PHOTOS):
        if match.group("a"):
            a, b = words.photo_number(match.group("a")), words.photo_number(match.group("b"))
        else:
            a, b = int(match.group("a2")), int(match.group("b2"))
        reading.changes.append(SwapPhotos(a=a, b=b))
    for match in reading.take(words.SHUFFLE):
        seed = match.groupdict().get("seed")
        reading.changes.append(Shuffle(seed=int(seed) if seed else -1))
    if reading.take(words.REVERSE):
        reading.changes.append(Reverse())


def _music(reading: _Reading) -> None:
    if reading.take(words.REMOVE_MUSIC):
        reading.changes.append(RemoveMusic())
    for match in reading.take(words.MUSIC_VOLUME):
        percent = next(g for g in (match.group(f"percent{n}") for n in ("", "2", "3", "4")) if g)
        reading.changes.append(SetMusic(volume=min(int(percent), 100) / 100))
    if reading.take(words.QUIETER):
        reading.changes.append(SetMusic(volume_factor=words.VOLUME_STEP))
    if reading.take(words.LOUDER):
        reading.changes.append(SetMusic(volume_factor=1 / words.VOLUME_STEP))
    for match in reading.take(words.MUSIC_FADE):
        way = next(g for g in (match.group(f"way{n}") for n in ("", "2", "3", "4")) if g)
        seconds = words.number_of(match.group("seconds")) if match.group("seconds") else words.MUSIC_FADE_S
        fade_in = way in ("in", "淡入")
        reading.changes.append(SetMusic(fade_in_s=seconds) if fade_in else SetMusic(fade_out_s=seconds))
    if reading.take(words.MUSIC_ONCE):
        reading.changes.append(SetMusic(loop=False))
    if reading.take(words.MUSIC_LOOP):
        reading.changes.append(SetMusic(loop=True))
    if reading.take(words.ADD_MUSIC) and not any(isinstance(c, SetMusic | RemoveMusic) for c in reading.changes):
        reading.changes.append(SetMusic())


def _frame(reading: _Reading) -> None:
    for match in reading.take(words.FPS_RE):
        reading.changes.append(SetFps(fps=round(words.number_of(match.group(1)))))
    for match in reading.take(words.PHOTO_LOOK):
        look_words = match.group("look") or match.group("look2")
        look = _value_of(look_words, words.LOOKS)
        photo = words.photo_number(match.group("photo") or match.group("photo2"))
        if look:
            reading.changes.append(SetLook(look=look, photo=photo))
    look = reading.earliest(words.LOOKS)
    if look:
        reading.changes.append(SetLook(look=look))
    aspect = reading.earliest(words.ASPECTS)
    if aspect:
        reading.changes.append(SetAspect(aspect=aspect))
    fit = reading.earliest(words.FITS)
    if fit:
        reading.changes.append(SetFit(fit=fit))


def _timing(reading: _Reading) -> None:
    lengths = reading.take(words.TRANSITION_LENGTH)
    transition = reading.earliest(words.TRANSITIONS)
    if lengths or transition:
        seconds = words.number_of(lengths[0].group(1)) if lengths else None
        reading.changes.append(SetTransition(transition=transition, seconds=seconds))
    motion = reading.earliest(words.MOTIONS)
    if motion:
        reading.changes.append(SetMotion(motion=motion))
    for match in reading.take(words.PER_PHOTO):
        number = next(g for g in match.groups() if g)
        reading.changes.append(SetPhotoDuration(seconds=words.number_of(number)))
    for match in reading.take(words.PHOTO_DURATION):
        photo = words.photo_number(match.group("photo") or match.group("photo2"))
        seconds = words.number_of(match.group("seconds") or match.group("seconds2"))
        reading.changes.append(SetPhotoDuration(seconds=seconds, photo=photo))
    minutes = [words.number_of(m.group(1)) for m in reading.take(words.TOTAL_MINUTES)]
    plain = [words.number_of(m.group(1)) for m in reading.take(words.TOTAL_SECONDS)]
    if minutes or plain:
        reading.changes.append(SetDuration(seconds=(minutes[0] if minutes else 0) * 60 + (plain[0] if plain else 0)))
    if reading.take(words.FASTER):
        reading.changes.append(SetSpeed(factor=words.SPEED_FACTOR))
    if reading.take(words.SLOWER):
        reading.changes.append(SetSpeed(factor=1 / words.SPEED_FACTOR))


_RULES: list[Callable[[_Reading], None]] = [_texts, _unknown, _structure, _music, _frame, _timing]
"""In this order: texts first (their words must not be read as settings), then what cannot be done
(so `slow motion` is not `motion`), then the rest."""


def _value_of(text: str, table: Sequence[tuple[str, _T]]) -> _T | None:
    return next((value for pattern, value in table if re.search(pattern, text)), None)


def _option_changes(options: EditOptions) -> list[Change]:
    changes: list[Change] = []
    if options.duration_s is not None:
        changes.append(SetDuration(seconds=options.duration_s))
    if options.aspect:
        changes.append(SetAspect(aspect=options.aspect))
    if options.transition:
        changes.append(SetTransition(transition=options.transition))
    if options.motion:
        changes.append(SetMotion(motion=options.motion))
    if options.fit:
        changes.append(SetFit(fit=options.fit))
    if options.title is not None:
        changes.append(SetTitle(text=options.title.strip() or None))
    if options.music_path:
        changes.append(SetMusic(path=options.music_path))
    return changes


def _in_applying_order(changes: list[Change]) -> list[Change]:
    """Structure first (photo numbers name the timeline before the edit), then timing, then the rest.
    Within a kind the instruction's order is kept, and the options (which come last) win."""
    order = list(_APPLY)
    return sorted(changes, key=lambda change: order.index(type(change)))


# --- Applying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MusicFile:
    """An audio file the edit may use: its path in the store and the name the user gave it."""

    path: str
    name: str


@dataclass
class AppliedEdit:
    plan: EditPlan
    notes: list[str]
    """What could not be done as asked (a photo that is not there, music with no file), in words."""


def first_plan(
    instruction: str, image_count: int, options: EditOptions, *, music: MusicFile | None = None, seed: int | None = None
) -> EditPlan:
    """The plan a first instruction makes: the default plan with the instruction's changes."""
    if music is None and options.music_path:
        music = MusicFile(path=options.music_path, name=PurePath(options.music_path).name)
    return apply_changes(default_plan(image_count), parse_edit(instruction, options, seed=seed), music=music).plan


def apply_changes(plan: EditPlan, edit: ParsedEdit, *, music: MusicFile | None = None) -> AppliedEdit:
    """`plan` with `edit`'s changes applied; everything they do not touch is kept.

    `music`: the file to use when the edit asks for music and the plan has none (or names `path`).
    Music asked for with no file to use is an unknown wish of the plan, as everything else it cannot do.
    """
    state = _Editing(plan, music)
    for change in edit.changes:
        _APPLY[type(change)](state, change)
    wishes = [*edit.unknown_wishes, *state.wishes]
    changed = plan.model_copy(update={**state.updates, "fps": state.fps, "unknown_wishes": wishes})
    settled = settle(changed, state.slots, state.transition_s, state.texts, old_fps=plan.fps)
    return AppliedEdit(plan=settled, notes=state.notes)


@dataclass
class _Slot:
    image: PlannedImage
    seconds: float
    look: Look | None = None


class _Editing:
    """A plan while an edit is applied to it: photos as slots in seconds, settings as updates."""

    def __init__(self, plan: EditPlan, music: MusicFile | None) -> None:
        self.plan = plan
        self.music = music
        self.slots = [_Slot(image, image.frames / plan.fps) for image in plan.images]
        self.before = list(self.slots)  # photo numbers name the timeline as it was before this edit
        self.fps = plan.fps
        self.transition_s = plan.transition_s if plan.transition != "none" else TRANSITION_S
        self.texts = list(plan.texts)
        self.updates: dict[str, Any] = {}
        self.notes: list[str] = []
        self.wishes: list[str] = []

    def slot(self, number: int | None) -> _Slot | None:
        """The photo at 1-based `number` before the edit (-1 the last), if it is still on the timeline."""
        if number == -1 and self.before:
            found = self.before[-1]
        elif number is not None and 1 <= number <= len(self.before):
            found = self.before[number - 1]
        else:
            self.notes.append(f"There is no photo {number} (the timeline has {len(self.before)}).")
            return None
        return found if found in self.slots else None

    def chosen(self, number: int | None) -> list[_Slot]:
        """Every photo (None), or the one numbered."""
        if number is None:
            return self.slots
        found = self.slot(number)
        return [found] if found else []

    @property
    def has_music(self) -> bool:
        return self.updates.get("music_path", self.plan.music_path) is not None

    @property
    def volume(self) -> float:
        return float(self.updates.get("music_volume", self.plan.music_volume))


def _remove_photo(state: _Editing, change: RemovePhoto) -> None:
    found = state.slot(change.photo)
    if found and len(state.slots) > 1:
        state.slots.remove(found)
    elif found:
        state.notes.append("The last photo stays: a video needs at least one.")


def _move_photo(state: _Editing, change: MovePhoto) -> None:
    found = state.slot(change.photo)
    if found:
        state.slots.remove(found)
        place = len(state.slots) if change.to == -1 else max(0, min(change.to - 1, len(state.slots)))
        state.slots.insert(place, found)


def _swap_photos(state: _Editing, change: SwapPhotos) -> None:
    a, b = state.slot(change.a), state.slot(change.b)
    if a and b:
        i, j = state.slots.index(a), state.slots.index(b)
        state.slots[i], state.slots[j] = b, a


def _reverse(state: _Editing, change: Reverse) -> None:
    state.slots.reverse()


def _shuffle(state: _Editing, change: Shuffle) -> None:
    random.Random(change.seed).shuffle(state.slots)
    state.updates["shuffle_seed"] = change.seed


def _set_fps(state: _Editing, change: SetFps) -> None:
    if change.fps in words.OFFERED_FPS:
        state.fps = change.fps
    else:
        offered = ", ".join(str(fps) for fps in words.OFFERED_FPS)
        state.notes.append(f"{change.fps} fps is not offered (choose {offered}); the frame rate stays {state.fps}.")


def _set_duration(state: _Editing, change: SetDuration) -> None:
    wanted = min(max(change.seconds, MIN_DURATION_S), MAX_DURATION_S)
    total = sum(slot.seconds for slot in state.slots)
    for slot in state.slots:
        slot.seconds *= wanted / total


def _set_speed(state: _Editing, change: SetSpeed) -> None:
    total = sum(slot.seconds for slot in state.slots)
    factor = min(max(change.factor, MIN_DURATION_S / total), MAX_DURATION_S / total)
    for slot in state.slots:
        slot.seconds *= factor


def _set_photo_duration(state: _Editing, change: SetPhotoDuration) -> None:
    for slot in state.chosen(change.photo):
        slot.seconds = min(max(change.seconds, 0.2), MAX_DURATION_S / max(1, len(state.slots)))


def _set_aspect(state: _Editing, change: SetAspect) -> None:
    state.updates["aspect"] = change.aspect


def _set_transition(state: _Editing, change: SetTransition) -> None:
    if change.transition:
        state.updates["transition"] = change.transition
    if change.seconds is not None:
        state.transition_s = change.seconds


def _set_motion(state: _Editing, change: SetMotion) -> None:
    state.updates["motion"] = change.motion


def _set_fit(state: _Editing, change: SetFit) -> None:
    state.updates["fit"] = change.fit


def _set_look(state: _Editing, change: SetLook) -> None:
    for slot in state.chosen(change.photo):
        slot.look = change.look


def _remove_music(state: _Editing, change: RemoveMusic) -> None:
    if state.has_music:
        state.updates.update(music_path=None, music_name=None)


def _set_music(state: _Editing, change: SetMusic) -> None:
    if change.path or not state.has_music:
        if state.music is None:
            if not state.has_music:
                state.wishes.append("music (no music file was given: pass music_path, or upload an audio file)")
            return
        state.updates.update(music_path=state.music.path, music_name=state.music.name)
    if change.volume is not None:
        state.updates["music_volume"] = min(max(change.volume, 0.0), 1.0)
    elif change.volume_factor is not None:
        state.updates["music_volume"] = round(min(max(state.volume * change.volume_factor, 0.05), 1.0), 2)
    if change.fade_in_s is not None:
        state.updates["music_fade_in_s"] = min(change.fade_in_s, MAX_DURATION_S)
    if change.fade_out_s is not None:
        state.updates["music_fade_out_s"] = min(change.fade_out_s, MAX_DURATION_S)
    if change.loop is not None:
        state.updates["music_loop"] = change.loop


def _remove_texts(state: _Editing, change: RemoveTexts) -> None:
    on = None
    if change.photo is not None:
        found = state.slot(change.photo)
        if found is None:
            return
        on = found.image.index
    state.texts = [t for t in state.texts if not (t.role == change.role and (on is None or t.on == on))]


def _set_title(state: _Editing, change: SetTitle) -> None:
    state.texts = [t for t in state.texts if t.role != "title"]
    if change.text:
        state.texts.insert(0, PlannedText(text=change.text, role="title", start_frame=0, frames=1))


def _add_text(state: _Editing, change: AddText) -> None:
    on = None
    if change.role == "caption":
        found = state.slot(change.photo)
        if found is None:
            return
        on = found.image.index
    state.texts = [t for t in state.texts if not (t.role == change.role and t.on == on)]  # one text per place
    position: TextPosition = "bottom" if change.role == "caption" else "center"
    state.texts.append(
        PlannedText(text=change.text, role=change.role, start_frame=0, frames=1, position=position, on=on)
    )


def _start_over(state: _Editing, change: StartOver) -> None:
    """Nothing to do here: the caller starts from the default plan."""


_APPLY: dict[type[_Change], Callable[[_Editing, Any], None]] = {
    StartOver: _start_over,
    RemovePhoto: _remove_photo,
    MovePhoto: _move_photo,
    SwapPhotos: _swap_photos,
    Reverse: _reverse,
    Shuffle: _shuffle,
    SetFps: _set_fps,
    SetDuration: _set_duration,
    SetSpeed: _set_speed,
    SetPhotoDuration: _set_photo_duration,
    SetAspect: _set_aspect,
    SetTransition: _set_transition,
    SetMotion: _set_motion,
    SetFit: _set_fit,
    SetLook: _set_look,
    RemoveMusic: _remove_music,
    SetMusic: _set_music,
    RemoveTexts: _remove_texts,
    SetTitle: _set_title,
    AddText: _add_text,
}
"""Each change's effect, in the order changes apply: structure first (photo numbers name the timeline
before the edit), then the frame rate and timing, then the look, the music and the texts."""


def add_new_photos(plan: EditPlan, image_count: int) -> EditPlan:
    """`plan` with the images uploaded since it was made appended, each as long as the average photo."""
    seen = plan.uploads_seen if plan.uploads_seen is not None else max(image.index for image in plan.images) + 1
    new = [index for index in range(seen, image_count) if all(image.index != index for image in plan.images)]
    if not new:
        return plan.model_copy(update={"uploads_seen": max(seen, image_count)})
    slots = [_Slot(image, image.frames / plan.fps) for image in plan.images]
    each = sum(slot.seconds for slot in slots) / len(slots)
    for index in new:
        slots.append(_Slot(PlannedImage(index=index, name=f"image {index + 1}", start_frame=0, frames=1), each))
    return settle(plan.model_copy(update={"uploads_seen": image_count}), slots)


def settle(
    plan: EditPlan,
    slots: Sequence[_Slot] | None = None,
    transition_s: float | None = None,
    texts: Sequence[PlannedText] | None = None,
    *,
    old_fps: int | None = None,
) -> EditPlan:
    """Lay the photos end to end in whole frames (the total exact), fit the transition between them and
    put each text where it belongs: the title from 0, a caption over its photo (it goes with it), the
    end card over the last seconds."""
    fps = plan.fps
    if slots is None:
        slots = [_Slot(image, image.frames / (old_fps or fps)) for image in plan.images]
    ends, elapsed, images = 0, 0.0, []
    for slot in slots:
        elapsed += slot.seconds
        end = max(round(elapsed * fps), ends + 1)
        update: dict[str, object] = {"start_frame": ends, "frames": end - ends}
        if slot.look is not None:
            update["look"] = slot.look
        images.append(slot.image.model_copy(update=update))
        ends = end
    total = ends
    transition = plan.transition
    wanted = plan.transition_s if transition_s is None else transition_s
    frames = 0
    if transition != "none" and len(images) > 1:
        frames = max(0, min(round(wanted * fps), max_transition_frames(images)))
    placed = _place_texts(texts if texts is not None else plan.texts, images, total, fps, old_fps or fps)
    return plan.model_copy(
        update={
            "images": images,
            "transition_frames": frames,
            "transition": transition if frames else "none",
            "texts": placed,
        }
    )


def _place_texts(
    texts: Sequence[PlannedText], images: Sequence[PlannedImage], total: int, fps: int, old_fps: int
) -> list[PlannedText]:
    title, captions, end_cards = [], [], []
    for text in texts:
        if text.role == "title":
            wanted = round(TITLE_S * fps) if text.frames <= 1 else round(text.frames * fps / old_fps)
            title.append(text.model_copy(update={"start_frame": 0, "frames": max(1, min(wanted, total))}))
        elif text.role == "caption" and text.on is not None:
            photo = next((image for image in images if image.index == text.on), None)
            if photo is not None:
                captions.append(text.model_copy(update={"start_frame": photo.start_frame, "frames": photo.frames}))
        elif text.role == "caption":
            start = min(round(text.start_frame * fps / old_fps), total - 1)
            frames = max(1, min(round(text.frames * fps / old_fps), total - start))
            captions.append(text.model_copy(update={"start_frame": start, "frames": frames}))
        else:
            frames = max(1, min(round(END_CARD_S * fps), total))
            end_cards.append(text.model_copy(update={"start_frame": total - frames, "frames": frames}))
    return title[:1] + sorted(captions, key=lambda t: t.start_frame) + end_cards[-1:]


# --- Saying what changed -------------------------------------------------------------------------


def describe_edit(
    before: EditPlan, after: EditPlan, notes: Sequence[str] = (), fits: Sequence[Fit] | None = None
) -> str:
    """What the edit changed, then what it kept: `Aspect 16:9 → 1:1; kept: 12 s, wipe, title "Alps".`

    Then, when the framing is auto and `fits` (each photo's, `crop.fits_for`) crop some photo to its
    subject, which; then what could not be done as asked (`notes`), and the wishes the engine cannot do.
    """
    old, new = _facets(before), _facets(after)
    changed = _photo_changes(before, after)
    changed += [f"{name} {old[name]} → {new[name]}" for name in new if name in old and old[name] != new[name]]
    changed += [f"added {_kept(name, new)}" for name in new if name not in old and name in _MAIN_FACETS]
    changed += [f"removed {_kept(name, old)}" for name in old if name not in new and name in _MAIN_FACETS]
    changed += _text_changes(before, after)
    if after.shuffle_seed is not None and before.shuffle_seed != after.shuffle_seed:
        changed.append(f"shuffled with seed {after.shuffle_seed}")
    kept = [_kept(name, new) for name in new if old.get(name) == new[name] and _worth_telling(name, new[name])]
    text = "; ".join(changed) if changed else "Nothing changed"
    if kept:
        text += "; kept: " + ", ".join(kept)
    sentences = [text[0].upper() + text[1:] + "."]
    if after.fit is None and fits and "smart" in fits:
        sentences.append(framing_words(after, fits))
    sentences += notes
    if after.unknown_wishes:
        sentences.append("Not supported offline: " + "; ".join(after.unknown_wishes) + ".")
    return " ".join(sentences)


_MAIN_FACETS = ("title", "music", "look")
"""Facets told as added or removed; the others (a music volume, a transition length) always exist with them."""
_DEFAULTS = {"motion": "ken burns", "framing": "auto", "frame rate": "30 fps"}
"""Kept settings at these values go unsaid."""


def _worth_telling(name: str, value: str) -> bool:
    return _DEFAULTS.get(name) != value and (
        name in ("duration", "aspect", "transitions") or name in _MAIN_FACETS or name in _DEFAULTS
    )


def _kept(name: str, facets: dict[str, str]) -> str:
    if name in ("duration", "aspect", "transitions"):
        return facets[name]
    if name == "music":
        return f"music {facets['music']} at {facets['music volume']}"
    return f"{name} {facets[name]}"


def _facets(plan: EditPlan) -> dict[str, str]:
    """The plan's settings as the reply names them (absent when not set)."""
    facets = {
        "duration": f"{format_seconds(plan.duration_s)} s",
        "aspect": plan.aspect,
        "transitions": "hard cuts" if plan.transition == "none" else plan.transition,
        "motion": "ken burns" if plan.motion == "kenburns" else "static",
        "framing": plan.fit or "auto",
        "frame rate": f"{plan.fps} fps",
    }
    if plan.transition != "none":
        facets["transition length"] = f"{format_seconds(plan.transition_s)} s"
    if plan.title:
        facets["title"] = f'"{plan.title}"'
    if plan.music_path:
        facets["music"] = plan.music_name or "music"
        facets["music volume"] = f"{round(plan.music_volume * 100)}%"
        facets["music fade-in"] = f"{plan.music_fade_in_s:g} s" if plan.music_fade_in_s else "none"
        facets["music fade-out"] = f"{plan.music_fade_out_s:g} s" if plan.music_fade_out_s else "none"
        facets["music loop"] = "on" if plan.music_loop else "off"
    looks = {image.look for image in plan.images}
    if len(looks) == 1 and looks != {"none"}:  # one look over every photo; else each photo's is told
        facets["look"] = LOOK_WORDS[looks.pop()]
    return facets


def _photo_changes(before: EditPlan, after: EditPlan) -> list[str]:
    old = {image.index: (slot, image) for slot, image in enumerate(before.images, 1)}
    new = {image.index: image for image in after.images}
    changes = [f"removed photo {slot} ({image.name})" for slot, image in old.values() if image.index not in new]
    changes += [
        f"added photo {slot} ({image.name})" for slot, image in enumerate(after.images, 1) if image.index not in old
    ]
    if [i for i in before.images if i.index in new] and [i.index for i in before.images if i.index in new] != [
        i.index for i in after.images if i.index in old
    ]:
        changes.append("order now " + ", ".join(image.name for image in after.images))
    stretch = after.duration_s / before.duration_s
    moved = [
        (slot, old[image.index][1].frames / before.fps, image.frames / after.fps)
        for slot, image in enumerate(after.images, 1)
        if image.index in old
    ]
    if any(abs(new_s - old_s * stretch) > 1.5 / after.fps for _, old_s, new_s in moved):  # not an even stretch
        changes += [
            f"photo {slot} {format_seconds(old_s)} s → {format_seconds(new_s)} s"
            for slot, old_s, new_s in moved
            if abs(new_s - old_s) > 0.5 / after.fps
        ]
    if len({image.look for image in after.images}) > 1 or len({image.look for image in before.images}) > 1:
        for slot, image in enumerate(after.images, 1):
            was = old[image.index][1] if image.index in old else None
            if was is not None and was.look != image.look:
                changes.append(f"photo {slot} look {LOOK_WORDS[was.look]} → {LOOK_WORDS[image.look]}")
    return changes


def _text_changes(before: EditPlan, after: EditPlan) -> list[str]:
    def key(text: PlannedText) -> tuple[str, int | None, str]:
        return (text.role, text.on, text.text)

    def shown(text: PlannedText, plan: EditPlan) -> str:
        what = "caption" if text.role == "caption" else "end card"
        span = f"{format_seconds(text.start_frame / plan.fps)}-{format_seconds(text.end_frame / plan.fps)}s"
        return f'{what} "{text.text}" ({span})'

    old = {key(t) for t in before.texts if t.role != "title"}
    new = {key(t) for t in after.texts if t.role != "title"}
    changes = [f"added {shown(t, after)}" for t in after.texts if t.role != "title" and key(t) not in old]
    changes += [f"removed {shown(t, before)}" for t in before.texts if t.role != "title" and key(t) not in new]
    return changes
