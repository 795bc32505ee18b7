"""The child side of `prepare`: make a render's stills, transition frames and title card, then exit.

    python -m nemo_video_mcp.render.prepare_worker < job.json

The job (JSON on stdin, see `prepare.prepare_in_child`) names every source and target file. The
stills and the title are made two at a time in threads (Pillow releases the GIL while it decodes,
scales and blurs), then the transitions, which read the stills. Each finished still or transition
prints `{"step": 1}` on stdout; the end prints `{"title": ...}` (or null) or `{"error": ...}`: the
error's class (`module.Name`), message, next step and code, so the parent raises the same typed error.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

WORKERS = 2


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    try:
        title = run(job, _emit_step)
    except Exception as exc:  # every failure goes back to the parent as data
        _emit({"error": describe_error(exc)})
        return 1
    _emit({"title": title})
    return 0


def run(job: dict[str, Any], on_step: Callable[[], None]) -> dict[str, Any] | None:
    """Do `job`; return the title card's path and placement (or None)."""
    from nemo_video_mcp.render.images import normalize_image
    from nemo_video_mcp.render.transitions import write_transition

    size, fit = tuple(job["size"]), job["fit"]
    card: dict[str, Any] = {}
    jobs: list[tuple[Callable[[], object], bool]] = [
        (functools.partial(normalize_image, Path(source), Path(target), size, fit), True)
        for source, target in job["stills"]
    ]
    if job.get("title"):
        jobs.append((lambda: card.update(_title(job["title"])), False))
    _in_threads(jobs, on_step)
    kind, frames, fps = job.get("kind"), job.get("frames", 0), job.get("fps", 30)
    pairs: list[tuple[Callable[[], object], bool]] = [
        (functools.partial(write_transition, Path(a), Path(b), Path(t), kind, frames, fps), True)
        for a, b, t in job.get("transitions", [])
    ]
    _in_threads(pairs, on_step)
    return card or None


def _title(spec: dict[str, Any]) -> dict[str, Any]:
    from nemo_video_mcp.render.title import render_title

    card = render_title(spec["text"], tuple(spec["frame"]), Path(spec["target"]))  # type: ignore[arg-type]
    return {"path": str(card.path), "x": card.x, "y": card.y, "width": card.width, "height": card.height}


def _in_threads(jobs: list[tuple[Callable[[], object], bool]], on_step: Callable[[], None]) -> None:
    """Run `jobs` two at a time; on the first failure, skip what has not started and raise it."""
    if not jobs:
        return
    stop = threading.Event()

    def run_one(job: Callable[[], object]) -> object:
        return None if stop.is_set() else job()

    workers = max(1, min(WORKERS, os.cpu_count() or 1, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nemo-prepare") as pool:
        futures = {pool.submit(run_one, job): counts for job, counts in jobs}
        for future in as_completed(futures):
            try:
                future.result()
            except BaseException:
                stop.set()
                for other in futures:
                    other.cancel()
                raise
            if futures[future]:
                on_step()


def describe_error(exc: BaseException) -> dict[str, Any]:
    """What the parent needs to raise the same error: class, message, next step, code."""
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    message = getattr(exc, "message", None)
    next_step = getattr(exc, "next_step", None)
    if isinstance(message, str) and isinstance(next_step, str):
        return {"type": kind, "message": message, "next_step": next_step, "code": getattr(exc, "code", None)}
    return {"type": kind, "message": str(exc) or type(exc).__name__}


_write_lock = threading.Lock()


def _emit(record: dict[str, Any]) -> None:
    line = json.dumps(record) + "\n"
    with _write_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _emit_step() -> None:
    _emit({"step": 1})


if __name__ == "__main__":
    sys.exit(main())
