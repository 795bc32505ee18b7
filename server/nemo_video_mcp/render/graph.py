"""The ffmpeg command line for a plan: the stills in, one filtergraph, H.264 out.

Pure. Each still is one yuv420p frame in a `.y4m` file (see `y4m.write_yuv420p`): no decoding,
no colour conversion, 1.5 bytes a pixel. The timeline is cut into pieces: a hold per image, and
between two images a transition of `transition_frames`. Transition k starts on image k's first slot
frame, so the output has exactly `plan.total_frames` frames; `-frames:v` pins it.

Static motion: the transition frames are made beforehand (`transitions.write_transition`) and the
pieces are played in order by the concat demuxer from a list (`timeline_list`): one frame per hold,
given the hold's duration, which `fps` repeats by reference. ffmpeg holds one input and a few
frames whatever the number of images, and filters nothing but the text overlays. With
`EncoderSettings.one_frame_holds` (where `holds_as_one_frame` allows) nothing repeats it: the output
has a variable frame rate, one frame per hold.

Ken burns: the stills are read in turn from one list and two zoompans make a main and an incoming
stream, which overlays join in yuv420p (see `_kenburns_in_sequence`); a dissolve overlays the incoming
stream through masks made beforehand (`transitions.write_dissolve_masks`). Memory does not grow with
the number of images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nemo_video_mcp.render.looks import look_filters
from nemo_video_mcp.render.plan import EditPlan
from nemo_video_mcp.render.text import TextCard

KENBURNS_ZOOM = 0.15
TEXT_FADE_S = 0.4
Subject = tuple[float, float]
"""A point of a still, as fractions 0-1 from its left and top (see `crop.SmartCrop.subject`)."""
COLOUR_TAGS = "setparams=colorspace=smpte170m:range=tv"
"""The stills are BT.601 limited range; tagging the frames says so at no cost (`-colorspace` on the
output made ffmpeg insert a converting scaler: +165 MB and a copy of every frame)."""


@dataclass(frozen=True)
class EncoderSettings:
    """x264 settings, chosen by measuring a 15 s 1080p slideshow on 2 cores (bench/render.py).

    veryfast/crf 20 keeps stills crisp at a fraction of the default preset's time. `stillimage` is
    x264's tune for slideshows (sharper deblocking, stronger psy): SSIM up slightly for 3% more bytes.
    Sliced threads keep one frame in flight instead of one per thread: same speed, size and quality
    here, and 75 MB less memory at 1080p. A shorter rc-lookahead would save memory too but costs
    quality (mbtree sees less of each hold), so it is left at the preset's.
    """

    preset: str = "veryfast"
    crf: int = 20
    tune: str | None = "stillimage"
    x264_params: str | None = "sliced-threads=1"
    audio_bitrate: str = "192k"
    one_frame_holds: bool = False
    """Write each hold of a static plan as one frame lasting the hold (variable frame rate) instead of
    repeating it at the plan's rate, where `holds_as_one_frame` allows. x264 then codes 114 frames
    instead of 5,400 for 180 s of 8 images: 5.7 s instead of 57.6 (bench/holds.py). B-frames are turned
    off with it: with them Chromium showed the wrong picture after a seek into a hold. Off by default:
    only ffmpeg and Chromium were tried (bench/README.md)."""

    motion_preset: str = "superfast"
    motion_crf: int = 23
    """For ken burns, where every frame moves: x264's superfast preset (the diamond motion search, the
    cheapest sub-pixel refinement, no macroblock tree and so no rc-lookahead) at crf 23. On the bench's
    450 ken burns frames against veryfast crf 20: as faithful to the frames it is given (SSIM 0.9664 vs
    0.9656, PSNR 42.36 vs 41.93 dB), 52 MB less memory (214 vs 266 MB) and 10-18 % less CPU, for 27 %
    more bytes (bench/README.md, "Ken burns with superfast"). mbtree is what costs the memory: it keeps
    the lookahead's frames, and on a smooth synthetic zoom it gains little."""

    def video_args(self, bframes: bool = True, moving: bool = False) -> list[str]:
        """The x264 arguments; `moving`: every frame moves (ken burns)."""
        preset, crf = (self.motion_preset, self.motion_crf) if moving else (self.preset, self.crf)
        args = ["-c:v", "libx264", "-preset", preset, "-crf", str(crf)]
        if self.tune:
            args += ["-tune", self.tune]
        params = [p for p in (self.x264_params, None if bframes else "bframes=0") if p]
        if params:
            args += ["-x264-params", ":".join(params)]
        return args


