"""Every child the local engine starts (ffmpeg, the preparing helper) dies with the server.

A child runs in its own process group (`start_new_session`), so killing the group reaches all of it,
and a signal sent to the server's group (a host stopping the server) is left to the server to pass
on. On Linux the child also asks the kernel to SIGKILL it when its parent dies (`PR_SET_PDEATHSIG`,
set by a `preexec_fn` between fork and exec): that covers a `kill -9` of the server, when no
clean-up code of ours runs. If the parent died before that request was in place, the child exits at
once instead of running as an orphan. Elsewhere the kernel offers no such thing; the owner lease on
the job and on the temp files lets the next server redo the render and remove what the dead one left.

The kernel sends the death signal when the *thread* that forked the child ends, not the process.
Children are started from the asyncio loop, which runs on the main thread of the server (and of the
CLI), so the two coincide; a child started from a worker thread (`asyncio.to_thread`) would be
killed as soon as that thread exits. The `preexec_fn` runs in a forked copy of a threaded process,
so it does as little as it can: `prctl` is looked up in the parent, the child only calls it.

Live children stay registered until they are reaped, so `kill_all` (run by `LocalBackend.aclose`
and at interpreter exit) kills every group that is left.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
_live: dict[int, asyncio.subprocess.Process] = {}


async def start_child(program: str, *args: str, **options: Any) -> asyncio.subprocess.Process:
    """`asyncio.create_subprocess_exec` for a child that dies with us; `release` it once reaped."""
    process = await asyncio.create_subprocess_exec(program, *args, **options, **spawn_options())
    _kill_all_at_exit()
    _live[process.pid] = process
    return process


def release(process: asyncio.subprocess.Process) -> None:
    """Forget a child that was reaped (its pid may be reused from now on)."""
    _live.pop(process.pid, None)


def spawn_options() -> dict[str, Any]:
    """The keyword arguments (for `asyncio.create_subprocess_exec` or `subprocess.Popen`) that make a
    child its own process group and, on Linux, tie its life to this thread's."""
    options: dict[str, Any] = {"start_new_session": True}
    prctl = _prctl()
    if prctl is not None:
        options["preexec_fn"] = functools.partial(_die_with_parent, prctl, int(signal.SIGKILL), os.getpid())
    return options


def kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's process group (the child alone if it leads none); no-op once it exited."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg") and _leads_group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()


def kill_all() -> None:
    """Kill every registered child's group: the server is shutting down."""
    for process in list(_live.values()):
        kill(process)


def live_pids() -> list[int]:
    """The children started and not yet released (for diagnostics and tests)."""
    return list(_live)


@functools.cache
def _kill_all_at_exit() -> None:
    atexit.register(kill_all)


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's `prctl`, resolved in the parent so the child only calls it; None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _die_with_parent(prctl: Callable[..., int], death_signal: int, parent_pid: int) -> None:
    """Runs in the child between fork and exec: ask for `death_signal` when the parent dies."""
    prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request was in place
        os._exit(1)
