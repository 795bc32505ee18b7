"""The ffmpeg command line for a plan: one input per normalized still, one filtergraph, H.264 out.

Pure. Each still arrives as one raw yuv420p frame (see `images.write_yuv420p`): no decoding, no
colour conversion, 1.5 bytes a pixel held per image. It is repeated by the `loop` filter (static)
or expanded into a clip by `zoompan` (ken burns); `-loop 1` would re-read it for every frame.

The timeline is cut into pieces joined by `concat`: a hold per image, and between two images a
transition of `transition_frames` made by `xfade`. xfade only works in 4:4:4, so only the frames
of the short transition pieces are converted (and back); the holds stay in the encoder's yuv420p
and cost next to nothing. Transition k starts on image k's first slot frame, so the output has exactly
`plan.total_frames` frames; `-frames:v` pins it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nemo_video_mcp.render.plan import EditPlan
from nemo_video_mcp.render.title import TitleCard

XFADE_NAMES = {"fade": "fade", "dissolve": "dissolve", "slide": "slideleft", "wipe": "wipeleft"}
KENBURNS_ZOOM = 0.15
TITLE_FADE_S = 0.4
MUSIC_FADE_S = 1.5


@dataclass(frozen=True)
class EncoderSettings:
    """x264 settings; veryfast/crf 20 keeps stills crisp at a fraction of the default preset's time."""

    preset: str = "veryfast"
    crf: int = 20
    audio_bitrate: str = "192k"


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


def build_command(
    plan: EditPlan,
    stills: Sequence[Path],
    *,
    still_size: tuple[int, int],
    title: TitleCard | None = None,
    ffmpeg: str = "ffmpeg",
    encoder: EncoderSettings = EncoderSettings(),
) -> list[str]:
    """The argv, up to and excluding the output path (the runner appends a temp name)."""
    if len(stills) != len(plan.images):
        raise ValueError(f"{len(plan.images)} images planned but {len(stills)} stills given")
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{still_size[0]}x{still_size[1]}"]
    for still in stills:
        argv += [*raw, "-framerate", str(plan.fps), "-i", str(still)]
    next_input = len(stills)
    title_input = music_input = None
    if title is not None:
        argv += ["-framerate", str(plan.fps), "-i", str(title.path)]
        title_input, next_input = next_input, next_input + 1
    if plan.music_path:
        argv += ["-stream_loop", "-1", "-i", plan.music_path]
        music_input = next_input
    argv += ["-filter_complex", build_filtergraph(plan, still_size, title, title_input, music_input)]
    argv += ["-map", "[vout]"]
    if music_input is not None:
        argv += ["-map", "[aout]", "-c:a", "aac", "-b:a", encoder.audio_bitrate]
    argv += [
        "-c:v", "libx264", "-preset", encoder.preset, "-crf", str(encoder.crf),
        "-pix_fmt", "yuv420p", "-colorspace", "smpte170m", "-r", str(plan.fps),
        "-frames:v", str(plan.total_frames),
        "-movflags", "+faststart", "-progress", "pipe:1", "-nostats", "-f", "mp4",
    ]  # fmt: skip
    return argv


