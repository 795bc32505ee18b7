"""Local render engine vs the encoder's floor vs MoviePy: wall time and peak memory of a 15 s slideshow.

    .venv/bin/python bench/render.py                       # ours, its floor, MoviePy, then the ratios
    .venv/bin/python bench/render.py --kenburns --no-moviepy --runs 3
    .venv/bin/python bench/render.py --kenburns --no-moviepy --transition dissolve

Every contender encodes with the product's x264 settings (`graph.EncoderSettings`). Eight mixed-size
images (6000x4000 JPEGs, PNGs with and without alpha, a portrait) are generated once
under bench/_work/. Each contender runs in its own child process; the parent samples the resident
memory of that child and all its children (ffmpeg included) every 20 ms. Wall time is measured inside
the child around the work only (imports excluded).

The floor is the bundled ffmpeg encoding exactly our output frames from raw: our own output decoded
to raw yuv420p once, before the clock, then `ffmpeg -f rawvideo ... -c:v libx264 <our settings>`.
No renderer with these encoder settings can beat it. Targets: static <= 1.15x its floor, ken burns
<= 1.3x its floor, MoviePy >= 10x slower than ours, peak <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from _common import WORK, load, make_images, measure_child  # noqa: E402

sys.path.insert(0, str(ROOT.parent / "server"))

DURATION_S = 15.0
FPS = 30
SIZE = (1920, 1080)
TRANSITION_S = 0.5
TRANSITION = os.environ.get("BENCH_TRANSITION", "fade")
"""The transition of every contender (`--transition`; the children read it from the environment)."""


# --- The contenders (each runs in a child process) ------------------------------------------------


def run_ours(paths: list[Path], out: Path, motion: str) -> None:
    from nemo_video_mcp.render.plan import build_plan
    from nemo_video_mcp.render.slideshow import render_slideshow

    plan = build_plan(
        range(len(paths)), duration_s=DURATION_S, transition=TRANSITION, transition_s=TRANSITION_S, motion=motion
    ).with_images(paths)
    asyncio.run(render_slideshow(plan, out))  # the default EncoderSettings, as every contender uses


def prepare_floor(motion_kind: str) -> Path:
    """Our output for `motion_kind` (rendered first if missing) decoded to raw yuv420p, outside the clock."""
    from nemo_video_mcp.render.runner import ffmpeg_exe

    ours = output_of(motion_kind)
    if not ours.exists():
        run_ours(make_images(), ours, "kenburns" if motion_kind == "ours-kenburns" else "static")
    raw = WORK / ours.name.replace("out-", "raw-", 1).replace(".mp4", ".yuv")
    if not raw.exists() or raw.stat().st_mtime < ours.stat().st_mtime:
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(ours),
             "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)],
            check=True,
        )  # fmt: skip
    with raw.open("rb") as handle:  # into the page cache (not this process): ffmpeg reads memory, not the disk
        while handle.read(1 << 24):
            pass
    return raw


def output_of(kind: str) -> Path:
    """Where a contender writes its video: one file per kind and transition."""
    return WORK / (f"out-{kind}.mp4" if TRANSITION == "fade" else f"out-{kind}-{TRANSITION}.mp4")


def x264_args(moving: bool = False) -> list[str]:
    """The product's x264 settings (preset, crf, tune, params), given to every contender; `moving`:
    those of a ken burns render."""
    from nemo_video_mcp.render.graph import EncoderSettings

    return EncoderSettings().video_args(moving=moving)


def run_floor(raw: Path, out: Path, moving: bool) -> None:
    from nemo_video_mcp.render.runner import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{SIZE[0]}x{SIZE[1]}", "-framerate", str(FPS), "-i", str(raw),
         *x264_args(moving), "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)],
        check=True,
    )  # fmt: skip


def run_moviepy(paths: list[Path], out: Path) -> None:
    from moviepy import ColorClip, CompositeVideoClip, ImageClip, concatenate_videoclips, vfx

    slot = DURATION_S / len(paths)
    clips = []
    for i, path in enumerate(paths):
        last = i == len(paths) - 1
        image = ImageClip(str(path))
        scale = min(SIZE[0] / image.w, SIZE[1] / image.h)
        image = image.resized(scale).with_position("center")
        length = slot + (0 if last else TRANSITION_S)
        clip = CompositeVideoClip([ColorClip(SIZE, (0, 0, 0)), image], size=SIZE).with_duration(length)
        if i > 0:
            clip = clip.with_effects([vfx.CrossFadeIn(TRANSITION_S)])
        clips.append(clip)
    video = concatenate_videoclips(clips, method="compose", padding=-TRANSITION_S)
    args = x264_args()
    video.write_videofile(
        str(out), fps=FPS, codec="libx264", preset=args[args.index("-preset") + 1], audio=False, logger=None,
        ffmpeg_params=[*args[4:], "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
    )  # fmt: skip


def child(kind: str) -> None:
    paths = make_images()
    out = output_of(kind)
    raw = prepare_floor(kind.replace("floor", "ours")) if kind.startswith("floor") else None
    start = time.perf_counter()
    if raw is not None:
        run_floor(raw, out, moving=kind == "floor-kenburns")
    elif kind == "moviepy":
        run_moviepy(paths, out)
    else:
        run_ours(paths, out, "kenburns" if kind == "ours-kenburns" else "static")
    wall = time.perf_counter() - start
    from nemo_video_mcp.render.probe import count_frames, probe_video

    info = probe_video(out)
    result = {"wall_s": wall, "frames": count_frames(out), "width": info.width, "height": info.height}
    print(json.dumps(result))


# --- The parent: run each child, sample its process tree ------------------------------------------

PARTS = ("main", "helper", "ffmpeg")
"""main: the contender's python process; helper: its python children (our preparing child); ffmpeg."""