def holds_as_one_frame(plan: EditPlan, encoder: EncoderSettings) -> bool:
    """Whether `plan` is rendered with one frame per hold: asked for, static, no text overlay (a text
    fades frame by frame) and one look over everything (a look per photo is enabled by frame number)."""
    return (
        encoder.one_frame_holds
        and plan.motion == "static"
        and not plan.texts
        and len({image.look for image in plan.images}) == 1
    )


@dataclass(frozen=True)
class Piece:
    """A stretch of the timeline: `image` held, or the transition from `image - 1` into `image`."""

    kind: Literal["hold", "transition"]
    image: int
    frames: int


def timeline_pieces(plan: EditPlan) -> list[Piece]:
    """Hold 0, transition 1, hold 1, transition 2, ... The transition eats the start of its image's slot."""
    pieces = []
    for k, image in enumerate(plan.images):
        into = plan.transition_frames if k > 0 else 0
        if into:
            pieces.append(Piece("transition", k, into))
        pieces.append(Piece("hold", k, image.frames - into))
    return pieces


def transition_starts(plan: EditPlan) -> list[float]:
    """Seconds at which each transition starts: the start of the next image's slot."""
    return [image.start_frame / plan.fps for image in plan.images[1:]] if plan.transition_frames else []


def timeline_list(
    plan: EditPlan, stills: Sequence[Path], transitions: Sequence[Path], *, one_frame_holds: bool = False
) -> str:
    """The concat demuxer's list for a static plan: each hold's still with its duration, each transition's frames.

    `transitions[k - 1]` holds the frames from image k - 1 into image k. With `one_frame_holds` the
    last hold is listed twice, the second time for the last frame only: in MP4 the last frame lasts
    one frame time, so a last hold of one frame would end the video at its start.
    """
    if plan.motion != "static":
        raise ValueError("only a static plan is played from a list")
    _check_count(plan, stills)
    lines = ["ffconcat version 1.0"]
    pieces = timeline_pieces(plan)
    if one_frame_holds and pieces[-1].frames > 1:
        last = pieces.pop()
        pieces += [Piece("hold", last.image, last.frames - 1), Piece("hold", last.image, 1)]
    for piece in pieces:
        path = stills[piece.image] if piece.kind == "hold" else transitions[piece.image - 1]
        lines += [f"file {_quoted(path)}", f"duration {piece.frames / plan.fps:.6f}"]
    return "\n".join(lines) + "\n"


def masks_size(plan: EditPlan) -> tuple[int, int] | None:
    """The size of a ken burns dissolve's masks (half the frame's, see `transitions.write_dissolve_masks`);
    None for every other plan, which needs none."""
    if plan.motion != "kenburns" or plan.transition != "dissolve" or not plan.transition_frames:
        return None
    return plan.size[0] // 2, plan.size[1] // 2


def stills_list(stills: Sequence[Path]) -> str:
    """The concat demuxer's list of the stills in timeline order, one frame each, for ken burns."""
    return "\n".join(["ffconcat version 1.0", *(f"file {_quoted(still)}" for still in stills)]) + "\n"


def build_command(
    plan: EditPlan,
    stills: Sequence[Path],
    *,
    texts: Sequence[TextCard] = (),
    subjects: Sequence[Subject | None] = (),
    ffmpeg: str = "ffmpeg",
    encoder: EncoderSettings = EncoderSettings(),
    timeline: Path | None = None,
    masks: Path | None = None,
) -> list[str]:
    """The argv, up to and excluding the output path (the runner appends a temp name).

    Every plan is played from the `timeline` list: a static plan's holds and transitions (see
    `timeline_list`), or ken burns' stills (`stills_list`), which zoom toward `subjects[k]` (a point of
    still k, fractions 0-1) where one is given. A ken burns dissolve also reads `masks`, played once for
    each transition.
    """
    _check_count(plan, stills)
    if timeline is None:
        raise ValueError("every plan is played from a list (timeline_list or stills_list)")
    if (masks is None) != (masks_size(plan) is None):
        raise ValueError("a ken burns dissolve, and only one, reads its masks (transitions.write_dissolve_masks)")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "concat", "-safe", "0", "-i", str(timeline)]
    next_input, masks_input = 1, None
    if masks is not None:
        argv += ["-stream_loop", str(max(len(plan.images) - 2, 0)), "-i", str(masks)]  # once per transition
        masks_input, next_input = 1, 2
    text_inputs = []
    for card in texts:
        argv += ["-framerate", str(plan.fps), "-i", str(card.path)]
        text_inputs.append(next_input)
        next_input += 1
    music_input = None
    if plan.music_path:
        argv += [*(["-stream_loop", "-1"] if plan.music_loop else []), "-i", plan.music_path]
        music_input = next_input
    one_frame = holds_as_one_frame(plan, encoder)
    argv += [
        "-filter_complex",
        build_filtergraph(
            plan, list(zip(texts, text_inputs, strict=True)), music_input, subjects, one_frame, masks_input
        ),
    ]
    argv += ["-map", "[vout]"]
    if music_input is not None:
        argv += ["-map", "[aout]", "-c:a", "aac", "-b:a", encoder.audio_bitrate]
    rate = ["-fps_mode", "vfr"] if one_frame else ["-r", str(plan.fps), "-frames:v", str(plan.total_frames)]
    argv += [
        *encoder.video_args(bframes=not one_frame, moving=plan.motion == "kenburns"), "-pix_fmt", "yuv420p", *rate,
        "-movflags", "+faststart", "-progress", "pipe:1", "-nostats", "-f", "mp4",
    ]  # fmt: skip
    return argv


