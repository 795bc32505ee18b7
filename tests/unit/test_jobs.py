"""Work outlives the tool call: budgets, repeated wishes, crashed owners, renders tied to their timeline."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.draft import draft_fingerprint
from nemo_video_mcp.edit_jobs import EditLedger, wish_of
from nemo_video_mcp.errors import EditLostError, InputError, JobFailedError
from nemo_video_mcp.lease import Lease
from nemo_video_mcp.models import EditEvent, EditOptions, RenderStatus, TextEvent
from nemo_video_mcp.results import GenerateResult
from nemo_video_mcp.service import VideoService
from nemo_video_mcp.store import Store
from tests.unit.test_service import VIDEO, WITH_TITLE, ScriptedBackend, done, running, service_for

BUDGET_S = 1.6  # a call may wait BUDGET_S - 1 s (the answer margin) for its job


class SlowEdit(ScriptedBackend):
    """An edit that answers when the test releases it (or after `seconds`)."""

    def __init__(self, seconds: float = 30.0) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.seconds = seconds

    async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        self.edits_sent.append(instruction)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.release.wait(), self.seconds)
        self.states = [WITH_TITLE]
        yield TextEvent(text=f"Done: {instruction}")


@pytest.fixture
def slow() -> SlowEdit:
    return SlowEdit()


def slow_service(settings: Settings, slow: SlowEdit) -> VideoService:
    """A service for a `SlowEdit`, with stream limits no pause of a test reaches: at the unit tests' wait
    scale (0.001) an edit stream is cut after 0.6 s without a reply, which a loaded machine can pass
    between a call's answer (0.6 s) and the test's release; at 0.01 the limits are 6 s and 9 s."""
    return service_for(settings.model_copy(update={"wait_scale": 0.01}), slow)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


async def generate(service: VideoService, instruction: str, budget_s: float = BUDGET_S) -> GenerateResult:
    with call_budget(budget_s):
        return await service.generate_video(instruction)


async def test_an_edit_longer_than_the_budget_answers_in_time_with_its_job(settings: Settings, slow: SlowEdit) -> None:
    service = slow_service(settings, slow)
    started = time.monotonic()
    first = await generate(service, "add a title")
    assert time.monotonic() - started < BUDGET_S
    assert first.status == "running" and first.job_id.startswith("edit_")
    assert "get_job" in first.message and [a.tool for a in first.next_actions] == ["get_job"]
    slow.release.set()
    with call_budget(BUDGET_S):
        followed = await service.get_job(first.job_id)
    assert followed.status == "completed" and followed.kind == "edit" and followed.reply == "Done: add a title"
    assert slow.edits_sent == ["add a title"]


async def test_an_edit_inside_the_budget_answers_whole_in_one_call(settings: Settings, slow: SlowEdit) -> None:
    slow.seconds = 0.05
    result = await generate(slow_service(settings, slow), "add a title")
    assert result.status == "completed" and result.reply == "Done: add a title" and not result.already_sent


async def test_the_same_wish_while_it_runs_follows_it_and_sends_nothing(settings: Settings, slow: SlowEdit) -> None:
    service = slow_service(settings, slow)
    first = await generate(service, "Add a title")
    slow.release.set()
    again = await generate(service, "  add   a TITLE ")  # whitespace and case do not make a new wish
    assert again.job_id == first.job_id and again.already_sent and again.status == "completed"
    assert "nothing was sent again" in again.message and again.reply == "Done: Add a title"
    assert slow.edits_sent == ["Add a title"]


async def test_an_outcome_the_agent_never_read_is_delivered_by_the_repeated_call(
    settings: Settings, slow: SlowEdit
) -> None:
    service = slow_service(settings, slow)
    call = asyncio.ensure_future(generate(service, "add a title", budget_s=60))
    await asyncio.sleep(0.05)
    call.cancel()  # the host gave up (notifications/cancelled): the wait ends, the edit goes on
    with pytest.raises(asyncio.CancelledError):
        await call
    slow.release.set()
    await asyncio.sleep(0.05)
    (job,) = EditLedger(Store(settings.cache_dir)).all()
    assert job.phase == "completed" and not job.delivered
    again = await generate(service, "add a title")
    assert again.already_sent and again.reply == "Done: add a title" and slow.edits_sent == ["add a title"]
    third = await generate(service, "add a title")  # read once: asking again now is a new wish
    assert not third.already_sent and slow.edits_sent == ["add a title", "add a title"]


async def test_another_wish_while_an_edit_runs_is_refused_with_get_job(settings: Settings, slow: SlowEdit) -> None:
    service = slow_service(settings, slow)
    first = await generate(service, "add a title")
    with pytest.raises(InputError) as caught:
        await generate(service, "add music")
    assert first.job_id in caught.value.message and "get_job" in caught.value.next_step
    assert slow.edits_sent == ["add a title"]


async def _orphan(settings: Settings, instruction: str, *, phase: str, owner: Lease, before: dict | None) -> str:
    """An edit recorded by a server process that is `owner`, left as it was at `phase`."""
    ledger = EditLedger(Store(settings.cache_dir))
    job, _, _ = await ledger.claim("cloud", "s1", instruction, wish_of(instruction, EditOptions()))
    fingerprint = draft_fingerprint(before) if before is not None else None
    await ledger.update(job, phase=phase, owner=owner, before_fingerprint=fingerprint)
    return job.job_id


@pytest.fixture
def dead_owner() -> Lease:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return Lease(pid=child.pid, started="1")


@pytest.fixture
def live_owner() -> Iterator[Lease]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    from nemo_video_mcp.lease import _start_time

    for _ in range(100):
        if _start_time(child.pid):
            break
        time.sleep(0.01)
    yield Lease(pid=child.pid, started=_start_time(child.pid))
    child.kill()
    child.wait()


async def test_an_edit_in_flight_when_its_server_died_is_checked_not_resent(
    settings: Settings, backend: ScriptedBackend, dead_owner: Lease
) -> None:
    job_id = await _orphan(settings, "add a title", phase="sent", owner=dead_owner, before=VIDEO)
    backend.states = [WITH_TITLE]  # it landed
    result = await generate(service_for(settings, backend), "add a title", budget_s=30)
    assert backend.edits_sent == [] and result.job_id == job_id and result.already_sent
    assert "landed" in result.message and result.timeline and "Title" in result.timeline


async def test_an_edit_in_flight_that_never_landed_is_reported_after_the_checks(
    settings: Settings, backend: ScriptedBackend, dead_owner: Lease
) -> None:
    await _orphan(settings, "add a title", phase="sent", owner=dead_owner, before=VIDEO)
    backend.edit_recovery_delays_s = (0.0, 0.0, 0.0)
    with pytest.raises(JobFailedError) as caught:
        await generate(service_for(settings, backend), "add a title", budget_s=30)
    assert caught.value.code == EditLostError.code and "3 checks" in caught.value.message
    assert backend.edits_sent == [] and backend.state_reads == 3


async def test_an_edit_recorded_but_never_sent_says_so(
    settings: Settings, backend: ScriptedBackend, dead_owner: Lease
) -> None:
    await _orphan(settings, "add a title", phase="preparing", owner=dead_owner, before=None)
    with pytest.raises(JobFailedError) as caught:
        await generate(service_for(settings, backend), "add a title", budget_s=30)
    assert "nothing was sent" in caught.value.message and backend.edits_sent == []
    resent = await generate(service_for(settings, backend), "add a title", budget_s=30)  # now it may be sent
    assert backend.edits_sent == ["add a title"] and not resent.already_sent


async def test_a_live_server_s_running_edit_is_not_taken_for_dead(
    settings: Settings, backend: ScriptedBackend, live_owner: Lease
) -> None:
    job_id = await _orphan(settings, "add a title", phase="sent", owner=live_owner, before=VIDEO)
    result = await generate(service_for(settings, backend), "add a title")
    assert result.status == "running" and result.job_id == job_id
    assert backend.edits_sent == [] and backend.state_reads == 0  # no recovery: its owner is alive
    job = EditLedger(Store(settings.cache_dir)).get(job_id)
    assert job is not None and job.owner == live_owner


class RendersByJob(ScriptedBackend):
    """Each render answers from its own script (the first render's follower keeps polling meanwhile)."""

    poll_interval = 0.02

    def __init__(self) -> None:
        super().__init__()
        self.finished: dict[str, RenderStatus] = {}

    async def poll_render(self, job_id: str) -> RenderStatus:
        return self.finished.get(job_id) or running(50).model_copy(update={"job_id": job_id})


async def test_export_after_an_edit_renders_the_new_timeline(settings: Settings) -> None:
    backend = RendersByJob()
    service = service_for(settings, backend)
    old = await service.export_video(wait=False)
    backend.states = [WITH_TITLE]  # an edit landed meanwhile
    with call_budget(BUDGET_S):
        new = await service.export_video(wait=False)
    assert new.job_id != old.job_id and backend.renders_started == [old.job_id, new.job_id]
    backend.finished[new.job_id] = done("https://cdn/new.mp4")
    backend.finished[old.job_id] = done("https://cdn/old.mp4")
    with call_budget(BUDGET_S):
        assert (await service.export_video()).url == "https://cdn/new.mp4"
        earlier = await service.get_job(old.job_id)
    assert earlier.kind == "render" and earlier.earlier_version is True and "earlier version" in earlier.message
    assert earlier.url == "https://cdn/old.mp4" and len(backend.renders_started) == 2


async def test_a_render_longer_than_the_budget_goes_on_and_get_job_returns_it(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.poll_interval = 0.05
    backend.render_polls = [running(10)] * 30 + [done()]
    service = service_for(settings, backend)
    started = time.monotonic()
    with call_budget(BUDGET_S):
        first = await service.export_video()
    assert time.monotonic() - started < BUDGET_S and first.status == "processing" and "get_job" in first.message
    with call_budget(5):
        followed = await service.get_job()
    assert followed.job_id == first.job_id and followed.status == "completed" and followed.url == "https://cdn/v.mp4"
    assert followed.earlier_version is False and backend.renders_started == [first.job_id]


async def test_get_job_without_any_job_says_what_to_call(settings: Settings, backend: ScriptedBackend) -> None:
    with pytest.raises(InputError) as caught:
        await service_for(settings, backend).get_job()
    assert "generate_video" in caught.value.next_step
    with pytest.raises(InputError):
        await service_for(settings, backend).get_job("edit_nope")


def test_the_wish_ignores_spacing_and_case_but_not_options() -> None:
    assert wish_of("Add a  title", EditOptions()) == wish_of(" add a title ", EditOptions())
    assert wish_of("add a title", EditOptions()) != wish_of("add a title", EditOptions(duration_s=10))
    assert wish_of("add a title", EditOptions()) != wish_of("add music", EditOptions())


async def test_a_render_is_not_ready_while_its_private_file_is_still_being_fetched(settings: Settings) -> None:
    fetched = asyncio.Event()

    class SlowDownload(ScriptedBackend):
        async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
            await fetched.wait()
            return await super().download_render(job_id, url, target)

    backend = SlowDownload()
    backend.render_polls = [done("https://api.private/api/render/proxy/x/download")]
    service = service_for(settings, backend)
    with call_budget(BUDGET_S):
        first = await service.export_video()
    assert first.status == "processing" and first.file_path is None and "get_job" in first.message
    with call_budget(BUDGET_S):
        still = await service.get_job(first.job_id)
    assert still.status == "running" and still.file_path is None
    fetched.set()
    with call_budget(BUDGET_S):
        ready = await service.get_job(first.job_id)
    assert ready.status == "completed" and ready.file_path and Path(ready.file_path).is_file()
