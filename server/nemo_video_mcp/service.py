"""What each tool does, in domain words. Knows a Backend, the cache and the translator; not MCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nemo_video_mcp import notices
from nemo_video_mcp.backends.base import Backend, RenderIdTakenError, RenderNotFoundError, StreamCutError
from nemo_video_mcp.config import Settings
from nemo_video_mcp.draft import (
    describe_changes,
    draft_fingerprint,
    is_exportable,
    summarize_tracks,
    timeline_duration_s,
    timeline_summary,
)
from nemo_video_mcp.errors import (
    BackendError,
    BackendRequestError,
    BackendUnavailableError,
    BadResponseError,
    EditLostError,
    EditUncertainError,
    InputError,
    NoCreditsError,
    NothingToExportError,
    RenderFailedError,
)
from nemo_video_mcp.gui import translate_reply
from nemo_video_mcp.media import check_media_file, is_remote_url
from nemo_video_mcp.models import (
    EditEvent,
    EditOptions,
    HeartbeatEvent,
    MediaFile,
    ProgressEvent,
    ProjectState,
    RenderJob,
    RenderStatus,
    StreamErrorEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from nemo_video_mcp.progress import Reporter, RisingProgress, SilentReporter, Ticker
from nemo_video_mcp.render_jobs import RenderLedger, new_job_id
from nemo_video_mcp.results import (
    CreditsResult,
    ExportResult,
    GenerateResult,
    StateResult,
    ToolResult,
    UploadResult,
)
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)
R = TypeVar("R", bound=ToolResult)

HEARTBEAT_REPORT_S = 30.0
STREAM_IDLE_LIMIT_S = 600.0
STREAM_TOTAL_LIMIT_S = 900.0
RECOVERY_DELAYS_S = (30.0, 60.0, 60.0, 60.0, 60.0)
MAX_IMAGES_PER_CALL = 50
MAX_FAILED_POLLS = 5

_BACKEND_STEPS = {
    "generate_video_with_seedance": "generating video clips",
    "edit_multitrack": "editing the timeline",
    "generate_music": "composing music",
    "ask_question": "preparing a question for you",
}


@dataclass
class _Turn:
    """What one edit turn said."""

    texts: list[str] = field(default_factory=list)
    partials: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    cut: str | None = None

    @property
    def reply(self) -> str:
        return "\n\n".join(self.texts) if self.texts else "".join(self.partials)


def _mentions_credits(errors: list[str]) -> bool:
    return any("credit" in error.lower() or "2001" in error for error in errors)


def _question_of(event: ToolCallEvent) -> str | None:
    """The question text when the backend's agent asks the user something (its `ask_question` tool)."""
    if event.name != "ask_question":
        return None
    for key in ("question", "text", "prompt", "message"):
        value = event.args.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