def build_filtergraph(
    plan: EditPlan,
    texts: Sequence[tuple[TextCard, int]] = (),
    music_input: int | None = None,
    subjects: Sequence[Subject | None] = (),
    one_frame_holds: bool = False,
    masks_input: int | None = None,
) -> str:
    """The -filter_complex text: clips, then transitions, then the text overlays and the music.

    `texts` pairs each drawn card with its input number; `masks_input` is a ken burns dissolve's masks.
    """
    fps = plan.fps
    chains: list[str] = []
    if plan.motion == "static":
        # The list gives each hold one frame; fps repeats it, tpad repeats the last one to the end.
        filters = ["null"] if one_frame_holds else [f"fps={fps}", "tpad=stop_mode=clone:stop=-1"]
        chains.append(f"[0:v]{','.join(filters + _static_looks(plan))}[joined]")
    else:
        _kenburns_in_sequence(plan, chains, subjects, masks_input)
    video = "joined"
    for k, (card, number) in enumerate(texts):
        chains.append(f"[{number}:v]{_text_clip(card, fps)}[text{k}]")
        chains.append(f"[{video}][text{k}]overlay=x={card.x}:y={card.y}:eof_action=pass:format=yuv420[shown{k}]")
        video = f"shown{k}"
    chains.append(f"[{video}]{COLOUR_TAGS}[vout]")
    if music_input is not None:
        chains.append(f"[{music_input}:a]{music_filters(plan)}[aout]")
    return ";".join(chains)


def music_filters(plan: EditPlan) -> str:
    """The music cut (looped input) or padded with silence to the video's exact length, at its volume,
    faded in and out. A fade is at most half the video, so the two never overlap."""
    total = plan.total_frames / plan.fps
    fade_in, fade_out = min(plan.music_fade_in_s, total / 2), min(plan.music_fade_out_s, total / 2)
    filters = [] if plan.music_loop else [f"apad=whole_dur={total:.6f}"]
    filters += [f"atrim=0:{total:.6f}", "asetpts=PTS-STARTPTS", f"volume={plan.music_volume:.3f}"]
    if fade_in > 0:
        filters.append(f"afade=t=in:st=0:d={fade_in:.6f}")
    if fade_out > 0:
        filters.append(f"afade=t=out:st={total - fade_out:.6f}:d={fade_out:.6f}")
    return ",".join(filters)


def _text_clip(card: TextCard, fps: int) -> str:
    """A card's one frame repeated over its range, at its place in time, faded in and out."""
    start, end = card.start_frame / fps, (card.start_frame + card.frames) / fps
    fade = min(TEXT_FADE_S, card.frames / fps / 4)
    return (
        f"format=yuva420p,loop=loop={card.frames - 1}:size=1:start=0,setpts=(N+{card.start_frame})/{fps}/TB,"
        f"fade=t=in:st={start:.3f}:d={fade:.3f}:alpha=1,fade=t=out:st={end - fade:.3f}:d={fade:.3f}:alpha=1"
    )


