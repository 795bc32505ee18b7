"""Who owns a piece of work: a process lease (pid + the process's start time).

A pid alone is not enough: after a crash the number can be reused by an unrelated process. On
Linux the start time (in clock ticks since boot, from /proc) tells the owner from a newcomer;
elsewhere the lease falls back to "a process with this pid exists".
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict


class Lease(BaseModel):
    """The owner of a job or a temp file: a process, identified beyond its pid."""

    model_config = ConfigDict(frozen=True)

    pid: int
    started: str | None = None

    @property
    def tag(self) -> str:
        """A file-name-safe form, e.g. `4242-987654` (used in temp folder names)."""
        return f"{self.pid}-{self.started or 'x'}"

    @classmethod
    def from_tag(cls, tag: str) -> Lease | None:
        pid, _, started = tag.partition("-")
        if not pid.isdigit():
            return None
        return cls(pid=int(pid), started=None if started in ("", "x") else started)

    def is_mine(self) -> bool:
        return self == my_lease()

    def is_alive(self) -> bool:
        """Whether the owning process still runs (this process counts as alive)."""
        if self.is_mine():
            return True
        now = _start_time(self.pid)
        if now is not None:
            return self.started is None or now == self.started
        return _pid_exists(self.pid) if not _PROC.is_dir() else False


_PROC = Path("/proc")


@functools.lru_cache(maxsize=1)
def _my_lease(pid: int) -> Lease:
    return Lease(pid=pid, started=_start_time(pid))


def my_lease() -> Lease:
    """This process's lease (recomputed after a fork)."""
    return _my_lease(os.getpid())


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time since boot), or None when unknown or gone.

    A zombie (state Z: dead, not yet reaped by a parent that may never reap it) counts as gone.
    """
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    if not fields or fields[0] == "Z":
        return None
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
