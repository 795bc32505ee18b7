"""Run a render's Pillow work (stills, transition frames) in a short-lived child process.

Decoding eight 24-megapixel photos takes the process that does it past 130 MB, and glibc keeps much
of that after the images are freed. Done in a child (`prepare_worker`) that exits before ffmpeg
starts, the long-running server never holds a decoded photo, and its footprint beside ffmpeg stays
its import footprint. The child reports each finished step on stdout; a failure comes back as the
error's class, message and next step, and is raised here as the same typed error.

Cancellation, timeout and failure kill the child and reap it before returning, so the caller can
delete the files it was writing; it is started through `children`, so it also dies with the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import site
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nemo_video_mcp
from nemo_video_mcp.errors import NemoError
from nemo_video_mcp.render import children
from nemo_video_mcp.render.runner import FfmpegError, read_tail, run_to_exit

log = logging.getLogger(__name__)

WORKER_MODULE = "nemo_video_mcp.render.prepare_worker"
STDERR_TAIL_LINES = 20


class PrepareError(FfmpegError):
    """Preparing the pictures failed in a way that is not one of our typed errors (a crash, a bug)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"preparing the images failed: {detail}")


def worker_argv() -> list[str]:
    """The command that starts the child: this interpreter, running `prepare_worker`."""
    return [sys.executable, "-m", WORKER_MODULE]


async def prepare_in_child(
    job: dict[str, Any], *, timeout_s: float, on_step: Callable[[], None] | None = None
) -> dict[str, tuple[str, tuple[float, float] | None]]:
    """Run `job` (see `prepare_worker.run`) in a child process, to its end; return each still's fit (the
    child chooses it when none is asked) and subject point (smart stills of a ken burns job), by target.

    Raises the child's typed error (e.g. `ImageUnreadableError`) with its message and next step,
    or `PrepareError` if the child crashed or timed out.
    """
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    outcome: dict[str, Any] = {}
    try:
        process = await children.start_child(
            *worker_argv(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(),
        )
    except OSError as exc:
        raise PrepareError(f"the helper process could not be started ({exc})") from exc
    log.debug("preparing in child pid %s", process.pid)
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    code, _ = await run_to_exit(
        process,
        [
            _send(process.stdin, json.dumps(job).encode()),
            _read_records(process.stdout, outcome, on_step),
            read_tail(process.stderr, tail),
        ],
        timeout_s,
        lambda: PrepareError(f"it did not finish within {timeout_s:.0f} s and was stopped"),
        "prepare",
    )
    if "error" in outcome:
        raise rebuild_error(outcome["error"])
    if code != 0 or not outcome.get("done"):
        text = " | ".join(line for line in tail if line.strip())[-1500:]
        raise PrepareError(f"the helper process exited with code {code}: {text or 'no error text'}")
    return dict(outcome.get("stills", {}))


async def _send(stdin: asyncio.StreamWriter, job: bytes) -> None:
    """The job to the child, then end of input (a child that died early is told by its exit code)."""
    stdin.write(job)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await stdin.drain()
    stdin.close()


def rebuild_error(error: dict[str, Any]) -> NemoError:
    """The typed error the child described; `PrepareError` for anything that is not one of ours."""
    module, _, name = str(error.get("type", "")).rpartition(".")
    cls: object = None
    if module.startswith("nemo_video_mcp.") and "next_step" in error:
        with contextlib.suppress(ImportError, AttributeError):
            cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, NemoError)):
        return PrepareError(f"{name or 'error'}: {error.get('message', '')}")
    rebuilt = cls.__new__(cls)
    NemoError.__init__(rebuilt, str(error["message"]), str(error["next_step"]), code=error.get("code"))
    return rebuilt


def _child_env() -> dict[str, str]:
    """The parent's environment, with this package importable even if it is only on our sys.path.

    An installed package needs nothing (and a site-packages directory on PYTHONPATH would come before
    the standard library); a source checkout added to sys.path by hand (as the bench does) is passed on.
    """
    env = dict(os.environ)
    root = Path(nemo_video_mcp.__file__).resolve().parent.parent
    site_dirs = [*site.getsitepackages(), site.getusersitepackages()]
    if all(Path(d).resolve() != root for d in site_dirs):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


async def _read_records(
    stream: asyncio.StreamReader, outcome: dict[str, Any], on_step: Callable[[], None] | None
) -> None:
    async for raw in stream:
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "step" in record:
            if on_step is not None:
                on_step()
        elif "still" in record:
            target, fit, subject = record["still"]
            outcome.setdefault("stills", {})[str(target)] = (str(fit), tuple(subject) if subject else None)
        else:
            outcome.update(record)
