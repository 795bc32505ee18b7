"""Service rules that no single backend call shows: resuming renders, never re-sending edits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nemo_video_mcp.backends.base import RenderIdTakenError, RenderNotFoundError, StreamCutError
from nemo_video_mcp.backends.cloud import CloudBackend
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import (
    BackendUnavailableError,
    BadResponseError,
    EditLostError,
    EditUncertainError,
    ExportBlockedError,
    InputError,
    JobFailedError,
    NoCreditsError,
    NothingToExportError,
    RenderFailedError,
)
from nemo_video_mcp.models import (
    Credits,
    EditEvent,
    EditOptions,
    HeartbeatEvent,
    MediaFile,
    ProjectState,
    QuestionEvent,
    RenderStatus,
    StepEvent,
    StreamErrorEvent,
    TextEvent,
    UploadedFile,
)
from nemo_video_mcp.render_jobs import RenderLedger
from nemo_video_mcp.results import ExportResult
from nemo_video_mcp.service import VideoService
from nemo_video_mcp.store import Store
from tests.sim.videos import named_mp4

VIDEO = {"t": [{"tt": 0, "sg": [{"d": 5000, "m": {"name": "beach"}}]}], "d": 5000}
WITH_TITLE = {"t": [*VIDEO["t"], {"tt": 7, "sg": [{"d": 2000, "m": {"text": "Hi"}}]}], "d": 5000}


def video_of(job_id: str) -> bytes:
    """What a scripted backend downloads for a render: a real 5 s MP4 (the drafts here last 5 s) naming it."""
    return named_mp4(5000, f"video bytes of {job_id}")


class ScriptedBackend:
    """A Backend whose behaviour each test scripts: state by read, events by edit, renders by poll."""

    name = "cloud"
    poll_interval = 0.0
    max_render_wait = 5.0
    edit_recovery_delays_s = CloudBackend.edit_recovery_delays_s

    def __init__(self) -> None:
        self.states: list[dict[str, Any]] = [VIDEO]
        self.edit_script: list[EditEvent | Exception] = []
        self.edits_sent: list[str] = []
        self.render_polls: list[RenderStatus | Exception] = []
        self.renders_started: list[str] = []
        self.state_reads = 0
        self.downloads: list[str] = []

    async def session_id(self) -> str:
        return "s1"

    async def upload(self, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        return []

    async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        self.edits_sent.append(instruction)
        for item in self.edit_script:
            if isinstance(item, Exception):
                raise item
            yield item

    async def get_state(self) -> ProjectState:
        draft = self.states[min(self.state_reads, len(self.states) - 1)]
        self.state_reads += 1
        return ProjectState(session_id="s1", draft=draft)

    async def get_credits(self) -> Credits:
        return Credits(available=1, frozen=0, total=1, anonymous=True)

    def uploads(self) -> list[UploadedFile]:
        return []

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        self.renders_started.append(job_id)
        return RenderStatus(job_id=job_id, status="pending", progress=5)

    async def poll_render(self, job_id: str) -> RenderStatus:
        item = self.render_polls.pop(0)
        if isinstance(item, Exception):
            raise item
        return item.model_copy(update={"job_id": job_id})

    async def cancel_render(self, job_id: str) -> None:
        return None

    def url_needs_auth(self, url: str) -> bool:
        return url.startswith("https://api.private/")

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        self.downloads.append(job_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(video_of(job_id))
        return target

    async def aclose(self) -> None:
        return None


def done(url: str = "https://cdn/v.mp4") -> RenderStatus:
    return RenderStatus(job_id="?", status="completed", progress=100, url=url)


def running(progress: int) -> RenderStatus:
    return RenderStatus(job_id="?", status="processing", progress=progress)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


def service_for(settings: Settings, backend: ScriptedBackend) -> VideoService:
    return VideoService(settings, backend, Store(settings.cache_dir))  # type: ignore[arg-type]


async def test_export_without_wait_then_a_restart_resumes_the_same_job(
    settings: Settings, backend: ScriptedBackend
) -> None:
    first = await service_for(settings, backend).export_video(wait=False)
    assert first.status == "pending" and "call get_job" in first.message
    backend.render_polls = [running(50), done()]
    resumed = await service_for(settings, backend).export_video()  # a new process, same cache
    assert resumed.resumed and resumed.url == "https://cdn/v.mp4"
    assert backend.renders_started == [first.job_id]


async def test_job_is_written_to_the_cache_before_the_first_poll(settings: Settings, backend: ScriptedBackend) -> None:
    service = service_for(settings, backend)
    seen_in_cache: list[bool] = []
    original = backend.poll_render

    async def poll(job_id: str) -> RenderStatus:
        jobs = (Store(settings.cache_dir).read("renders") or {}).get("jobs", {})
        seen_in_cache.append(job_id in jobs)
        return await original(job_id)

    backend.poll_render = poll  # type: ignore[method-assign]
    backend.render_polls = [done()]
    await service.export_video()
    assert seen_in_cache == [True]


async def test_exporting_an_unchanged_timeline_again_reuses_the_video(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [done()]
    service = service_for(settings, backend)
    await service.export_video()
    again = await service.export_video()
    assert again.url == "https://cdn/v.mp4" and "no new render" in again.message
    assert len(backend.renders_started) == 1
    backend.states = [WITH_TITLE]
    backend.render_polls = [done("https://cdn/v2.mp4")]
    changed = await service.export_video()
    assert changed.url == "https://cdn/v2.mp4" and len(backend.renders_started) == 2


async def test_a_job_the_backend_never_saw_is_started_under_the_same_id(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [RenderNotFoundError("x"), done()]
    result = await service_for(settings, backend).export_video()
    assert result.status == "completed"
    assert backend.renders_started == [result.job_id, result.job_id]


async def test_failed_render_says_how_to_retry(settings: Settings, backend: ScriptedBackend) -> None:
    backend.render_polls = [RenderStatus(job_id="?", status="failed", error="codec exploded")]
    with pytest.raises(RenderFailedError) as caught:
        await service_for(settings, backend).export_video()
    assert "codec exploded" in caught.value.agent_message and "export_video again" in caught.value.agent_message


async def test_empty_timeline_cannot_be_exported(settings: Settings, backend: ScriptedBackend) -> None:
    backend.states = [{"t": [{"tt": 0, "sg": []}]}]
    with pytest.raises(NothingToExportError):
        await service_for(settings, backend).export_video()
    assert backend.renders_started == []


async def test_cut_stream_is_not_resent_and_the_landed_edit_is_reported(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.states = [VIDEO, VIDEO, WITH_TITLE]  # before, first check unchanged, second check changed
    backend.edit_script = [HeartbeatEvent(), StreamCutError("peer closed")]
    result = await service_for(settings, backend).generate_video("add a title")
    assert backend.edits_sent == ["add a title"]
    assert result.recovered_after_cut and "not re-sent" in result.message
    assert result.changes and "Title" in result.changes
    assert result.timeline and result.timeline.startswith("Timeline (2 tracks)")


async def test_cut_stream_with_no_change_after_five_checks_is_reported_lost(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.edit_script = [StreamCutError("peer closed")]
    with pytest.raises(JobFailedError) as caught:
        await service_for(settings, backend).generate_video("add a title")
    assert caught.value.code == EditLostError.code
    assert backend.edits_sent == ["add a title"]
    assert backend.state_reads == 1 + 5
    assert "not re-sent" in caught.value.agent_message


async def test_heartbeats_only_until_the_idle_limit_count_as_a_cut(
    settings: Settings, backend: ScriptedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nemo_video_mcp.edit_job as edit_job

    monkeypatch.setattr(edit_job, "STREAM_IDLE_LIMIT_S", 0.5)  # past the 0.2 s progress throttle
    monkeypatch.setattr(edit_job, "HEARTBEAT_REPORT_S", 0.01)
    settings = settings.model_copy(update={"wait_scale": 1.0})

    class Endless(ScriptedBackend):
        async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
            self.edits_sent.append(instruction)
            while True:
                await asyncio.sleep(0.005)
                yield HeartbeatEvent()

    endless = Endless()
    endless.edit_recovery_delays_s = (0.0, 0.0)
    endless.states = [VIDEO, WITH_TITLE]
    progress: list[str] = []

    class Collect:
        async def progress(self, done: float, total: float | None, message: str) -> None:
            progress.append(message)

        async def log(self, level: str, message: str) -> None:
            return None

    result = await service_for(settings, endless).generate_video("x", reporter=Collect())
    assert result.recovered_after_cut
    assert any("still working" in m for m in progress)


async def test_text_reply_is_translated_and_no_state_diff_needed(settings: Settings, backend: ScriptedBackend) -> None:
    backend.edit_script = [TextEvent(text="All set! Click the Export button to get your video.")]
    result = await service_for(settings, backend).generate_video("make it")
    assert [a.tool for a in result.next_actions] == ["export_video"]
    assert "button" not in result.reply.lower()
    assert result.changes is None


async def test_stream_error_with_no_change_is_a_clear_failure(settings: Settings, backend: ScriptedBackend) -> None:
    backend.edit_script = [StreamErrorEvent(message="model overloaded")]
    with pytest.raises(JobFailedError, match="model overloaded") as caught:
        await service_for(settings, backend).generate_video("make it")
    assert "did not change" in caught.value.message
    assert caught.value.next_step.startswith("Call get_credits to check the balance, then call generate_video again")


async def test_a_question_from_the_editor_is_surfaced_with_the_next_step(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.edit_script = [
        QuestionEvent(question="Which photo should come first?"),
        TextEvent(text="Before I go on, one question."),
    ]
    result = await service_for(settings, backend).generate_video("make it")
    assert result.question == "Which photo should come first?"
    assert "Which photo should come first?" in result.message
    assert "ask the user, then call generate_video" in result.message


async def test_the_editor_s_offered_answers_come_with_its_question(
    settings: Settings, backend: ScriptedBackend
) -> None:
    # how the offered answers are read off the wire (labels, duplicates, blanks) is test_wire's
    backend.edit_script = [QuestionEvent(question="Which first?", choices=["beach", "city", "forest"])]
    result = await service_for(settings, backend).generate_video("make it")
    assert result.choices == ["beach", "city", "forest"]
    assert "Choices: beach; city; forest" in result.message


async def test_a_link_that_needs_the_token_is_downloaded_for_the_user(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [done("https://api.private/api/render/proxy/x/download")]
    service = service_for(settings, backend)
    result = await service.export_video()
    assert result.file_path == str(settings.output_dir / f"{result.job_id}.mp4")
    assert Path(result.file_path).read_bytes() == video_of(result.job_id)
    assert "downloaded to this machine" in result.message and result.file_path in result.message
    again = await service.export_video()
    assert again.file_path == result.file_path and backend.downloads == [result.job_id]


class DownloadCut(ScriptedBackend):
    """The first two downloads of a finished file break off (the first as when the server dies in the middle)."""

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        if len(self.downloads) < 2:
            self.downloads.append(job_id)
            raise BackendUnavailableError("the connection was reset")
        return await super().download_render(job_id, url, target)


@pytest.mark.parametrize("url", ["https://api.private/api/render/proxy/x/download", "https://cdn.example/v.mp4"])
@pytest.mark.parametrize("next_call", ["export_video", "get_job"])
async def test_a_finished_render_whose_file_never_arrived_is_fetched_not_rendered_again(
    settings: Settings, next_call: str, url: str
) -> None:
    backend = DownloadCut()
    backend.render_polls = [done(url)]
    with pytest.raises(BackendUnavailableError):
        await service_for(settings, backend).export_video()
    restarted = service_for(settings, backend)  # the ledger says 'completed'; the file is not here
    state = await restarted.get_job()  # fetches again, and that breaks off too
    assert state.status != "completed" and not state.file_path, "never 'ready' without a file checked here"
    assert state.error and "Next step" in state.error and state.probe is None and not state.keyframes
    assert (await restarted.latest_video()).job_id is None, "nor is it the latest video"
    result = await (restarted.export_video() if next_call == "export_video" else restarted.get_job())
    assert result.status == "completed" and result.file_path and result.probe is not None
    assert Path(result.file_path).read_bytes() == video_of(result.job_id)
    assert backend.renders_started == [result.job_id], "fetched, never started (or charged) again"


async def test_a_public_link_is_returned_as_is_beside_the_copy_checked_here(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [done("https://cdn.example/v.mp4")]
    result = await service_for(settings, backend).export_video()
    assert result.url == "https://cdn.example/v.mp4" and result.url in result.message
    assert result.file_path == str(settings.output_dir / f"{result.job_id}.mp4") and result.file_path in result.message
    assert "downloaded to this machine" not in result.message, "the open link needs no token"
    assert backend.downloads == [result.job_id]


class FailingReads(ScriptedBackend):
    """State reads fail on the listed read numbers (0-based)."""

    def __init__(self, failing: set[int]) -> None:
        super().__init__()
        self.failing = failing

    async def get_state(self) -> ProjectState:
        number = self.state_reads
        if number in self.failing:
            self.state_reads += 1
            raise BackendUnavailableError("HTTP 503")
        return await super().get_state()


async def test_a_second_edit_while_one_runs_is_refused_not_queued(settings: Settings, backend: ScriptedBackend) -> None:
    release = asyncio.Event()

    class Slow(ScriptedBackend):
        async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
            self.edits_sent.append(instruction)
            await release.wait()
            yield TextEvent(text="done")

    slow = Slow()
    service = service_for(settings, slow)
    first = asyncio.ensure_future(service.generate_video("one"))
    await asyncio.sleep(0.01)
    with pytest.raises(InputError, match="still running"):
        await service.generate_video("two")
    release.set()
    assert (await first).reply == "done" and slow.edits_sent == ["one"]


async def test_a_cut_with_an_unknown_starting_state_claims_nothing(settings: Settings) -> None:
    backend = FailingReads({0, 1})
    backend.edit_script = [StreamCutError("peer closed")]
    with pytest.raises(JobFailedError) as caught:
        await service_for(settings, backend).generate_video("add a title")
    assert caught.value.code == EditUncertainError.code
    assert "call get_state" in caught.value.next_step.lower() and backend.edits_sent == ["add a title"]


async def test_a_finished_edit_whose_result_cannot_be_read_is_still_a_success(settings: Settings) -> None:
    backend = FailingReads({1, 2, 3})
    backend.edit_script = [StepEvent(label="editing the timeline")]
    result = await service_for(settings, backend).generate_video("add a title")
    assert result.timeline is None and "call get_state" in result.message
    assert backend.edits_sent == ["add a title"]


async def test_a_credits_error_inside_the_stream_names_the_registration_link(
    settings: Settings, backend: ScriptedBackend
) -> None:
    class Anonymous(ScriptedBackend):
        async def get_credits(self) -> Credits:
            return Credits(available=0, frozen=0, total=0, anonymous=True, register_url="https://web.test?bind=anon_1")

    anonymous = Anonymous()
    anonymous.edit_script = [StreamErrorEvent(message="Insufficient credits for this operation", reason="no_credits")]
    with pytest.raises(JobFailedError) as caught:
        await service_for(settings, anonymous).generate_video("make it")
    assert caught.value.code == NoCreditsError.code
    assert "https://web.test?bind=anon_1" in caught.value.agent_message


async def test_an_id_taken_by_someone_else_gets_a_new_id_recorded_before_its_start(
    settings: Settings, backend: ScriptedBackend
) -> None:
    taken: list[str] = []
    original = backend.start_render

    async def start_render(job_id: str, draft: dict[str, Any]) -> RenderStatus:
        jobs = (Store(settings.cache_dir).read("renders") or {}).get("jobs", {})
        assert job_id in jobs, "the id reaches the cache before the start request"
        if not taken:
            taken.append(job_id)
            raise RenderIdTakenError(job_id)
        return await original(job_id, draft)

    backend.start_render = start_render  # type: ignore[method-assign]
    backend.render_polls = [done()]
    result = await service_for(settings, backend).export_video()
    assert result.job_id != taken[0] and result.status == "completed"
    assert taken[0] not in (Store(settings.cache_dir).read("renders") or {})["jobs"]


async def test_a_resumed_job_is_read_once_even_without_waiting(settings: Settings, backend: ScriptedBackend) -> None:
    first = await service_for(settings, backend).export_video(wait=False)
    backend.render_polls = [running(60)]
    again = await service_for(settings, backend).export_video(wait=False)
    assert again.job_id == first.job_id and again.resumed and again.progress == 60


def test_two_processes_sharing_a_cache_start_one_render(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two servers (here two threads, each with its own event loop, service and backend) export at once.

    In one event loop the claim cannot interleave (nothing suspends between the look and the write),
    so the race needs two loops. Both read the timeline at the same moment and the cache is slow (each
    renders.json write takes 0.3 s): without the lock, or without the check under it, both find no job
    and each starts a render.
    """
    started: list[str] = []
    at_once = threading.Barrier(2, timeout=10)
    fast_write = Store.write

    def slow_write(self: Store, name: str, data: dict[str, Any]) -> None:
        if name == "renders":
            time.sleep(0.3)
        fast_write(self, name, data)

    monkeypatch.setattr(Store, "write", slow_write)

    class Racer(ScriptedBackend):
        async def get_state(self) -> ProjectState:
            if self.state_reads == 0:
                at_once.wait()
            return await super().get_state()

        async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
            started.append(job_id)
            return await super().start_render(job_id, draft)

    def export() -> ExportResult:
        racer = Racer()
        racer.render_polls = [running(10), running(20)]
        service = service_for(settings, racer)

        async def run() -> ExportResult:
            try:
                return await service.export_video(wait=False)
            finally:
                await service.aclose()

        return asyncio.run(run())

    with ThreadPoolExecutor(2) as pool:
        first, second = (future.result(timeout=30) for future in [pool.submit(export), pool.submit(export)])
    assert len(started) == 1, started
    assert first.job_id == second.job_id == started[0] and first.resumed != second.resumed


