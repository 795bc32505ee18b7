"""Processes seen from outside, by pid: is one still running, which are a process's children, and
the lease of a process that is not this one (a stand-in for another server)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nemo_video_mcp.lease import Lease

PROC = Path("/proc")
_PRINT_LEASE = "from nemo_video_mcp.lease import my_lease; print(my_lease().tag, flush=True); input()"


def running(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie (an orphan's zombie may never be reaped here)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def children_of(pid: int) -> dict[int, str]:
    """The running children of `pid`: pid -> command line."""
    found: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid and running(int(entry.name)):
            found[int(entry.name)] = command
    return found


@contextmanager
def foreign_process() -> Iterator[tuple[subprocess.Popen[str], Lease]]:
    """Another live process and its lease, as another server would record it; killed on exit."""
    process = subprocess.Popen(
        [sys.executable, "-c", _PRINT_LEASE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        lease = Lease.from_tag(process.stdout.readline().strip())
        assert lease is not None and lease.pid == process.pid
        yield process, lease
    finally:
        process.kill()
        process.wait()


def dead_lease() -> Lease:
    """The lease of a process that has exited (and been reaped)."""
    with foreign_process() as (_process, lease):
        pass
    assert not lease.is_alive()
    return lease
