"""Shared fixtures for unit tests: settings pointing at a fake API base, a private cache."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nemo_video_mcp.config import Settings
from nemo_video_mcp.store import Store

API = "https://api.test"
WEB = "https://web.test"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "NEMO_API_BASE": API,
            "NEMO_WEB_BASE": WEB,
            "NEMO_CACHE_DIR": str(tmp_path / "cache"),
            "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
            "NEMO_POLL_INTERVAL": "0.01",
            "NEMO_WAIT_SCALE": "0.001",
            "NEMO_CLIENT_ID": "",
            "NEMO_CONFIRM_ABOVE": "0",  # the cost tests turn it on; elsewhere a form is the editor's question
        }
    )


@pytest.fixture(autouse=True)
async def no_task_outlives_its_test() -> AsyncIterator[None]:
    """Jobs a test left running (a service it never closed) are stopped here as a server stops them:
    the job tasks first (`RunningJobs.aclose`), then whatever is left (`asyncio.run`'s clean-up). So
    no job races the next test or hangs the loop's shutdown, and a task that ignores its cancel fails
    the test by name, with where it waits, instead of hanging it."""
    yield
    this = asyncio.current_task()
    for first in (True, False):
        left = [
            task
            for task in asyncio.all_tasks()
            if task is not this and not task.done() and (task.get_name().startswith("job-") or not first)
        ]
        for task in left:
            task.cancel()
        _, stuck = await asyncio.wait(left, timeout=10) if left else (set(), set())
        assert not stuck, "tasks ignored their cancel:\n" + "\n".join(_where(task) for task in stuck)


def _where(task: asyncio.Task[object]) -> str:
    """The task's name and the chain of awaits it is stuck in."""
    steps, awaited = [], task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_frame"):
        frame = awaited.cr_frame
        steps.append(f"{frame.f_code.co_name}:{frame.f_lineno}" if frame else "?")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
    return f"{task.get_name()} at {' > '.join(steps)} on {awaited!r}"


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings.cache_dir)


def assert_process_gone(process: asyncio.subprocess.Process) -> None:
    """The child was reaped (no zombie) and no longer exists."""
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
