"""Render children die with the server: their own process group, a death signal, a kill on shutdown."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys

import pytest

from nemo_video_mcp.render import children
from nemo_video_mcp.render.runner import stop_process
from tests.processes import gone_within, running

from .conftest import assert_process_gone

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")

PARENT = """
import subprocess, sys, time
from nemo_video_mcp.render.children import spawn_options
child = subprocess.Popen(["sleep", "60"], **spawn_options())
print(child.pid, flush=True)
time.sleep(60)
"""


@linux_only
def test_a_child_dies_within_2_s_of_its_parent_being_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert running(child) and os.getpgid(child) == child  # its own process group
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert gone_within(child, 2.0), f"child {child} outlived its parent"
    finally:
        parent.kill()
        parent.wait()


@linux_only
def test_a_child_whose_parent_died_before_the_death_signal_was_set_exits_at_once():
    not_my_parent = os.getpid() + 1_000_000  # as if the parent died before the child ran prctl
    guard = functools.partial(children._die_with_parent, children._prctl(), int(signal.SIGKILL), not_my_parent)
    child = subprocess.Popen(["sleep", "60"], preexec_fn=guard)
    assert child.wait(timeout=5) == 1


async def test_kill_all_kills_every_registered_child_group():
    process = await children.start_child("sleep", "60")
    try:
        assert os.getpgid(process.pid) == process.pid and process.pid in children.live_pids()
        children.kill_all()
        assert await asyncio.wait_for(process.wait(), 5) == -signal.SIGKILL
        assert_process_gone(process)
    finally:
        children.release(process)
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.pid not in children.live_pids()


async def test_a_cancel_while_a_killed_child_is_reaped_is_raised_not_swallowed() -> None:
    process = await children.start_child("sleep", "30")
    stopping = asyncio.ensure_future(stop_process(process, "sleep"))
    await asyncio.sleep(0)  # stop_process has killed the child and waits to reap it
    stopping.cancel()
    await asyncio.wait({stopping}, timeout=10)
    assert stopping.cancelled(), "the cancel was swallowed: a stopped job would run on"
    await process.wait()
    children.release(process)
    assert_process_gone(process)
