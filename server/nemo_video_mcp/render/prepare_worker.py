"""The child side of `prepare`: make a render's stills and transition frames, then exit.

    python -m nemo_video_mcp.render.prepare_worker < job.json

The job (JSON on stdin, see `prepare.prepare_in_child`) names every source and target file, and each
still's fit. The stills, the transitions and a ken burns dissolve's masks are made two at a time in
threads (Pillow releases the GIL while it decodes, scales and blurs); a transition starts once its two
stills are written. Each finished still, transition or set of masks prints `{"step": 1}` on stdout;
the end prints `{"done": true}` or `{"error": ...}`: the error's class (`module.Name`), message, next
step and code, so the parent raises the same typed error.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nemo_video_mcp.models import Fit, Transition

WORKERS = 2
StillCallback = Callable[[str, str, "tuple[float, float] | None"], None]


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    try:
        run(job, _emit_step, lambda target, fit, subject: _emit({"still": [target, fit, subject]}))
    except Exception as exc:  # every failure goes back to the parent as data
        _emit({"error": describe_error(exc)})
        return 1
    _emit({"done": True})
    return 0


def run(job: dict[str, Any], on_step: Callable[[], None], on_still: StillCallback = lambda *_: None) -> None:
    """Do `job`: its stills, then (for a static plan) its transition frames; `job["masks"]`, a target and
    a size, asks for a ken burns dissolve's masks (`transitions.write_dissolve_masks`).

    Each still's fit and, with `job["subjects"]` (ken burns), a smart still's subject point are told by
    `on_still(target, fit, subject)`: a still without a fit (auto) gets the one its photo's shape calls
    for (`images.chosen_fit`)."""
    from nemo_video_mcp.errors import NemoError
    from nemo_video_mcp.render.crop import subject_of_still
    from nemo_video_mcp.render.images import chosen_fit, normalize_image
    from nemo_video_mcp.render.transitions import write_dissolve_masks, write_transition

    size = tuple(job["size"])
    kind: Transition = job["kind"]
    frames, fps = job.get("frames", 0), job.get("fps", 30)

    def still(source: str, target: str, name: str, fit: Fit | None, crop: list[float] | None) -> None:
        window = (crop[0], crop[1], crop[2], crop[3]) if crop else None
        try:
            used = chosen_fit(Path(source), size, fit, window)
        except NemoError:
            used = "blur"  # normalize_image says what is wrong with the photo, by the name the user knows
        normalize_image(Path(source), Path(target), size, used, name=name, crop=window)
        subject = subject_of_still(Path(target)) if used == "smart" and job.get("subjects") else None
        on_still(target, used, subject)

    tasks = [Task(functools.partial(still, *entry), makes=entry[1]) for entry in job["stills"]]
    tasks += [
        Task(functools.partial(write_transition, Path(a), Path(b), Path(t), kind, frames, fps), needs=(a, b))
        for a, b, t in job.get("transitions", [])
    ]
    if job.get("masks"):
        target, width, height = job["masks"]
        tasks.append(Task(functools.partial(write_dissolve_masks, (width, height), frames, fps, Path(target))))
    run_tasks(tasks, on_step)


@dataclass
class Task:
    """One piece of work: it may need the files other tasks make (a transition needs its two stills)."""

    work: Callable[[], object]
    makes: str | None = None
    needs: tuple[str, ...] = ()


def run_tasks(tasks: list[Task], on_step: Callable[[], None]) -> None:
    """Run `tasks` two at a time, each as soon as what it needs is made (so a transition fills a thread
    that would idle while the last still is decoded). On the first failure, skip what has not
    started, wait for what has, and raise it."""
    stop = threading.Event()

    def run_one(task: Task) -> object:
        return None if stop.is_set() else task.work()

    workers = max(1, min(WORKERS, os.cpu_count() or 1, len(tasks)))
    made: set[str] = set()
    waiting = list(tasks)
    running: dict[Future[object], Task] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nemo-prepare") as pool:
        while waiting or running:
            for task in [task for task in waiting if made.issuperset(task.needs)]:
                waiting.remove(task)
                running[pool.submit(run_one, task)] = task
            if not running:
                raise ValueError("a transition needs a still that no task makes")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    future.result()
                except BaseException:
                    stop.set()
                    for other in running:
                        other.cancel()
                    raise
                if task.makes is not None:
                    made.add(task.makes)
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
