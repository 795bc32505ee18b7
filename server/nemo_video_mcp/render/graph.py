"""The ffmpeg command line for a plan: one input per normalized still, one filtergraph, H.264 out.

Pure. Each still is decoded once and repeated by the `loop` filter (static) or expanded into a
clip by `zoompan` (ken burns); `-loop 1` would re-decode the PNG for every frame. Clips overlap by
the transition length and `xfade` offsets fall on slot boundaries, so the output has exactly
`plan.total_frames` frames; `-frames:v` pins it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


def clip_frames(plan: EditPlan) -> list[int]:
    """Frames of each clip: its slot, plus the transition that overlaps the next clip."""
    last = len(plan.images) - 1
    return [image.frames + (plan.transition_frames if i < last else 0) for i, image in enumerate(plan.images)]


def xfade_offsets(plan: EditPlan) -> list[float]:
    """Seconds at which each transition starts: the start of the next image's slot."""
    return [image.start_frame / plan.fps for image in plan.images[1:]]


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
    for still in stills:
        argv += ["-framerate", str(plan.fps), "-i", str(still)]
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
        "-pix_fmt", "yuv420p", "-r", str(plan.fps), "-frames:v", str(plan.total_frames),
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
    chains = [f"[{i}:v]{_clip_filter(plan, i, frames, still_size)}[c{i}]" for i, frames in enumerate(clip_frames(plan))]
    video = _join_clips(plan, chains)
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


def _clip_filter(plan: EditPlan, index: int, frames: int, still_size: tuple[int, int]) -> str:
    """One still -> `frames` frames at the output size, in yuv420p."""
    fps = plan.fps
    width, height = plan.size
    if plan.motion != "kenburns":
        scale = "" if still_size == (width, height) else f"scale={width}:{height},"
        return f"{scale}format=yuv420p,loop=loop={frames - 1}:size=1:start=0,setpts=N/{fps}/TB"
    zoom, x, y = _kenburns_path(index, frames)
    return (
        f"format=yuv420p,zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps},setpts=N/{fps}/TB"
    )


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


def _join_clips(plan: EditPlan, chains: list[str]) -> str:
    """Append the transition chain to `chains`; return the label of the joined video."""
    count = len(plan.images)
    if count == 1:
        return "c0"
    if plan.transition == "none" or plan.transition_frames == 0:
        inputs = "".join(f"[c{i}]" for i in range(count))
        chains.append(f"{inputs}concat=n={count}:v=1:a=0[joined]")
        return "joined"
    name = XFADE_NAMES[plan.transition]
    duration = plan.transition_frames / plan.fps
    previous = "c0"
    for i, offset in enumerate(xfade_offsets(plan), start=1):
        label = f"x{i}"
        chains.append(f"[{previous}][c{i}]xfade=transition={name}:duration={duration:.6f}:offset={offset:.6f}[{label}]")
        previous = label
    return previous
