"""What bounds ken burns / static: the graph alone, and x264 alone on each graph's exact frames.

    .venv/bin/python bench/kenburns_bound.py [--pairs N] [--transition T]

For a static and a ken burns plan of bench/render.py's eight images, the render's own ffmpeg argv is
captured (nothing is encoded while capturing) with its prepared stills. Then, for each motion:
- the filtergraph alone to `-f null`, CPU time best of 3;
- the graph's output written once as raw yuv420p (`bench/_work/bound-*.yuv`, 1.4 GB each) and read
  into the page cache, then x264 alone on those frames with the product's settings (those of a
  moving plan for ken burns), in N interleaved pairs, wall and CPU time.
The ratios say how much of issue 10's "ken burns <= 1.3x the static render" the encoder alone uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from _common import WORK, load, make_images  # noqa: E402

sys.path.insert(0, str(ROOT.parent / "server"))


def capture(motion: str, transition: str) -> list[str]:
    """The argv `render_slideshow` would run for `motion`, its inputs copied to bench/_work/bound-<motion>/."""
    from nemo_video_mcp.render import slideshow
    from nemo_video_mcp.render.plan import build_plan

    keep = WORK / f"bound-{motion}"
    shutil.rmtree(keep, ignore_errors=True)
    keep.mkdir(parents=True)
    seen: list[str] = []

    async def instead(argv: list[str], output: Path, **_: Any) -> None:
        work = next(Path(arg).parent for arg in argv if arg.endswith(".ffconcat"))
        for path in work.iterdir():
            text = path.read_text(encoding="utf-8") if path.suffix == ".ffconcat" else None
            if text is None:
                shutil.copy(path, keep / path.name)
            else:
                (keep / path.name).write_text(text.replace(str(work), str(keep)), encoding="utf-8")
        seen.extend(arg.replace(str(work), str(keep)) for arg in argv)
        output.write_bytes(b"")

    real, probe = slideshow.run_ffmpeg, slideshow.probe_video
    slideshow.run_ffmpeg = instead
    slideshow.probe_video = lambda _path: None
    try:
        paths = make_images()
        plan = build_plan(range(len(paths)), duration_s=15.0, transition=transition, transition_s=0.5, motion=motion)
        asyncio.run(slideshow.render_slideshow(plan.with_images(paths), keep / "unused.mp4"))
    finally:
        slideshow.run_ffmpeg, slideshow.probe_video = real, probe
    return seen


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def graph_only(argv: list[str]) -> list[str]:
    """The argv up to the encoder, with the frame count it pins (the static graph repeats its last frame)."""
    frames = argv[argv.index("-frames:v") + 1]
    return [*argv[: argv.index("-c:v")], "-frames:v", frames]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3, help="interleaved encoder-only pairs")
    parser.add_argument("--transition", default="fade", choices=["fade", "dissolve", "slide", "wipe", "none"])
    args = parser.parse_args()
    from nemo_video_mcp.render.graph import EncoderSettings
    from nemo_video_mcp.render.runner import ffmpeg_exe

    print(f"15 s 1080p30, 8 images, transition {args.transition}; {load()}")
    raws: dict[str, Path] = {}
    for motion in ("static", "kenburns"):
        graph = graph_only(capture(motion, args.transition))
        cpu = min(timed([*graph, "-f", "null", "-"])[1] for _ in range(3))
        print(f"{motion:9s} graph alone to -f null: {cpu:.2f} CPU-s (best of 3)")
        raws[motion] = WORK / f"bound-{motion}.yuv"
        subprocess.run([*graph, "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raws[motion])], check=True)
        with raws[motion].open("rb") as handle:  # into the page cache: x264 reads memory, not the disk
            while handle.read(1 << 24):
                pass
    encoder = EncoderSettings()
    out = WORK / "bound-encoded.mp4"
    walls, cpus = [], []
    for pair in range(args.pairs):
        got = {}
        for motion, raw in raws.items():
            argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo",
                    "-pix_fmt", "yuv420p", "-s", "1920x1080", "-framerate", "30", "-i", str(raw),
                    *encoder.video_args(moving=motion == "kenburns"), "-pix_fmt", "yuv420p", str(out)]  # fmt: skip
            got[motion] = timed(argv)
        (s_wall, s_cpu), (k_wall, k_cpu) = got["static"], got["kenburns"]
        walls.append(k_wall / s_wall)
        cpus.append(k_cpu / s_cpu)
        print(
            f"pair {pair + 1}: x264 alone, static {s_wall:.2f} s / {s_cpu:.2f} CPU-s, ken burns {k_wall:.2f} s / "
            f"{k_cpu:.2f} CPU-s: {walls[-1]:.2f}x wall, {cpus[-1]:.2f}x CPU"
        )
    ratio_lists = {"x264_wall_ratios": walls, "x264_cpu_ratios": cpus}
    print(json.dumps({name: [round(r, 3) for r in values] for name, values in ratio_lists.items()}))
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
