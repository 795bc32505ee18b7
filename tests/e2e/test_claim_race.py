"""Two real server processes on one cache race to export the same timeline: one render is started, and paid.

The race is made certain, not lucky: each server runs on a slow disk (writing a new job into
renders.json takes a second), so the second server always looks while the first is still writing.
Without the ledger's lock, or without the check under it, both find no job and both start a render.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.e2e.harness import Project, assert_success, make_video

SLOW_NEW_JOB_S = 1.0
SLOW_DISK_SERVER = (
    "-c",
    f"""
import sys, time
from nemo_video_mcp.store import Store

fast_write = Store.write

def slow_write(self, name, data):
    if name == "renders":
        known = (self.read("renders") or {{}}).get("jobs", {{}})
        if set(data.get("jobs", {{}})) - set(known):  # a new job: the claim's write
            time.sleep({SLOW_NEW_JOB_S})
    fast_write(self, name, data)

Store.write = slow_write
from nemo_video_mcp.cli import main
sys.exit(main([]))
""",
)
"""The real server (`nemo_video_mcp.cli.main`), with renders.json slow to take a new job."""


def server_env() -> dict[str, str]:
    env = {"NEMO_CALL_BUDGET_S": "15"}
    if os.environ.get("PYTHONPATH"):  # a scratch copy of the code under test wins over the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


async def test_two_server_processes_racing_to_export_one_timeline_start_one_render(project: Project) -> None:
    python = Path(sys.executable)
    async with (
        project.launch(*SLOW_DISK_SERVER, command=python, extra_env=server_env()) as one,
        project.launch(*SLOW_DISK_SERVER, command=python, extra_env=server_env()) as two,
    ):
        await make_video(one, project)
        project.sim.configure(render_seconds=60)  # still running when both answer
        first, second = await asyncio.gather(one.call("export_video", wait=False), two.call("export_video", wait=False))
        assert_success(first)
        assert_success(second)
    assert project.renders_started() == 1
    assert first.structured and second.structured
    assert first.structured["job_id"] == second.structured["job_id"]
    assert sorted([first.structured["resumed"], second.structured["resumed"]]) == [False, True]