def measure(kind: str) -> dict[str, float]:
    return measure_child([sys.executable, __file__, "--child", kind])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--kenburns", action="store_true", help="also time ours with ken burns motion")
    parser.add_argument("--runs", type=int, default=1, help="runs of ours and the floor (best is kept)")
    parser.add_argument("--no-moviepy", action="store_true", help="skip MoviePy (it takes minutes)")
    parser.add_argument("--transition", choices=["fade", "dissolve", "slide", "wipe", "none"], default=TRANSITION)
    args = parser.parse_args()
    os.environ["BENCH_TRANSITION"] = args.transition
    if args.child:
        child(args.child)
        return
    make_images()
    kinds = ["ours", "floor"] + (["ours-kenburns", "floor-kenburns"] if args.kenburns else [])
    kinds += [] if args.no_moviepy or args.transition != "fade" else ["moviepy"]  # MoviePy cross-fades
    results: dict[str, dict[str, float]] = {}
    print(f"15 s 1080p30, 8 images, transition {args.transition}; best of {args.runs}; {load()}")
    for kind in kinds:
        runs = 1 if kind == "moviepy" else args.runs
        best = min((measure(kind) for _ in range(runs)), key=lambda r: r["wall_s"])
        results[kind] = best
        print(
            f"{kind:14s} wall {best['wall_s']:6.2f} s   peak RSS {best['peak_mb']:6.1f} MB   "
            f"{best['width']}x{best['height']} {best['frames']} frames"
        )
        alone = [f"{label} {best[f'peak_{label}_mb']:.0f}" for label in PARTS if f"peak_{label}_mb" in best]
        print(f"{'':14s} peak of each part alone (MB): {', '.join(alone)}")
    ours, floor = results["ours"], results["floor"]
    print(f"ours / floor    {ours['wall_s'] / floor['wall_s']:.2f}x   (target <= 1.15x)")
    if "ours-kenburns" in results:
        ratio = results["ours-kenburns"]["wall_s"] / results["floor-kenburns"]["wall_s"]
        print(f"ken burns / its floor {ratio:.2f}x   (target <= 1.3x)")
        static_ratio = results["ours-kenburns"]["wall_s"] / ours["wall_s"]
        print(f"ken burns / static {static_ratio:.2f}x   (issue 10: <= 1.3x)")
        print(f"ken burns peak  {results['ours-kenburns']['peak_mb']:.0f} MB   (target <= 300 MB)")
    if "moviepy" in results:
        print(f"moviepy / ours  {results['moviepy']['wall_s'] / ours['wall_s']:.2f}x   (target >= 10x)")
    print(f"ours peak       {ours['peak_mb']:.0f} MB   (target <= 300 MB)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