class VideoService:
    """The five operations, over whichever backend runs."""

    def __init__(self, settings: Settings, backend: Backend, store: Store) -> None:
        self._settings = settings
        self._backend = backend
        self._ledger = RenderLedger(store)
        self._export_lock = asyncio.Lock()
        self._edit_lock = asyncio.Lock()

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def call_budget_s(self) -> float:
        return self._settings.call_budget_s

    async def aclose(self) -> None:
        await self._backend.aclose()

    def _result(self, kind: type[R], message: str, **fields: Any) -> R:
        """A tool result with the parts every result shares: the message, this call's notices, the backend."""
        return kind(message=message, notices=notices.current(), backend=self._backend.name, **fields)

    # --- upload_images ---------------------------------------------------------------------------

    async def upload_images(self, paths: list[str], reporter: Reporter | None = None) -> UploadResult:
        reporter = reporter or SilentReporter()
        if not paths:
            raise InputError("No files were given.", "Call upload_images with one or more image paths or URLs.")
        if len(paths) > MAX_IMAGES_PER_CALL:
            raise InputError(
                f"{len(paths)} files in one call is more than the {MAX_IMAGES_PER_CALL} allowed.",
                f"Upload them in batches of at most {MAX_IMAGES_PER_CALL}.",
            )
        urls = [p.strip() for p in paths if is_remote_url(p.strip())]
        files: list[MediaFile] = [check_media_file(p) for p in paths if not is_remote_url(p.strip())]
        total = sum(f.size_bytes for f in files)
        await reporter.progress(0, 1, f"Uploading {len(files) + len(urls)} file(s) ({total / 1e6:.1f} MB)")
        uploaded = await self._backend.upload(files, urls)
        await reporter.progress(1, 1, "Upload finished")
        session_id = await self._backend.session_id()
        names = ", ".join(f.filename for f in uploaded)
        return self._result(
            UploadResult,
            f"Uploaded {len(uploaded)} file(s): {names}. Next step: call generate_video with what the "
            "video should look like.",
            session_id=session_id,
            files=uploaded,
        )

    # --- generate_video --------------------------------------------------------------------------

    async def generate_video(
        self, instruction: str, options: EditOptions | None = None, reporter: Reporter | None = None
    ) -> GenerateResult:
        instruction = instruction.strip()
        if not instruction:
            raise InputError("The instruction is empty.", "Describe the video to make, e.g. 'a 15-second slideshow'.")
        options = options or EditOptions()
        if self._edit_lock.locked():
            raise InputError(
                "Another generate_video call is still running for this project.",
                "Wait for its result (it says what changed), then call get_state; do not send the instruction again.",
            )
        async with self._edit_lock:
            return await self._edit(instruction, options, Ticker(reporter or SilentReporter()))

    async def _edit(self, instruction: str, options: EditOptions, ticker: Ticker) -> GenerateResult:
        before = await self._read_state_quietly() or await self._read_state_quietly()
        await ticker.tick("Sent the instruction; waiting for the editor")
        turn = await self._run_turn(self._backend.edit(instruction, options), ticker)

        recovered = False
        after: ProjectState | None = None
        if turn.cut is not None:
            log.warning("edit stream ended abnormally: %s", turn.cut)
            if before is None:
                raise EditUncertainError(turn.cut)
            after = await self._recover_after_cut(before, ticker)
            recovered = True
        if turn.errors and not turn.reply:
            after = after or await self._read_state_quietly()
            await self._raise_for_failed_turn(turn, before, after)

        translation = translate_reply(turn.reply)
        changes = timeline = None
        if not turn.reply.strip() or recovered:
            after = after or await self._read_state_quietly()
            if after is not None:
                timeline = timeline_summary(after.draft)
                changes = describe_changes(before.draft if before else {}, after.draft)
        message = self._generate_message(translation.text, changes, timeline, turn, recovered)
        return self._result(
            GenerateResult,
            message,
            reply=translation.text,
            next_actions=translation.actions,
            question=turn.questions[-1] if turn.questions else None,
            changes=changes,
            timeline=timeline,
            recovered_after_cut=recovered,
        )

    async def _raise_for_failed_turn(
        self, turn: _Turn, before: ProjectState | None, after: ProjectState | None
    ) -> None:
        """The editor reported errors and no reply: say so, without inviting a second paid edit if one landed."""
        reported = "; ".join(turn.errors)
        if _mentions_credits(turn.errors):
            credits = await self._backend.get_credits()
            raise NoCreditsError(credits.register_url if credits.anonymous else None)
        if before is None or after is None:
            raise EditUncertainError(f"the editor reported: {reported}")
        if draft_fingerprint(after.draft) != draft_fingerprint(before.draft):
            return  # part of the edit landed: report it as a result, with the errors
        raise BackendError(
            f"The editor reported a failure and the timeline did not change: {reported}.",
            "Call get_credits to check the balance, then call generate_video again with a simpler instruction.",
        )

    async def _run_turn(self, stream: AsyncIterator[EditEvent], ticker: Ticker) -> _Turn:
        """Consume one edit stream, reporting progress; enforce the idle and total limits."""
        turn = _Turn()
        scale = self._settings.wait_scale
        last_reply = time.monotonic()

        async def heartbeat_reports(consumer: asyncio.Future[None]) -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_REPORT_S * scale)
                waited = time.monotonic() - last_reply
                if waited > STREAM_IDLE_LIMIT_S * scale:
                    consumer.cancel()
                    return
                await ticker.tick(f"The editor is still working ({waited / scale:.0f} s since its last message)")

        async def consume() -> None:
            nonlocal last_reply
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for event in stream:
                    if not isinstance(event, HeartbeatEvent):
                        last_reply = time.monotonic()
                    await self._take_event(event, turn, ticker)

        consumer = asyncio.ensure_future(consume())
        reports = asyncio.ensure_future(heartbeat_reports(consumer))
        try:
            done, _ = await asyncio.wait({consumer}, timeout=STREAM_TOTAL_LIMIT_S * scale)
        finally:
            reports.cancel()
            if not consumer.done():
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
        if not done:
            turn.cut = "no end after 15 minutes"
        elif consumer.cancelled():
            turn.cut = "only heartbeats for 10 minutes"
        elif isinstance(consumer.exception(), StreamCutError):
            turn.cut = consumer.exception().reason  # type: ignore[union-attr]
        elif consumer.exception() is not None:
            raise consumer.exception()  # type: ignore[misc]
        return turn

    async def _take_event(self, event: EditEvent, turn: _Turn, ticker: Ticker) -> None:
        if isinstance(event, TextEvent):
            (turn.partials if event.partial else turn.texts).append(event.text)
            await ticker.tick("The editor replied")
        elif isinstance(event, ToolCallEvent):
            question = _question_of(event)
            if question:
                turn.questions.append(question)
            await ticker.tick(f"The editor is {_BACKEND_STEPS.get(event.name, 'working on the timeline')}")
        elif isinstance(event, ToolResultEvent):
            await ticker.tick("The editor finished a step")
        elif isinstance(event, StreamErrorEvent):
            turn.errors.append(event.message)
            await ticker.tick("The editor reported a problem")
        elif isinstance(event, ProgressEvent):
            await ticker.tick(event.message)
        elif isinstance(event, HeartbeatEvent):
            await ticker.tick("The editor is still working")

    async def _recover_after_cut(self, before: ProjectState | None, ticker: Ticker) -> ProjectState:
        """The contract's rule: never re-send; wait, read the state, and see whether the edit landed."""
        before_print = draft_fingerprint(before.draft) if before else None
        for attempt, delay in enumerate(RECOVERY_DELAYS_S, start=1):
            await ticker.tick(
                f"The stream was cut; checking the project in {delay:.0f} s "
                f"({attempt}/{len(RECOVERY_DELAYS_S)}). The instruction is not re-sent."
            )
            await asyncio.sleep(delay * self._settings.wait_scale)
            state = await self._read_state_quietly()
            if state is not None and draft_fingerprint(state.draft) != before_print:
                return state
        raise EditLostError(len(RECOVERY_DELAYS_S))

    async def _read_state_quietly(self) -> ProjectState | None:
        try:
            return await self._backend.get_state()
        except BackendError as exc:
            log.warning("could not read the state: %s", exc.message)
            return None

    @staticmethod
    def _generate_message(reply: str, changes: str | None, timeline: str | None, turn: _Turn, recovered: bool) -> str:
        parts = []
        if recovered:
            parts.append("The edit stream was cut, but the project state shows the edit landed (it was not re-sent).")
        if reply.strip():
            parts.append(reply.strip())
        elif not recovered:
            parts.append("The editor finished without a text reply.")
        if changes:
            parts.append(f"Changes: {changes}")
        if timeline:
            parts.append(timeline)
        if turn.errors:
            parts.append(f"The editor also reported: {'; '.join(turn.errors)}")
        if turn.questions and turn.questions[-1] not in reply:
            parts.append(f"The editor asks: {turn.questions[-1]}")
        if turn.questions:
            parts.append("Next step: ask the user, then call generate_video with their answer.")
            return "\n".join(parts)
        if not reply.strip() and timeline is None:
            parts.append("Next step: call get_state to see the timeline (it could not be read just now).")
        elif not reply.strip():
            parts.append("Next step: call export_video to render it, or generate_video to change it.")
        return "\n".join(parts)

    # --- get_state -------------------------------------------------------------------------------

    async def get_state(self) -> StateResult:
        state = await self._backend.get_state()
        summary = timeline_summary(state.draft)
        tracks = summarize_tracks(state.draft)
        duration = timeline_duration_s(state.draft)
        exportable = is_exportable(state.draft)
        step = "call export_video to render it." if exportable else "call upload_images, then generate_video."
        return self._result(
            StateResult,
            f"{summary}\nNext step: {step}",
            session_id=state.session_id,
            summary=summary,
            tracks=tracks,
            duration_s=duration,
            exportable=exportable,
            draft=state.draft,
        )

    # --- get_credits -----------------------------------------------------------------------------

    async def get_credits(self) -> CreditsResult:
        credits = await self._backend.get_credits()
        if not credits.needs_credits:
            message = "The local backend renders on this machine: no credits are needed."
        else:
            message = f"Credits: {credits.available:g} available, {credits.frozen:g} held for work in progress, "
            message += f"{credits.total:g} in total."
            if credits.anonymous and credits.register_url:
                message += f" This is an anonymous account; register at {credits.register_url} to keep the project."
        return self._result(
            CreditsResult,
            message,
            available=credits.available,
            frozen=credits.frozen,
            total=credits.total,
            anonymous=credits.anonymous,
            needs_credits=credits.needs_credits,
            register_url=credits.register_url,
        )

    # --- export_video ----------------------------------------------------------------------------

    async def export_video(self, wait: bool = True, reporter: Reporter | None = None) -> ExportResult:
        reporter = reporter or SilentReporter()
        progress = RisingProgress(reporter, total=100)
        session_id = await self._backend.session_id()
        async with self._export_lock:  # held only while a job is chosen or started, never while polling
            job, resumed, already_rendered = await self._claim_render(session_id, progress)
        if already_rendered:
            return self._export_result(job, resumed=False, already_rendered=True)
        if wait or resumed:  # a resumed job is read once even without waiting: the ledger may be stale
            job = await self._poll(job, progress, until_done=wait)
        if wait:
            job = await self._fetch_if_private(job, reporter)
        return self._export_result(job, resumed=resumed)

    async def _claim_render(self, session_id: str, progress: RisingProgress) -> tuple[RenderJob, bool, bool]:
        """The job to follow: an unfinished one (resumed), a finished render of this draft, or a new one.

        Returns (job, resumed, already_rendered).
        """
        backend = self._backend.name
        existing = self._ledger.unfinished(backend, session_id)
        if existing is not None:
            await progress.report(existing.progress, f"Resuming render {existing.job_id}")
            return existing, True, False
        state = await self._exportable_state()
        fingerprint = draft_fingerprint(state.draft)
        done = self._ledger.completed_for(backend, session_id, fingerprint)
        if done is not None:  # exporting the same timeline again would only pay twice
            return done, False, True
        job, is_new = self._ledger.claim(backend, session_id, fingerprint)
        if not is_new:  # another server process sharing this cache started one meanwhile
            return job, True, False
        await progress.report(0, "Starting the render")
        return await self._start(job, state.draft), False, False

    async def _start(self, job: RenderJob, draft: dict[str, Any]) -> RenderJob:
        """POST the render under ids the ledger already holds, so a crash at any point resumes, never re-pays."""
        for attempt in range(2):
            try:
                status = await self._backend.start_render(job.job_id, draft)
            except RenderIdTakenError:
                self._ledger.forget(job.job_id)
                if attempt:
                    raise BackendRequestError("duplicate", "the backend refused two fresh render ids") from None
                job = self._ledger.begin(new_job_id(), job.backend, job.session_id, job.draft_fingerprint)
                continue
            except (BackendUnavailableError, BadResponseError):
                raise  # the start may have landed: keep the job, so the next call resumes it
            except BackendError:
                self._ledger.forget(job.job_id)  # refused outright: nothing to resume
                raise
            return self._ledger.record(job, status)
        raise AssertionError("unreachable")

    async def _exportable_state(self) -> ProjectState:
        state = await self._backend.get_state()
        if not is_exportable(state.draft):
            raise NothingToExportError()
        return state

    async def _poll(self, job: RenderJob, progress: RisingProgress, *, until_done: bool) -> RenderJob:
        """Read the job once, or until it finishes (or the backend's wait limit passes)."""
        deadline = time.monotonic() + self._backend.max_render_wait
        restarted = False
        unreachable = 0
        first = True
        while job.status not in ("completed", "failed", "cancelled"):
            if not first and (not until_done or time.monotonic() > deadline):
                return job
            if not first or job.status != "starting":
                await asyncio.sleep(self._backend.poll_interval if until_done else 0)
            first = False
            try:
                status = await self._backend.poll_render(job.job_id)
            except RenderNotFoundError:
                if restarted:
                    raise RenderFailedError(job.job_id, "the backend lost the job twice") from None
                restarted = True
                status = await self._restart_lost_job(job)
            except BackendUnavailableError as exc:
                unreachable += 1
                if unreachable >= MAX_FAILED_POLLS or not until_done:
                    raise BackendUnavailableError(
                        f"render {job.job_id} could not be checked ({exc.message}); the job is kept "
                        "and a later export_video call resumes it"
                    ) from exc
                log.warning("render poll failed (%s); will poll again", exc.message)
                continue
            unreachable = 0
            job = self._ledger.record(job, status)
            await progress.report(job.progress, f"Rendering: {job.status} ({job.progress}%)")
        if job.status == "failed":
            raise RenderFailedError(job.job_id, job.error)
        if job.status == "cancelled":
            raise RenderFailedError(job.job_id, "it was cancelled")
        return job

    async def _fetch_if_private(self, job: RenderJob, reporter: Reporter) -> RenderJob:
        """A link that only opens with the account's token is useless to the user: fetch the file here."""
        if job.status != "completed" or not job.url or job.file_path or not self._backend.url_needs_auth(job.url):
            return job
        await reporter.log("info", "Downloading the finished video to this machine")
        target = self._settings.output_dir / f"{job.job_id}.mp4"
        path = await self._backend.download_render(job.job_id, job.url, target)
        job = job.model_copy(update={"file_path": str(path)})
        self._ledger.save(job)
        return job

    async def _restart_lost_job(self, job: RenderJob) -> RenderStatus:
        """A job the backend does not know: its start never landed. Start it under the same id."""
        state = await self._exportable_state()
        log.info("render %s unknown to the backend; starting it under the same id", job.job_id)
        try:
            return await self._backend.start_render(job.job_id, state.draft)
        except RenderIdTakenError:
            raise RenderFailedError(job.job_id, "its id is held by another render") from None

    def _export_result(self, job: RenderJob, *, resumed: bool, already_rendered: bool = False) -> ExportResult:
        file_path = job.file_path
        if file_path is None and job.url and job.url.startswith("file://"):
            file_path = job.url.removeprefix("file://")
        if job.status == "completed":
            message = f"The video is ready: {file_path or job.url}"
            if job.file_path:
                message += " (downloaded to this machine: the backend's link only opens with the account's token)"
            if already_rendered:
                message += " (this exact timeline was rendered before; no new render was started)"
        elif resumed:
            message = (
                f"Render {job.job_id} is {job.status} ({job.progress}%). Next step: call export_video again "
                "to keep waiting for this same job (it is not started or charged twice)."
            )
        else:
            message = (
                f"Render {job.job_id} started ({job.status}, {job.progress}%). Next step: call export_video "
                "again to wait for it; the job id is kept, so it resumes rather than starting over."
            )
        return self._result(
            ExportResult,
            message,
            job_id=job.job_id,
            status=job.status,
            progress=job.progress,
            url=job.url,
            file_path=file_path,
            resumed=resumed or already_rendered,
        )
