"""The jobs document: bounded, and a running job is never the one dropped."""

from __future__ import annotations

import time
from pathlib import Path

from nemo_video_mcp.models import RenderJob
from nemo_video_mcp.render_jobs import RenderLedger
from nemo_video_mcp.store import Store


def job(number: int, status: str) -> RenderJob:
    return RenderJob(
        job_id=f"render_{number}", session_id="s", backend="cloud", status=status, created_at=number, updated_at=number
    )  # type: ignore[arg-type]


async def test_past_fifty_jobs_the_oldest_finished_go_and_a_running_one_stays(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ledger = RenderLedger(store)
    await ledger.save(job(0, "processing"))  # the oldest of all, still running
    for number in range(1, 61):
        await ledger.save(job(number, "completed"))
    kept = {j.job_id for j in ledger.all()}
    assert len(kept) == 50 and "render_0" in kept
    assert "render_1" not in kept and "render_60" in kept


async def test_an_unreadable_job_is_skipped_not_fatal(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write("renders", {"jobs": {"bad": {"job_id": 3}, "render_1": job(1, "completed").model_dump(mode="json")}})
    ledger = RenderLedger(store)
    assert [j.job_id for j in ledger.all()] == ["render_1"] and ledger.get("bad") is None


async def test_a_job_finishes_once_and_only_a_finished_job_is_marked_read(tmp_path: Path) -> None:
    ledger = RenderLedger(Store(tmp_path))
    running = job(1, "processing")
    await ledger.save(running)
    await ledger.mark_delivered(running.job_id)
    assert ledger.get(running.job_id) == running, "a running job's outcome cannot have been read"

    ended = ledger.stamped(running, status="completed")
    assert ended.finished_at == ended.updated_at
    time.sleep(0.01)
    later = ledger.stamped(ended, saved_path="/videos/v.mp4")
    assert later.updated_at > ended.updated_at and later.finished_at == ended.finished_at
    await ledger.save(later)
    await ledger.mark_delivered(later.job_id)
    assert ledger.get(later.job_id) == later.model_copy(update={"delivered": True})


async def test_the_latest_job_is_the_newest_of_its_backend(tmp_path: Path) -> None:
    ledger = RenderLedger(Store(tmp_path))
    for number in (2, 3, 1):
        await ledger.save(job(number, "completed"))
    await ledger.save(job(4, "completed").model_copy(update={"backend": "local"}))
    latest = ledger.latest("cloud")
    assert latest is not None and latest.job_id == "render_3"