def _kenburns_in_sequence(
    plan: EditPlan, chains: list[str], subjects: Sequence[Subject | None], masks_input: int | None = None
) -> None:
    """Ken burns as two moving streams in yuv420p, each made by one zoompan from the stills in turn.

    `[0:v]` is the stills played in order, one frame each (the list of `stills_list`). The main stream
    is every clip after its way in: hold k, then the frames fading out of it, exactly the output's
    frames. The incoming stream is only the first `transition_frames` of each clip after the first, at
    the output times of its transition. A fade overlays it with its alpha ramped by `fade`; a slide
    pushes the main picture left (overlaid on itself) and places the incoming one as far from the right;
    a wipe shifts the incoming picture left and places it back as far right, so it is uncovered where it
    is (in even pixels: overlay places at even x); a dissolve overlays it with its alpha taken from the
    masks input, timed as it is and enlarged 2x (`transitions.write_dissolve_masks`). Frame i of a
    transition shows progress (i + 1) / (n + 1) (see `xfade_timing`), as the static transitions
    (`transitions.py`) do. One clip is alive at a time in each stream, whatever the number of photos:
    the graph's frame pools no longer grow with each transition (xfade's 4:4:4 conversions had kept
    ~25 MB per photo alive to the end).
    """
    fps, n = plan.fps, plan.transition_frames
    width, height = plan.size
    last = len(plan.images) - 1
    into = [n if k > 0 else 0 for k in range(len(plan.images))]
    out_of = [n if k < last else 0 for k in range(len(plan.images))]
    frames = [image.frames + out for image, out in zip(plan.images, out_of, strict=True)]

    def clip(k: int, skip: int) -> tuple[str, str, str]:
        subject = subjects[k] if k < len(subjects) else None
        progress = f"((frame+{skip})/{max(frames[k] - 1, 1)})"
        return kenburns_toward(subject, progress) if subject is not None else _kenburns_path(k, progress)

    def zoompan(ks: Sequence[int], skips: Sequence[int], durations: Sequence[int]) -> str:
        paths = [clip(k, skip) for k, skip in zip(ks, skips, strict=True)]
        z, x, y = (_by_index("in", [path[i] for path in paths]) for i in range(3))
        d = _by_index("in", [str(value) for value in durations])
        return f"zoompan=z='{z}':x='{x}':y='{y}':d='{d}':s={width}x{height}:fps={fps}"

    ks = range(len(plan.images))
    main_looks = [
        name
        for k in ks
        for name in look_filters(
            plan.images[k].look, (plan.images[k].start_frame + into[k], plan.images[k].end_frame + out_of[k])
        )
    ]
    main = zoompan(ks, into, [frames[k] - into[k] for k in ks]) + f",setpts=N/{fps}/TB"
    main += "".join("," + name for name in main_looks)
    if n == 0:
        chains.append(f"[0:v]{main}[joined]")
        return
    chains.append("[0:v]split=2[stills][later]")
    chains.append(f"[stills]{main}[main]")
    incoming = list(range(1, len(plan.images)))
    starts = [plan.images[k].start_frame for k in incoming]
    offsets = _by_index(f"floor(N/{n})", [str(start - j * n) for j, start in enumerate(starts)])
    looks = [name for j, k in enumerate(incoming) for name in look_filters(plan.images[k].look, (j * n, j * n + n))]
    timing = f"setpts='(N+{offsets})/{fps}/TB'"  # each incoming clip at the output times of its transition
    filters = ["trim=start_frame=1", zoompan(incoming, [0] * len(incoming), [n] * len(incoming)), timing, *looks]
    # while transition j runs: its frames' times, rounded half a frame out
    during = [f"between(t,{(start - 0.5) / fps:.6f},{(start + n - 0.5) / fps:.6f})" for start in starts]
    shown = "+".join(during)
    if plan.transition in ("fade", "dissolve"):  # the incoming clips overlaid through their own alpha
        if plan.transition == "fade":
            duration, early = xfade_timing(n, fps)
            filters.append("format=yuva420p")
            filters += [
                f"fade=t=in:st={start / fps + early:.6f}:d={duration:.6f}:alpha=1:"
                f"enable='between(n,{j * n},{j * n + n - 1})'"
                for j, start in enumerate(starts)
            ]
            chains.append(f"[later]{','.join(filters)}[incoming]")
        else:  # dissolve: the alpha is the masks, timed as the clips they reveal
            if masks_input is None:
                raise ValueError("a ken burns dissolve needs its masks input")
            chains.append(f"[later]{','.join(filters)}[clips]")
            chains.append(f"[{masks_input}:v]{timing},scale={width}:{height}:flags=neighbor[masks]")
            chains.append("[clips][masks]alphamerge[incoming]")
        chains.append(f"[main][incoming]overlay=format=yuv420:eof_action=pass:enable='{shown}'[joined]")
        return
    chains.append(f"[later]{','.join(filters)}[incoming]")
    # how far the incoming picture has come in from the right, in even pixels (overlay places at even x)
    steps = [f"(round(t*{fps})-{start}+1)/{n + 1}" for start in starts]
    far = "+".join(f"{window}*2*round({step}*W/2)" for window, step in zip(during, steps, strict=True))
    if plan.transition == "slide":  # the outgoing picture pushed left by as much
        chains.append("[main]split=2[under][pushed]")
        chains.append(f"[under][pushed]overlay=x='-({far})':y=0:enable='{shown}'[left]")
        chains.append(f"[left][incoming]overlay=x='W-({far})':y=0:eof_action=pass:enable='{shown}'[joined]")
    else:  # wipe: the incoming picture uncovered where it is, i.e. shifted left, then placed as far right
        chains.append("[incoming]split=2[under][shifted]")
        chains.append(f"[under][shifted]overlay=x='-(W-({far}))':y=0:enable='{shown}'[revealed]")
        chains.append(f"[main][revealed]overlay=x='W-({far})':y=0:eof_action=pass:enable='{shown}'[joined]")


