"""A lease tells processes apart by their start time, read from /proc (Linux), and its tag keeps it."""

from __future__ import annotations

import subprocess
import sys
import time

from nemo_video_mcp.lease import Lease, _start_time, my_lease


def test_a_process_started_later_has_a_later_start_time_so_a_reused_pid_is_not_the_owner() -> None:
    time.sleep(0.05)  # start times count clock ticks (10 ms): the child's must be later than ours
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        mine, theirs = my_lease().started, _start_time(child.pid)
        assert mine is not None and theirs is not None and int(theirs) > int(mine)
        assert not Lease(pid=child.pid, started=mine).is_alive(), "the pid's new process is not the lease's owner"
    finally:
        child.kill()
        child.wait()


def test_a_tag_without_a_start_time_reads_back_without_one() -> None:
    lease = Lease(pid=4242)
    assert lease.tag == "4242-x"
    assert Lease.from_tag(lease.tag) == lease and Lease.from_tag("4242-") == lease
