"""A job's progress reaches the calls watching it a few times a second, rising, and never stale."""

from __future__ import annotations

import asyncio

from nemo_video_mcp.running_jobs import PROGRESS_EVERY_S, JobProgress, RunningJobs


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[float, float | None, str]] = []

    async def progress(self, done: float, total: float | None, message: str) -> None:
        self.sent.append((done, total, message))

    async def log(self, level: str, message: str) -> None:
        return None


async def test_a_burst_of_events_sends_a_few_notifications_and_then_the_newest() -> None:
    progress, watcher = JobProgress(), Recorder()
    with progress.watched_by(watcher):
        for count in range(1, 20_001):
            await progress.progress(count, None, f"event {count}")
        assert len(watcher.sent) <= 3, "a burst is coalesced, not sent event by event"
        await asyncio.sleep(PROGRESS_EVERY_S * 2)
    assert watcher.sent[-1] == (20_000, None, "event 20000"), "the newest value arrives once the interval ends"
    values = [done for done, _, _ in watcher.sent]
    assert values == sorted(set(values)), "notifications only ever increase"


async def test_progress_spread_over_time_is_sent_at_the_interval() -> None:
    progress, watcher = JobProgress(), Recorder()
    with progress.watched_by(watcher):
        for count in range(1, 11):
            await progress.progress(count, 10, "rendering")
            await asyncio.sleep(PROGRESS_EVERY_S * 1.5)
    assert [done for done, _, _ in watcher.sent] == list(range(1, 11))


async def test_a_call_that_starts_watching_gets_the_latest_at_once_and_never_a_repeat() -> None:
    jobs = RunningJobs()
    release = asyncio.Event()

    async def work(progress: JobProgress) -> None:
        await progress.progress(4, None, "started")
        await progress.progress(5, None, "halfway")  # held: it came within the interval
        await release.wait()
        await progress.progress(6, None, "almost")

    jobs.start("job-1", work)
    await asyncio.sleep(0)
    late = Recorder()
    watching = asyncio.create_task(jobs.watch("job-1", late))
    await asyncio.sleep(PROGRESS_EVERY_S * 2)
    release.set()
    await watching
    await asyncio.sleep(PROGRESS_EVERY_S * 2)
    assert [done for done, _, _ in late.sent] == [5, 6]


async def test_a_job_that_ends_within_the_interval_still_delivers_its_last_step() -> None:
    jobs = RunningJobs()

    async def work(progress: JobProgress) -> None:
        for count in range(1, 101):
            await progress.progress(count, None, f"step {count}")

    watcher = Recorder()
    jobs.start("job-2", work)
    await jobs.watch("job-2", watcher)
    assert watcher.sent[-1] == (100, None, "step 100") and len(watcher.sent) <= 3
