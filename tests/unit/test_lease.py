"""The process lease: a live owner is alive, a dead one (or a reused pid, or a zombie) is not."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from nemo_video_mcp.lease import Lease, _start_time, my_lease


def test_this_process_and_a_live_child_are_alive() -> None:
    assert my_lease().is_alive() and my_lease().is_mine()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lease = Lease(pid=child.pid, started=_start_time(child.pid))
        assert lease.is_alive() and not lease.is_mine()
        assert not Lease(pid=child.pid, started="1").is_alive(), "a reused pid is not the owner"
    finally:
        child.kill()
        child.wait()
    assert not lease.is_alive()


def test_a_zombie_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    lease = Lease(pid=child.pid, started=_start_time(child.pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0]
        if state == "Z":
            break
        time.sleep(0.01)
    assert state == "Z"  # exited, not yet reaped
    assert not lease.is_alive()
    child.wait()


def test_a_tag_round_trips() -> None:
    lease = Lease(pid=os.getpid(), started="12345")
    assert Lease.from_tag(lease.tag) == lease and Lease.from_tag("nope") is None
