"""Work the server owns: jobs that run as tasks of their own, outliving the tool call that started them.

A host cancels a call at its own timeout, and `notifications/cancelled` cancels the call's task.
Neither may cancel an edit that was sent or a render that was started, so each job runs in a task
created outside any call (no call budget, no call's notices or log forwarding), and calls only
*watch* it: they attach a reporter for its progress and wait for it, up to their budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from nemo_video_mcp.budget import outside_any_call, remaining
from nemo_video_mcp.progress import Reporter

log = logging.getLogger(__name__)

ANSWER_MARGIN_S = 1.0
"""What a call keeps of its budget to build and send its answer after it stops waiting."""


PROGRESS_EVERY_S = 0.2
"""A job's progress reaches each watching call at most this often (an edit stream can bring thousands of
events a second; one notification each would cost the client more than the work). The newest value is
always delivered: what arrives in between is held and sent when the interval ends."""


class _Watcher:
    """One call watching a job, and the last value it was sent (its notifications must only increase)."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.sent: float | None = None

    async def send(self, done: float, total: float | None, message: str) -> None:
        if self.sent is not None and done <= self.sent:
            return
        self.sent = done
        await self.reporter.progress(done, total, message)


class JobProgress:
    """A reporter that passes one job's progress, coalesced, to whichever calls watch it right now."""

    def __init__(self) -> None:
        self._watchers: list[_Watcher] = []
        self.last: tuple[float, float | None, str] | None = None
        self._sent_at = -PROGRESS_EVERY_S
        self._held: asyncio.TimerHandle | None = None

    async def progress(self, done: float, total: float | None, message: str) -> None:
        self.last = (done, total, message)
        wait = self._sent_at + PROGRESS_EVERY_S - time.monotonic()
        if wait <= 0:
            await self._send_last()
        elif self._held is None:
            self._held = asyncio.get_running_loop().call_later(wait, self._send_held)

    async def flush(self) -> None:
        """Send the newest value now, to whoever has not had it (the job ended: its last step is not
        left held, nor left to a held send that might run after the call has stopped watching)."""
        await self._send_last()

    def _send_held(self) -> None:
        self._held = None
        task = asyncio.get_running_loop().create_task(self._send_last())
        _held_sends.add(task)
        task.add_done_callback(_held_sends.discard)

    async def _send_last(self) -> None:
        if self._held is not None:
            self._held.cancel()
            self._held = None
        self._sent_at = time.monotonic()
        if self.last is not None:
            for watcher in list(self._watchers):
                await watcher.send(*self.last)

    async def log(self, level: str, message: str) -> None:
        for watcher in list(self._watchers):
            await watcher.reporter.log(level, message)

    @contextlib.contextmanager
    def watched_by(self, reporter: Reporter) -> Iterator[_Watcher]:
        watcher = _Watcher(reporter)
        self._watchers.append(watcher)
        try:
            yield watcher
        finally:
            self._watchers.remove(watcher)


_held_sends: set[asyncio.Task[None]] = set()
"""Held progress being sent (kept referenced until done, as asyncio asks)."""


class RunningJobs:
    """The jobs this process runs, by id."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._progress: dict[str, JobProgress] = {}

    def start(self, job_id: str, work: Callable[[JobProgress], Awaitable[Any]]) -> asyncio.Task[Any]:
        """Run `work` as the job `job_id` (once: a job already running here is returned as is)."""
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            return task
        progress = JobProgress()
        loop = asyncio.get_running_loop()
        task = outside_any_call().run(loop.create_task, _logged(job_id, work, progress), name=f"job-{job_id}")
        task.add_done_callback(_mark_retrieved)
        self._tasks[job_id] = task
        self._progress[job_id] = progress
        return task

    def task(self, job_id: str) -> asyncio.Task[Any] | None:
        return self._tasks.get(job_id)

    def latest_progress(self, job_id: str) -> tuple[float, str] | None:
        """The last progress this process saw from the job (fresher than the ledger): (value, message)."""
        progress = self._progress.get(job_id)
        if progress is None or progress.last is None:
            return None
        done, _, message = progress.last
        return done, message

    def failure(self, job_id: str) -> BaseException | None:
        """What the job's task here raised, once it has ended by raising (None otherwise)."""
        task = self._tasks.get(job_id)
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    def runs_here(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    async def watch(self, job_id: str, reporter: Reporter) -> asyncio.Task[Any] | None:
        """Wait for the job up to the call's budget, passing its progress on; the task (done or not).

        Leaving early (budget spent, call cancelled) ends the wait only: the job goes on.
        """
        task = self._tasks.get(job_id)
        if task is None:
            return None
        progress = self._progress[job_id]
        with progress.watched_by(reporter) as watcher:
            if progress.last is not None and not task.done():
                await watcher.send(*progress.last)
            await asyncio.wait({task}, timeout=wait_time())
            if task.done():
                await progress.flush()
        return task

    async def stop(self, job_id: str) -> None:
        """Stop one job here (e.g. following a render that is being cancelled)."""
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop every job (the server is shutting down; the ledgers say what was in flight)."""
        running = [task for task in self._tasks.values() if not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def stop_task(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has ended. Unlike `with suppress(CancelledError): await task`,
    a cancel of the caller itself still raises, so a stopped job never runs on."""
    task.cancel()
    await asyncio.wait({task})


def _mark_retrieved(task: asyncio.Task[Any]) -> None:
    """A job's failure is read later, from the task or the ledger: asyncio need not warn that nobody waited."""
    if not task.cancelled():
        task.exception()


def wait_time() -> float | None:
    """How long a call may still wait for a job, keeping the margin to answer; None: no budget."""
    left = remaining()
    return None if left is None else max(0.0, left - ANSWER_MARGIN_S)


async def _logged(job_id: str, work: Callable[[JobProgress], Awaitable[Any]], progress: JobProgress) -> Any:
    try:
        return await work(progress)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.info("job %s ended with %s", job_id, type(exc).__name__)
        raise