def build_filtergraph(
    plan: EditPlan,
    still_size: tuple[int, int],
    title: TitleCard | None = None,
    title_input: int | None = None,
    music_input: int | None = None,
) -> str:
    """The -filter_complex text: clips, then transitions, then the title overlay and the music."""
    fps = plan.fps
    chains: list[str] = []
    for k in range(len(plan.images)):
        _image_pieces(plan, k, still_size, chains)
    pieces = timeline_pieces(plan)
    if plan.transition_frames:
        name = XFADE_NAMES[plan.transition]
        duration = plan.transition_frames / fps
        for k in range(1, len(plan.images)):
            chains.append(
                f"[out{k - 1}][in{k}]xfade=transition={name}:duration={duration:.6f}:offset=0,format=yuv420p[t{k}]"
            )
    labels = "".join(f"[{'t' if piece.kind == 'transition' else 'h'}{piece.image}]" for piece in pieces)
    video = "h0"
    if len(pieces) > 1:
        chains.append(f"{labels}concat=n={len(pieces)}:v=1:a=0[joined]")
        video = "joined"
    if title is not None and title_input is not None:
        shown = plan.title_frames / fps
        fade = min(TITLE_FADE_S, shown / 4)
        chains.append(
            f"[{title_input}:v]format=yuva420p,loop=loop={plan.title_frames - 1}:size=1:start=0,"
            f"setpts=N/{fps}/TB,fade=t=in:st=0:d={fade:.3f}:alpha=1,"
            f"fade=t=out:st={shown - fade:.3f}:d={fade:.3f}:alpha=1[title]"
        )
        chains.append(f"[{video}][title]overlay=x={title.x}:y={title.y}:eof_action=pass:format=yuv420[vout]")
    else:
        chains.append(f"[{video}]null[vout]")
    if music_input is not None:
        total = plan.total_frames / fps
        fade = min(MUSIC_FADE_S, total / 4)
        chains.append(
            f"[{music_input}:a]atrim=0:{total:.6f},asetpts=PTS-STARTPTS,volume={plan.music_volume:.3f},"
            f"afade=t=out:st={total - fade:.6f}:d={fade:.6f}[aout]"
        )
    return ";".join(chains)


def _image_pieces(plan: EditPlan, k: int, still_size: tuple[int, int], chains: list[str]) -> None:
    """Filters turning input `k` into its hold `[hk]` and, around transitions, `[ink]` / `[outk]` (4:4:4)."""
    fps = plan.fps
    width, height = plan.size
    last = len(plan.images) - 1
    into = plan.transition_frames if k > 0 else 0
    out_of = plan.transition_frames if k < last else 0
    hold = plan.images[k].frames - into
    wanted = [("h", hold)] + ([("in", into)] if into else []) + ([("out", out_of)] if out_of else [])
    outputs = "".join(f"[{name}{k}s]" for name, _ in wanted)
    split = f",split={len(wanted)}{outputs}" if len(wanted) > 1 else outputs
    to_444 = {"h": "", "in": ",format=yuv444p", "out": ",format=yuv444p"}
    if plan.motion == "kenburns":
        zoom, x, y = _kenburns_path(k, into + hold + out_of)
        chains.append(
            f"[{k}:v]zoompan=z='{zoom}':x='{x}':y='{y}':d={into + hold + out_of}"
            f":s={width}x{height}:fps={fps},setpts=N/{fps}/TB{split}"
        )
        ranges = {"in": (0, into), "h": (into, into + hold), "out": (into + hold, into + hold + out_of)}
        for name, _ in wanted:
            first, end = ranges[name]
            chains.append(
                f"[{name}{k}s]trim=start_frame={first}:end_frame={end},setpts=PTS-STARTPTS{to_444[name]}[{name}{k}]"
            )
        return
    scale = f"scale={width}:{height}" if still_size != (width, height) else "null"
    chains.append(f"[{k}:v]{scale}{split}")
    for name, frames in wanted:
        chains.append(f"[{name}{k}s]loop=loop={frames - 1}:size=1:start=0,setpts=N/{fps}/TB{to_444[name]}[{name}{k}]")


def _kenburns_path(index: int, frames: int) -> tuple[str, str, str]:
    """Zoom in, zoom out, pan right, pan left, by turns, so consecutive images move differently."""
    z = KENBURNS_ZOOM
    progress = f"(on/{max(frames - 1, 1)})"
    centre_x, centre_y = "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    kind = index % 4
    if kind == 0:
        return f"1+{z}*{progress}", centre_x, centre_y
    if kind == 1:
        return f"1+{z}*(1-{progress})", centre_x, centre_y
    if kind == 2:
        return f"{1 + z}", f"(iw-iw/zoom)*{progress}", centre_y
    return f"{1 + z}", f"(iw-iw/zoom)*(1-{progress})", centre_y