def _by_index(index: str, values: Sequence[str]) -> str:
    """An ffmpeg expression worth `values[i]` when `index` is i (the last value past the end)."""
    expression = values[-1]
    for i in range(len(values) - 2, -1, -1):
        expression = f"if(eq({index},{i}),{values[i]},{expression})"
    return expression


def xfade_timing(frames: int, fps: int) -> tuple[float, float]:
    """xfade's `duration` and `offset` (seconds) that give frame i of an n-frame transition progress
    (i + 1) / (n + 1), as the static transitions have (`transitions.write_transition`).

    xfade shows progress (t - offset) / duration on the frame at t, so with offset 0 and duration n
    frames its first frame is the outgoing image untouched (a frame held still, then a jump at the
    next) and its last is still 1/n short of the incoming one. A duration of n + 1 frames starting
    one frame early puts every step inside the transition and the same size as the steps into and
    out of it.
    """
    return (frames + 1) / fps, -1 / fps


def _static_looks(plan: EditPlan) -> list[str]:
    """The look filters of a static plan, on its one stream: over everything when every photo has the
    same look, else each over its photo's slot (a transition takes the look of the photo it leads to)."""
    looks = {image.look for image in plan.images}
    if len(looks) == 1:
        return look_filters(looks.pop())
    return [name for image in plan.images for name in look_filters(image.look, (image.start_frame, image.end_frame))]


def _check_count(plan: EditPlan, stills: Sequence[Path]) -> None:
    if len(stills) != len(plan.images):
        raise ValueError(f"{len(plan.images)} images planned but {len(stills)} stills given")


def _quoted(path: Path) -> str:
    """A path as one ffconcat token: single-quoted, with each ' written as '\\''."""
    return "'" + str(path).replace("'", "'\\''") + "'"


def kenburns_toward(subject: Subject, progress: str) -> tuple[str, str, str]:
    """zoompan's zoom, x and y: from the whole still in toward `subject`, the window's centre moving
    from the still's centre to the subject as it zooms, never past the still's edges (the path of
    `crop.kenburns_window`). `progress` is the clip's progress 0-1 as an expression."""
    x = f"max(0,min(iw-iw/zoom,(0.5+({subject[0]:.4f}-0.5)*{progress})*iw-iw/zoom/2))"
    y = f"max(0,min(ih-ih/zoom,(0.5+({subject[1]:.4f}-0.5)*{progress})*ih-ih/zoom/2))"
    return f"1+{KENBURNS_ZOOM}*{progress}", x, y


def _kenburns_path(index: int, progress: str) -> tuple[str, str, str]:
    """Zoom in, zoom out, pan right, pan left, by turns, so consecutive images move differently."""
    z = KENBURNS_ZOOM
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    kind = index % 4
    if kind == 0:
        return f"1+{z}*{progress}", centre_x, centre_y
    if kind == 1:
        return f"1+{z}*(1-{progress})", centre_x, centre_y
    if kind == 2:
        return f"{1 + z}", f"(iw-iw/zoom)*{progress}", centre_y
    return f"{1 + z}", f"(iw-iw/zoom)*(1-{progress})", centre_y
