"""What-if: each hold written as one variable-frame-rate frame, vs our constant-rate render, and whether it plays.

    .venv/bin/python bench/holds.py                      # 180 s, 8 images, fades, 3 pairs, then the checks
    .venv/bin/python bench/holds.py --seconds 20 --pairs 1

A static plan is one concat list: each hold is one still given the hold's duration, and `fps` repeats
it at 30 fps, so x264 codes every repeated frame (most of a long video's time). `vfr` renders the same
plan with `EncoderSettings(one_frame_holds=True)` (see `graph.holds_as_one_frame`): no `fps`/`tpad`,
`-fps_mode vfr`, no `-r`/`-frames:v`, so a hold is one frame of its own duration; its last hold is
listed twice, the second time for the last frame only, since MP4 gives the last sample the length of
one frame (a single entry lost the last hold); and x264's B-frames are off. `vfr-b` is the same with
the B-frames kept: Chromium then shows a wrong picture after a seek into a hold. Each contender runs
in a child process (wall time of the whole render, peak RSS of its tree).

Then the checks on one output of each: the container duration, the stream's packets (count, last
pts + duration), the frame count decoded at 30 fps, PSNR of each vfr (decoded at 30 fps) against
cfr, moov before mdat, `probe_video`; and Chromium (`/usr/bin/chromium`, headless, through Playwright:
`pip install playwright`, no browser download) playing each in a <video>: its duration, `ended`
reached at 16x with currentTime at the end, and the picture (mean colour) in the middle of every
hold and just before the end, against the cfr file's at the same times.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))
from _common import WORK, load, make_images, measure_child, ratios, spread  # noqa: E402

FPS = 30
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    "--allow-file-access-from-files",
]  # fmt: skip


def plan_for(images: int, seconds: float):  # type: ignore[no-untyped-def]
    from nemo_video_mcp.render.plan import build_plan

    plan = build_plan(range(images), duration_s=seconds, transition="fade", motion="static")
    return plan.with_images(make_images(images))


# --- The contenders -------------------------------------------------------------------------------


async def render(kind: str, plan, out: Path) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import dataclass

    from nemo_video_mcp.render.graph import EncoderSettings
    from nemo_video_mcp.render.slideshow import render_slideshow

    @dataclass(frozen=True)
    class WithBFrames(EncoderSettings):
        def video_args(self, bframes: bool = True) -> list[str]:
            return super().video_args(bframes=True)

    encoders = {"cfr": EncoderSettings(), "vfr": EncoderSettings(one_frame_holds=True)}
    await render_slideshow(plan, out, encoder=encoders.get(kind, WithBFrames(one_frame_holds=True)), timeout_s=3600)


def child(kind: str, images: int, seconds: float) -> None:
    plan = plan_for(images, seconds)
    out = WORK / f"holds-{kind}-{images}x{seconds:g}.mp4"
    start = time.perf_counter()
    asyncio.run(render(kind, plan, out))
    print(json.dumps({"wall_s": time.perf_counter() - start, "path": str(out)}))


# --- The checks --------------------------------------------------------------------------------------


def ffmpeg(*args: str) -> str:
    from nemo_video_mcp.render.runner import ffmpeg_exe

    done = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", *args], capture_output=True, text=True)
    return done.stdout + done.stderr


def packets(path: Path) -> tuple[int, float]:
    """The video stream's packet count and where it ends (last pts + its duration), in seconds."""
    text = ffmpeg("-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "-")
    base = re.search(r"#tb 0: (\d+)/(\d+)", text)
    rows = [line.split(",") for line in text.splitlines() if line.startswith("0,")]
    assert base and rows, text[-500:]
    tb = int(base.group(1)) / int(base.group(2))
    ends = [(int(row[2]) + int(row[3])) * tb for row in rows]  # stream, dts, pts, duration, size, crc
    return len(rows), max(ends)


def decoded_at_fps(path: Path, fps: int) -> int:
    text = ffmpeg("-i", str(path), "-vf", f"fps={fps}", "-f", "null", "-")
    return int(re.findall(r"frame=\s*(\d+)", text)[-1])


def psnr(vfr: Path, cfr: Path, fps: int) -> str:
    text = ffmpeg("-i", str(vfr), "-i", str(cfr), "-lavfi", f"[0:v]fps={fps}[a];[a][1:v]psnr", "-f", "null", "-")
    found = re.search(r"PSNR y:([\d.inf]+) u:([\d.inf]+) v:([\d.inf]+) average:([\d.inf]+) min:([\d.inf]+)", text)
    return f"average {found.group(4)} dB, worst frame {found.group(5)} dB" if found else text[-300:]


def file_checks(name: str, path: Path, plan) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from nemo_video_mcp.render.probe import probe_video

    info = probe_video(path)
    count, end = packets(path)
    return {
        "container duration": f"{info.duration_s:.3f} s",
        "packets": count,
        "stream ends at": f"{end:.4f} s",
        "frames decoded at 30 fps": decoded_at_fps(path, plan.fps),
        "moov before mdat": info.faststart,
        "size": f"{info.size_bytes / 1e6:.2f} MB",
    }


PAGE = """<!doctype html><body>
<video id=v muted preload=auto src="{src}"></video><canvas id=c width=64 height=36></canvas>
<script>
const v = document.getElementById('v'), c = document.getElementById('c').getContext('2d');
const once = (what) => new Promise(r => v.addEventListener(what, r, {{once: true}}));
async function seekMean(t) {{
  const shown = new Promise(r => {{
    v.requestVideoFrameCallback((now, m) => r(m.mediaTime)); setTimeout(() => r(null), 3000);
  }});
  v.currentTime = t; await once('seeked'); const mediaTime = await shown;
  c.drawImage(v, 0, 0, 64, 36); const d = c.getImageData(0, 0, 64, 36).data; const m = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) {{ m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }}
  return [...m.map(x => x / (d.length / 4)), mediaTime];
}}
window.check = async (times) => {{
  if (v.readyState < 1) await once('loadedmetadata');
  const duration = v.duration, means = [];
  for (const t of times) means.push(await seekMean(t));
  v.currentTime = 0; await once('seeked'); v.playbackRate = 16; const start = performance.now();
  await v.play(); await once('ended');
  return {{duration, means, endedAt: v.currentTime, ended: v.ended, playedS: (performance.now() - start) / 1000}};
}};
</script>"""


def browser_checks(paths: dict[str, Path], times: list[float]) -> dict[str, dict[str, object]]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("  (Chromium not checked: `pip install playwright`, it drives /usr/bin/chromium)")
        return {}
    results = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for name, path in paths.items():
            page_file = path.with_suffix(".html")
            page_file.write_text(PAGE.format(src=path.name), encoding="utf-8")
            page = browser.new_page()
            page.goto(page_file.as_uri())
            results[name] = page.evaluate("times => window.check(times)", times)
            page.close()
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.images, args.seconds)
        return
    plan = plan_for(args.images, args.seconds)
    print(f"{args.seconds:g} s 1080p30, {args.images} images, fades, static; {args.pairs} pairs; {load()}")
    runs: dict[str, list[dict[str, float]]] = {"cfr": [], "vfr": [], "vfr-b": []}
    for i in range(args.pairs):
        for kind in list(runs)[i % 3 :] + list(runs)[: i % 3]:
            argv = [sys.executable, __file__, "--child", kind, "--images", str(args.images)]
            runs[kind].append(measure_child([*argv, "--seconds", str(args.seconds)]))
    for kind, got in runs.items():
        walls, peaks = [r["wall_s"] for r in got], [r["peak_mb"] for r in got]
        print(f"  {kind}: wall {spread(walls, ' s')}   peak RSS {spread(peaks, ' MB', 1, 0)}")
    wall = {kind: [r["wall_s"] for r in got] for kind, got in runs.items()}
    for kind in ("vfr", "vfr-b"):
        print(f"  {kind} / cfr wall, run by run: {spread(ratios(wall[kind], wall['cfr']), 'x', digits=3)}")
    print(f"  after the renders: {load()}")

    paths = {kind: Path(str(got[0]["path"])) for kind, got in runs.items()}
    print(f"the files (planned: {plan.total_frames} frames, {plan.duration_s:.4f} s):")
    for kind, path in paths.items():
        print(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in file_checks(kind, path, plan).items()))
    for kind in ("vfr", "vfr-b"):
        print(f"  psnr of {kind} (decoded at {plan.fps} fps) against cfr: {psnr(paths[kind], paths['cfr'], plan.fps)}")

    last_frame = (plan.total_frames - 0.5) / plan.fps
    times = [(image.start_frame + image.frames / 2) / plan.fps for image in plan.images] + [last_frame]
    played = browser_checks(paths, times)
    if played:
        print(f"Chromium {CHROMIUM}, headless (seek to the middle of each hold and to {last_frame:.3f} s):")
        for kind, got in played.items():
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in got.items() if k != "means"}
            print(f"  {kind}: {shown}")
        for kind in ("vfr", "vfr-b"):
            differences = [
                max(abs(a - b) for a, b in zip(ours[:3], theirs[:3], strict=True))
                for ours, theirs in zip(played[kind]["means"], played["cfr"]["means"], strict=True)  # type: ignore[call-overload]
            ]
            listed = " ".join(f"{d:.1f}" for d in differences)
            print(f"  picture, {kind} against cfr (largest mean-colour difference / 255, at each time): {listed}")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
