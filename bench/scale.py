"""How the local render grows: wall time and peak memory vs the number of images and vs the video's length.

    .venv/bin/python bench/scale.py                  # 4/8/16/32 images at 2 s each; 8 images in 15/60/180 s; 3 rounds
    .venv/bin/python bench/scale.py --quick          # 2/4 images at 1 s each; 4 images in 4/8 s; 1 round
    .venv/bin/python bench/scale.py --motion kenburns

Each render is `render_slideshow` of a 1080p30 plan with fades (0.5 s), static by default, of different
photo-like images (`_common.make_images`: 6000x4000 JPEGs, PNGs with and without alpha, a portrait),
in its own child process; wall time is measured in the child around the render, and the parent
samples the RSS of the child's whole tree (the preparing helper and ffmpeg included) every 20 ms
(`_common.measure_child`, as bench/render.py does). The rounds visit the plans in rotated order.

Printed: the table (median, min-max), then one least-squares fit over every plan, wall = a + b x
seconds + c x images, i.e. the cost per output second and per image, with each plan's residual, and
the slopes of the length series between its neighbours (equal slopes: linear in length).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))
from _common import WORK, load, make_images, measure_child, spread  # noqa: E402

Plan = tuple[int, float]
"""(images, seconds)"""


def child(images: int, seconds: float, motion: str) -> None:
    from nemo_video_mcp.render.plan import build_plan
    from nemo_video_mcp.render.slideshow import render_slideshow

    paths = make_images(images)
    plan = build_plan(range(images), duration_s=seconds, transition="fade", motion=motion).with_images(paths)
    out = WORK / f"scale-{motion}-{images}x{seconds:g}.mp4"
    start = time.perf_counter()
    asyncio.run(render_slideshow(plan, out, timeout_s=3600))
    print(json.dumps({"wall_s": time.perf_counter() - start, "frames": plan.total_frames}))


def fit(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Least squares y = a + b*s + c*n over (s, n, y): the normal equations, solved by Cramer's rule."""
    xs = [(1.0, s, n) for s, n, _ in rows]
    ys = [y for _, _, y in rows]
    m = [[sum(x[i] * x[j] for x in xs) for j in range(3)] for i in range(3)]
    v = [sum(x[i] * y for x, y in zip(xs, ys, strict=True)) for i in range(3)]

    def det(a: list[list[float]]) -> float:
        return (
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        )

    whole = det(m)
    solved = []
    for k in range(3):
        replaced = [[v[i] if j == k else m[i][j] for j in range(3)] for i in range(3)]
        solved.append(det(replaced) / whole)
    return solved[0], solved[1], solved[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--motion", default="static", choices=("static", "kenburns"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small plans, one round")
    args = parser.parse_args()
    if args.child:
        child(int(args.child[0]), float(args.child[1]), args.motion)
        return
    by_images: list[Plan] = [(n, 2.0 * n) for n in (4, 8, 16, 32)]
    by_length: list[Plan] = [(8, s) for s in (15.0, 60.0, 180.0)]
    if args.quick:
        args.rounds = 1
        by_images, by_length = [(n, 1.0 * n) for n in (2, 4)], [(4, s) for s in (4.0, 8.0)]
    plans = list(dict.fromkeys(by_images + by_length))
    make_images(max(n for n, _ in plans))
    print(f"local render, 1080p30, fades, {args.motion}; {args.rounds} rounds; {load()}")
    got: dict[Plan, list[dict[str, float]]] = {plan: [] for plan in plans}
    for r in range(args.rounds):
        for images, seconds in plans[r % len(plans) :] + plans[: r % len(plans)]:
            argv = [sys.executable, __file__, "--motion", args.motion, "--child", str(images), str(seconds)]
            got[(images, seconds)].append(measure_child(argv))
        print(f"  round {r + 1} done: {load()}")
    print(f"  {'images':>6} {'seconds':>7}  {'wall':<22} {'s per output s':<15} {'peak RSS (tree)':<20} parts (MB)")
    for images, seconds in plans:
        runs = got[(images, seconds)]
        walls = [run["wall_s"] for run in runs]
        per_second = statistics.median(walls) / seconds
        parts = ", ".join(
            f"{label} {max(run.get(f'peak_{label}_mb', 0) for run in runs):.0f}"
            for label in ("main", "helper", "ffmpeg")
        )
        peak = spread([run["peak_mb"] for run in runs], " MB", 1, 0)
        print(f"  {images:>6} {seconds:>7g}  {spread(walls, ' s'):<22} {per_second:<15.3f} {peak:<20} {parts}")
    rows = [(s, n, statistics.median(run["wall_s"] for run in got[(n, s)])) for n, s in plans]
    a, b, c = fit(rows)
    print(f"  fit over the {len(rows)} plans: wall = {a:.2f} s + {b:.3f} s per output second + {c:.3f} s per image")
    print("  residuals: " + ", ".join(f"{n}x{s:g} s {y - (a + b * s + c * n):+.2f}" for s, n, y in rows))
    length = [(s, y) for s, n, y in rows if n == by_length[0][0] and (n, s) in by_length]
    slopes = [f"{(y2 - y1) / (s2 - s1):.3f}" for (s1, y1), (s2, y2) in itertools.pairwise(length)]
    print(f"  length series, s per output second between neighbours: {', '.join(slopes)}")
    peaks = [(s, n, statistics.median(run["peak_mb"] for run in got[(n, s)])) for n, s in plans]
    pa, pb, pc = fit(peaks)
    print(f"  peak RSS fit: {pa:.0f} MB + {pb:.2f} MB per output second + {pc:.2f} MB per image")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