async def test_export_progress_only_ever_rises(settings: Settings, backend: ScriptedBackend) -> None:
    values: list[float] = []

    class Collect:
        async def progress(self, done: float, total: float | None, message: str) -> None:
            values.append(done)

        async def log(self, level: str, message: str) -> None:
            return None

    backend.render_polls = [running(5), running(5), running(30), running(30), done()]
    await service_for(settings, backend).export_video(reporter=Collect())
    assert values == sorted(set(values)) and values[-1] == 100


async def test_get_state_hands_over_a_huge_draft_cut_to_its_cap(settings: Settings, backend: ScriptedBackend) -> None:
    segments = [{"id": f"s{i}", "d": 100, "m": {"name": f"photo {i}"}, "fx": {"k": "v" * 40}} for i in range(100_000)]
    backend.states = [{"t": [{"tt": 0, "sg": segments}], "d": 10_000_000}]
    result = await service_for(settings, backend).get_state()
    assert result.draft_trimmed and "segments left out" in result.message
    assert len(result.model_dump_json()) < 300 * 1024
    assert result.summary.startswith("Timeline (1 track)")


async def test_get_state_reads_the_balance_while_it_reads_the_state(
    settings: Settings, backend: ScriptedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    balance_asked = asyncio.Event()
    read_state, read_credits = backend.get_state, backend.get_credits

    async def state_once_the_balance_is_asked() -> ProjectState:
        await balance_asked.wait()
        return await read_state()

    async def credits() -> Credits:
        balance_asked.set()
        return await read_credits()

    monkeypatch.setattr(backend, "get_state", state_once_the_balance_is_asked)
    monkeypatch.setattr(backend, "get_credits", credits)
    result = await asyncio.wait_for(service_for(settings, backend).get_state(), 5)  # one after the other: never
    assert result.summary.startswith("Timeline") and "of your 1:" in result.next_cost


async def test_a_failed_state_read_leaves_no_balance_read_behind(
    settings: Settings, backend: ScriptedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked, stopped = asyncio.Event(), asyncio.Event()

    async def slow_credits() -> Credits:
        asked.set()
        try:
            await asyncio.sleep(30)
        finally:
            stopped.set()
        raise AssertionError("not reached")

    async def failed_state() -> ProjectState:
        await asked.wait()
        raise UNREACHABLE

    monkeypatch.setattr(backend, "get_state", failed_state)
    monkeypatch.setattr(backend, "get_credits", slow_credits)
    with pytest.raises(BackendUnavailableError):
        await asyncio.wait_for(service_for(settings, backend).get_state(), 5)
    assert stopped.is_set()


async def test_a_huge_reply_reaches_the_agent_cut_with_a_note(settings: Settings, backend: ScriptedBackend) -> None:
    backend.edit_script = [TextEvent(text="Click Export. " + "x" * 5_000_000)]
    result = await service_for(settings, backend).generate_video("make it")
    assert len(result.reply) < 40_000 and result.reply.endswith("characters cut)")
    assert len(result.message) < 40_000 and result.reply.startswith("Call export_video")


def test_a_stream_of_many_small_texts_is_kept_to_its_cap_in_linear_time() -> None:
    from nemo_video_mcp.edit_job import MAX_REPLY_CHARS, _Turn

    turn = _Turn()
    started = time.monotonic()
    for _ in range(60_000):  # 600,000 characters in 10-character deltas, as a long stream sends them
        turn.add_text("0123456789", partial=True)
    turn.add_text("Done.", partial=False)
    assert time.monotonic() - started < 2, "each delta must not re-count the text kept so far"
    assert sum(map(len, turn.partials)) == MAX_REPLY_CHARS and turn.partials_cut == 600_000 - MAX_REPLY_CHARS
    assert turn.reply == "Done." and turn.texts_cut == 0


# --- Resume, never re-pay: a render whose start or polls get no usable answer ---------------------

UNREACHABLE = BackendUnavailableError("connection reset by peer")


async def test_a_few_unreachable_polls_in_a_row_are_polled_past(settings: Settings, backend: ScriptedBackend) -> None:
    backend.render_polls = [running(30), *[UNREACHABLE] * 4, running(60), *[UNREACHABLE] * 4, done()]
    result = await service_for(settings, backend).export_video()
    assert result.status == "completed" and result.url == "https://cdn/v.mp4"
    assert backend.render_polls == [] and len(backend.renders_started) == 1


async def test_five_unreachable_polls_stop_following_and_the_kept_job_is_resumed(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [running(30), *[UNREACHABLE] * 5]
    service = service_for(settings, backend)
    with pytest.raises(BackendUnavailableError) as caught:
        await service.export_video()
    assert "the job is kept and a later export_video or get_job call resumes it" in caught.value.message
    assert caught.value.next_step.startswith("Check the network (NEMO_API_BASE) and call the tool again")
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert (job.status, job.progress) == ("processing", 30)

    backend.render_polls = [running(80), done()]
    again = await service.export_video()
    assert again.resumed and again.job_id == job.job_id and again.status == "completed"
    assert backend.renders_started == [job.job_id]


@pytest.mark.parametrize(
    "lost", [BackendUnavailableError("read timed out"), BadResponseError("the reply was cut short")], ids=repr
)
async def test_a_start_whose_answer_was_lost_is_resumed_not_paid_again(
    settings: Settings, backend: ScriptedBackend, lost: Exception
) -> None:
    landed = backend.start_render

    async def start_render(job_id: str, draft: dict[str, Any]) -> RenderStatus:
        await landed(job_id, draft)  # the backend took it; only its answer was lost
        raise lost

    backend.start_render = start_render  # type: ignore[method-assign]
    service = service_for(settings, backend)
    with pytest.raises(type(lost)):
        await service.export_video()
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert job.status == "starting"

    backend.render_polls = [done()]
    again = await service_for(settings, backend).export_video()  # a later call, even after a restart
    assert again.resumed and again.job_id == job.job_id and again.status == "completed"
    assert backend.renders_started == [job.job_id]


async def test_a_start_refused_outright_is_forgotten_and_the_next_export_starts_afresh(
    settings: Settings, backend: ScriptedBackend
) -> None:
    refused: list[str] = []
    accept = backend.start_render

    async def start_render(job_id: str, draft: dict[str, Any]) -> RenderStatus:
        if not refused:
            refused.append(job_id)
            raise ExportBlockedError("https://web.test")
        return await accept(job_id, draft)

    backend.start_render = start_render  # type: ignore[method-assign]
    service = service_for(settings, backend)
    with pytest.raises(ExportBlockedError):
        await service.export_video()
    assert RenderLedger(Store(settings.cache_dir)).all() == []

    backend.render_polls = [done()]
    again = await service.export_video()
    assert not again.resumed and again.status == "completed" and again.job_id != refused[0]


async def test_a_render_done_without_a_link_or_cancelled_is_not_the_video_of_this_timeline(
    settings: Settings, backend: ScriptedBackend
) -> None:
    service = service_for(settings, backend)
    backend.render_polls = [RenderStatus(job_id="?", status="completed", progress=100)]  # no URL yet
    await service.export_video()
    backend.render_polls = [RenderStatus(job_id="?", status="cancelled", progress=40, url="https://cdn/part.mp4")]
    with pytest.raises(RenderFailedError, match="cancelled"):
        await service.export_video()
    backend.render_polls = [done("https://cdn/whole.mp4")]
    third = await service.export_video()
    assert third.url == "https://cdn/whole.mp4" and len(backend.renders_started) == 3


async def test_a_link_seen_in_an_earlier_reading_is_kept(settings: Settings, backend: ScriptedBackend) -> None:
    early = RenderStatus(job_id="?", status="processing", progress=90, url="https://cdn/early.mp4")
    backend.render_polls = [early, RenderStatus(job_id="?", status="completed", progress=100)]
    result = await service_for(settings, backend).export_video()
    assert result.status == "completed" and result.url == "https://cdn/early.mp4"


async def test_a_job_the_backend_loses_twice_fails_after_one_restart(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [RenderNotFoundError("x"), RenderNotFoundError("x"), done()]
    with pytest.raises(RenderFailedError, match="lost the job twice") as caught:
        await service_for(settings, backend).export_video()
    assert backend.renders_started == [caught.value.message.split()[1]] * 2


async def test_a_lost_job_is_not_restarted_on_a_timeline_changed_since(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.states = [VIDEO, WITH_TITLE]  # read when claiming, then when the backend has lost the job
    backend.render_polls = [RenderNotFoundError("x"), done()]
    with pytest.raises(RenderFailedError, match="the timeline changed since"):
        await service_for(settings, backend).export_video()
    assert len(backend.renders_started) == 1
