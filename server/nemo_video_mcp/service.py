"""What each tool does, in domain words. Knows a Backend, the cache and the jobs; not MCP.

Long work belongs to the server, not to the tool call: an edit (`edit_job`) and the following of a
render (`render_job`) run as jobs (`running_jobs`), recorded in their ledgers before anything is
sent. A tool call waits for its job up to the call budget and then answers either way: with the
outcome, or with the job id and how far it got. A host that gives up ends the wait, never the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from nemo_video_mcp import notices
from nemo_video_mcp.backends.base import Backend, RenderNotFoundError
from nemo_video_mcp.config import Settings
from nemo_video_mcp.cost import (
    OFFLINE,
    CostEstimate,
    confirmation_question,
    confirmation_reason,
    estimate_edit,
    failed_job_credits,
    next_cost_text,
    released_credits,
    spent_note,
)
from nemo_video_mcp.draft import (
    draft_fingerprint,
    format_seconds,
    is_exportable,
    summarize_tracks,
    timeline_duration_s,
    timeline_summary,
    track_lanes,
    trimmed_draft,
)
from nemo_video_mcp.draft_view import read_draft
from nemo_video_mcp.edit_job import EditRunner
from nemo_video_mcp.edit_jobs import EditJob, EditLedger, wish_of
from nemo_video_mcp.errors import BackendError, InputError, JobFailedError, RenderFailedError
from nemo_video_mcp.gui import NextAction
from nemo_video_mcp.media import check_media_file, is_remote_url
from nemo_video_mcp.models import Credits, EditOptions, MediaFile, RenderJob, RenderStatus
from nemo_video_mcp.progress import Reporter, SilentReporter
from nemo_video_mcp.render_job import RenderRunner
from nemo_video_mcp.render_jobs import RenderLedger
from nemo_video_mcp.results import (
    CancelResult,
    CreditsResult,
    ExportResult,
    GenerateResult,
    JobEntry,
    JobResult,
    JobsListing,
    JobStatus,
    LatestVideo,
    PaidCall,
    PlayerVideo,
    ProjectLinkResult,
    StateResult,
    StoryboardResult,
    StoryboardShot,
    TimelineResult,
    ToolResult,
    UploadResult,
)
from nemo_video_mcp.running_jobs import RunningJobs, stop_task, wait_time
from nemo_video_mcp.saving import check_save_place, check_writable_folder, target_for
from nemo_video_mcp.shots import shots_of
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)
R = TypeVar("R", bound=ToolResult)

MAX_IMAGES_PER_CALL = 50
MAX_DRAFT_BYTES = 256 * 1024
"""get_state hands the agent at most about this much draft JSON (the summary always covers all of it)."""
LEDGER_POLL_S = 0.25
"""How often a call re-reads the ledger for a job that another live server process runs."""
CREDITS_READ_S = 5.0
"""The longest a balance read around a paid call may take (the call's work comes first)."""

Confirm = Callable[[CostEstimate, str], Awaitable[None]]
"""Asks the user to agree to a spend (the estimate, the question); raises `NotConfirmedError` when they do not."""


class VideoService:
    """The tools, over whichever backend runs."""

    def __init__(self, settings: Settings, backend: Backend, store: Store) -> None:
        self._settings = settings
        self._backend = backend
        self._edits = EditLedger(store)
        self._renders = RenderLedger(store)
        self._jobs = RunningJobs()
        self._edit_runner = EditRunner(settings, backend, self._edits)
        self._render_runner = RenderRunner(settings, backend, self._renders)
        self._export_lock = asyncio.Lock()
        self._last_credits: Credits | None = None
        """The latest balance read, for next_cost where a read of its own is not worth a request."""

    @property
    def call_budget_s(self) -> float:
        return self._settings.call_budget_s

    async def aclose(self) -> None:
        await self._jobs.aclose()
        await self._backend.aclose()

    def _result(self, result_type: type[R], message: str, **fields: Any) -> R:
        """A tool result with the parts every result shares: the message, this call's notices, the backend."""
        return result_type(message=message, notices=notices.current(), backend=self._backend.name, **fields)

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
        local = [p for p in paths if not is_remote_url(p.strip())]
        allowed = self._settings.allowed_dirs
        # Images are decoded to check them: off the event loop, so progress and other calls go on.
        files: list[MediaFile] = await asyncio.to_thread(lambda: [check_media_file(p, allowed) for p in local])
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
            next_cost=await self._next_cost(self._last_credits, self._has_clips(session_id)),  # no extra request
        )

    # --- generate_video --------------------------------------------------------------------------

    async def generate_video(
        self,
        instruction: str,
        options: EditOptions | None = None,
        reporter: Reporter | None = None,
        confirm: Confirm | None = None,
    ) -> GenerateResult:
        """Send one edit — once. A repeated wish follows the edit already sent instead of paying again.

        A new edit is first priced (`cost`) against the balance; `confirm` (a client that shows forms)
        asks the user when it is dear, before anything is recorded or sent. A repeat never asks.
        """
        instruction = instruction.strip()
        if not instruction:
            raise InputError("The instruction is empty.", "Describe the video to make, e.g. 'a 15-second slideshow'.")
        options = options or EditOptions()
        session_id = await self._backend.session_id()
        wish = wish_of(instruction, options)
        before = None
        if self._edits.recorded_for(self._backend.name, session_id, wish) is None:
            before = await self._credits_within()
            if confirm is not None:  # offline, the estimate is free: never asks
                estimate = await self._estimate(instruction, self._has_clips(session_id))
                available = before.available if before is not None else None
                why = confirmation_reason(estimate, available, self._settings.confirm_above)
                if why is not None:
                    await confirm(estimate, confirmation_question(estimate, available, why))
        job, is_new, busy = await self._edits.claim(self._backend.name, session_id, instruction, wish, before)
        if busy is not None:
            await self._follow_edit(busy)
            raise InputError(
                f"Another edit is still running for this project (job {busy.job_id}: {_quoted(busy.instruction)}).",
                "Call get_job to follow it; once it has finished, call generate_video with the new instruction. "
                "Do not send the running one again: it is not lost.",
            )
        if is_new:
            self._jobs.start(job.job_id, lambda progress: self._edit_runner.run(job, options, progress))
        else:
            await self._follow_edit(job)
        job = await self._wait_for_edit(job.job_id, reporter or SilentReporter())
        return await self._edit_answer(job, already_sent=not is_new)

    async def _follow_edit(self, job: EditJob) -> None:
        """Make sure an unfinished edit is followed: here already, by another live server, or adopted now."""
        if job.finished or self._jobs.runs_here(job.job_id):
            return
        adopted = await self._edits.adopt(job.job_id)
        if adopted is not None:  # its server died with the edit in flight: check the state, never re-send
            self._jobs.start(adopted.job_id, lambda progress: self._edit_runner.recover(adopted, progress))

    async def _wait_for_edit(self, job_id: str, reporter: Reporter) -> EditJob:
        """Wait up to the call budget; the edit job as it stands then (finished or not)."""
        if self._jobs.task(job_id) is not None:
            await self._jobs.watch(job_id, reporter)
            if (failure := self._jobs.failure(job_id)) is not None:
                raise failure
        else:
            await self._wait_in_ledger(lambda: self._edits.get(job_id), reporter)
        job = self._edits.get(job_id)
        if job is None:
            raise InputError(f"The edit job {job_id} is no longer in the cache.", "Call get_state to see the timeline.")
        live = self._jobs.latest_progress(job_id)
        if live is not None and not job.finished:  # fresher than the ledger, which is written every few seconds
            job = job.model_copy(update={"events": max(job.events, int(live[0])), "last_step": live[1]})
        return job

    async def _wait_in_ledger(self, read: Callable[[], EditJob | None], reporter: Reporter) -> None:
        """Follow a job that another live server process runs, through the shared ledger."""
        limit = wait_time()
        deadline = None if limit is None else time.monotonic() + limit
        shown = -1.0
        while True:
            job = read()
            if job is None or job.finished:
                return
            value = float(job.events)
            if value > shown:
                shown = value
                await reporter.progress(value, None, "Another server process is running this job")
            if deadline is not None and time.monotonic() >= deadline:
                return
            await asyncio.sleep(LEDGER_POLL_S if deadline is None else min(LEDGER_POLL_S, deadline - time.monotonic()))

    async def _edit_answer(self, job: EditJob, *, already_sent: bool) -> GenerateResult:
        for text in job.notices:
            notices.note(text)
        after = await self._credits_within()
        credits, note = _credits_fields(job.credits_before, after, running=not job.finished)
        next_cost = await self._next_cost(after, self._has_clips(job.session_id)) if job.finished else None
        if not job.finished:
            return self._result(
                GenerateResult,
                f"{_still_running(job)}\n{note}",
                job_id=job.job_id,
                status="running",
                already_sent=already_sent,
                next_actions=[_follow_action(job.job_id, "follow the running edit and get the editor's reply")],
                **credits,
            )
        await self._edits.mark_delivered(job.job_id)
        if job.failure is not None:
            failure = job.failure
            _, held = failed_job_credits(job.credits_before, after)
            raise JobFailedError(
                job.job_id, f"{failure.message} {held}", failure.next_step, code=failure.code, already_sent=already_sent
            )
        assert job.outcome is not None
        outcome = job.outcome
        message = outcome.message
        if already_sent:
            message = f"This instruction was already sent (job {job.job_id}); nothing was sent again.\n{message}"
        message += f"\n{note}"
        if next_cost is not None:
            message += f" {next_cost}"
        return self._result(
            GenerateResult,
            message,
            job_id=job.job_id,
            status="completed",
            already_sent=already_sent,
            reply=outcome.reply,
            next_actions=outcome.next_actions,
            question=outcome.question,
            choices=outcome.choices,
            changes=outcome.changes,
            timeline=outcome.timeline,
            recovered_after_cut=outcome.recovered_after_cut,
            next_cost=next_cost,
            **credits,
        )

    # --- get_state -------------------------------------------------------------------------------

    async def get_state(self) -> StateResult:
        # The balance (for next_cost) is read while the state is: one round trip of waiting, not two.
        credits = asyncio.ensure_future(self._credits_within())
        try:
            state = await self._backend.get_state()
            view = read_draft(state.draft)  # once: a draft may hold 100,000 segments
            tracks = summarize_tracks(view)
            summary = timeline_summary(view, tracks)
            exportable = is_exportable(view)
            step = "call export_video to render it." if exportable else "call upload_images, then generate_video."
            draft, left_out, cut = trimmed_draft(state.draft, MAX_DRAFT_BYTES)
            message = f"{summary}\nNext step: {step}"
            if cut:
                message += (
                    f"\n(The draft is large: the structured draft is cut to {MAX_DRAFT_BYTES // 1024} KB, "
                    f"{left_out} segments left out; the summary and tracks above cover all of it, and the "
                    "resource nemo://project/draft holds it whole.)"
                )
            balance = await credits
        finally:
            if not credits.done():  # the state could not be read: its balance is not wanted
                await stop_task(credits)
        return self._result(
            StateResult,
            message,
            session_id=state.session_id,
            summary=summary,
            tracks=tracks,
            duration_s=timeline_duration_s(view),
            exportable=exportable,
            draft=draft,
            draft_trimmed=cut,
            next_cost=await self._next_cost(balance, exportable),
        )

    async def timeline(self) -> TimelineResult:
        """get_state's tracks with their segments placed in time, from the whole draft (the studio draws them)."""
        state = await self._backend.get_state()
        view = read_draft(state.draft)
        lanes = track_lanes(view)
        summary = timeline_summary(view, list(lanes))
        return self._result(
            TimelineResult,
            summary,
            summary=summary,
            tracks=lanes,
            duration_s=timeline_duration_s(view),
            exportable=is_exportable(view),
        )

    async def video_for_player(self, job_id: str | None, max_bytes: int) -> PlayerVideo:
        """A finished render (by job id, else the latest) with its bytes when its file is here and at most
        `max_bytes`; else its URL and, in the message, why it cannot be played inline."""
        found: JobEntry | LatestVideo = self.peek_job(job_id) if job_id else await self.latest_video()
        unfinished = isinstance(found, JobEntry) and (found.kind != "render" or found.status != "completed")
        if isinstance(found, LatestVideo) and found.job_id is None:
            return self._result(PlayerVideo, found.message)
        if unfinished or (found.file_path is None and found.url is None):
            status = found.status if isinstance(found, JobEntry) else "no file or link"
            message = f"Job {found.job_id} has no video ({status}). Next step: call get_job to follow it."
            return self._result(PlayerVideo, message, job_id=found.job_id)
        file_path = found.file_path
        size = await asyncio.to_thread(_size_of, file_path) if file_path else None
        fields: dict[str, Any] = {"job_id": found.job_id, "url": found.url, "file_path": file_path, "size_bytes": size}
        if size is None or size > max_bytes:
            why = "its file is not on this machine" if size is None else f"it is over {max_bytes // 2**20} MB"
            return self._result(
                PlayerVideo,
                f"The video's bytes are not sent ({why}): {found.url or file_path}\n"
                "Next step: open it there (get_job and nemo://videos/latest give the same link).",
                **fields,
            )
        assert file_path is not None
        video = await asyncio.to_thread(Path(file_path).read_bytes)
        result = self._result(PlayerVideo, f"The video of render {found.job_id} ({size} bytes).", inline=True, **fields)
        result._video = video
        return result

    async def full_draft(self) -> dict[str, Any]:
        """The draft as the backend holds it, uncut (for the draft resource)."""
        return (await self._backend.get_state()).draft

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

    async def export_video(
        self, wait: bool = True, reporter: Reporter | None = None, save_to: str | None = None
    ) -> ExportResult:
        """Render the current timeline — once: a running render of it is followed, a finished one returned.

        `save_to` (a folder or an .mp4 path) also puts a checked copy there once the render is done.
        """
        reporter = reporter or SilentReporter()
        save_dir = self._settings.save_dir or self._settings.output_dir
        target = target_for(save_to, save_dir, "video") if save_to is not None else None
        if target is not None:  # refused before anything is started or paid
            check_save_place(target, self._settings.allowed_dirs)
            check_writable_folder(target.parent)
        session_id = await self._backend.session_id()
        before = await self._credits_within()
        async with self._export_lock:  # held only while a job is chosen or started, never while following
            job, resumed, already_rendered = await self._render_runner.claim(session_id, reporter)
            if not (resumed or already_rendered) and before is not None:  # for get_job's before and after
                job = job.model_copy(update={"credits_before": before})
                await self._renders.save(job)
        if target is not None:
            target = target_for(save_to or "", save_dir, job.job_id)
        if already_rendered and (target is None or job.saved_path == str(target)) and not job.unchecked:
            await self._renders.mark_delivered(job.job_id)
            return await self._with_credits(self._export_result(job, resumed=False, already_rendered=True), before)
        if resumed and not wait:  # the ledger may be stale: read the job once before answering
            job = await self._render_runner.read_once(job)
        self._follow_render(job, target)
        if wait:
            await self._jobs.watch(job.job_id, reporter)
        try:
            answer = await self._render_answer(job.job_id, resumed=resumed, already_rendered=already_rendered)
        except (RenderFailedError, JobFailedError) as exc:
            exc.message += " " + failed_job_credits(before, await self._credits_within())[1]
            raise
        return await self._with_credits(answer, before)

    def _follow_render(self, job: RenderJob, save_to: Path | None = None) -> None:
        """Follow an unfinished render (or save a finished one) in a job of its own, unless one runs here."""
        if self._jobs.runs_here(job.job_id) or (job.finished and save_to is None and not job.unchecked):
            return
        self._jobs.start(job.job_id, lambda progress: self._render_runner.follow(job, progress, save_to))

    async def _render_answer(self, job_id: str, *, resumed: bool, already_rendered: bool = False) -> ExportResult:
        if (failure := self._jobs.failure(job_id)) is not None:
            await self._renders.mark_delivered(job_id)
            raise failure
        job = self._renders.get(job_id)
        if job is None:
            raise RenderFailedError(job_id, "its record is no longer in the cache")
        job = self._as_seen(job)
        if job.status in ("failed", "cancelled"):
            await self._renders.mark_delivered(job_id)
            raise RenderFailedError(job_id, job.error or job.status)
        if job.status == "completed":
            await self._renders.mark_delivered(job_id)
        return self._export_result(job, resumed=resumed, already_rendered=already_rendered)

    def _as_seen(self, job: RenderJob) -> RenderJob:
        """A render whose file is not yet fetched to this machine and checked there (`RenderJob.unchecked`: say,
        a server on this cache stopped, or the download failed, between the backend's 'completed' and the end
        of the check), or whose job here is still saving it, is not ready yet, whatever the backend says (the
        ledger records the backend's word as soon as it is read)."""
        if job.status == "completed" and (self._jobs.runs_here(job.job_id) or job.unchecked):
            return job.model_copy(update={"status": "processing", "progress": 99, "finished_at": None})
        return job

    def _where(self, job: RenderJob) -> str:
        """The finished video's checked copy on this machine, and the backend's link beside it."""
        here = str(job.file_path)
        if not job.url or job.url.startswith("file:"):
            return here
        if self._backend.url_needs_auth(job.url):
            return f"{here} (downloaded to this machine: the backend's link only opens with the account's token)"
        return f"{here} (the checked copy on this machine); its link, which opens without a token: {job.url}"

    def _export_result(self, job: RenderJob, *, resumed: bool, already_rendered: bool = False) -> ExportResult:
        file_path = job.file_path
        if job.status == "completed":
            message = f"The video is ready: {self._where(job)}"
            if already_rendered:
                message += " (this exact timeline was rendered before; no new render was started)"
            message += _probe_line(job)
            if job.saved_path:
                message += f"\nSaved a checked copy to {job.saved_path}"
                message += f" ({job.saved_note})." if job.saved_note else "."
        else:
            message = (
                f"Render {job.job_id} is {job.status} ({job.progress}%){' (resumed)' if resumed else ''} and goes "
                "on on the server without this call. Next step: call get_job to follow it and get the video "
                "(export_video again also follows it; it is never started or charged twice)."
            )
        result = self._result(
            ExportResult,
            message,
            job_id=job.job_id,
            status=job.status,
            progress=job.progress,
            url=job.url,
            file_path=file_path,
            resumed=resumed or already_rendered,
            saved_path=job.saved_path,
            probe=job.probe if job.status == "completed" else None,
        )
        return _with_keyframes(result, job)

    # --- get_project_link --------------------------------------------------------------------------

    async def get_project_link(self) -> ProjectLinkResult:
        """Where the user keeps this project: a claim link for an anonymous account (never its token)."""
        link = await self._backend.project_link()
        expires = _iso(link.expires_at) if link.expires_at else None
        if link.kind == "claim":
            message = (
                f"Open {link.url} to attach this project to a NemoVideo account (sign up or log in there)"
                f"{f'; the link works until {expires}' if expires else ''}. Next step: give the user this link."
            )
        elif link.kind == "workspace":
            message = f"The project is in the account's workspace: {link.url}. Next step: give the user this link."
        else:
            message = (
                f"The project lives on this machine, in {link.path}; there is no account or link. Next step: "
                "call export_video to render the video file."
            )
        return self._result(
            ProjectLinkResult, message, kind=link.kind, url=link.url, expires_at=expires, path=link.path
        )

    # --- cancel_export -----------------------------------------------------------------------------

    async def cancel_export(self, job_id: str | None = None) -> CancelResult:
        """Stop a running render: the backend's job and our following of it. Nothing running: a no-op."""
        job = self._render_to_cancel(job_id.strip() if job_id else None)
        if job is None:
            which = f" with id {job_id!r}" if job_id else ""
            return self._result(
                CancelResult,
                f"There is no render{which} to cancel; nothing was changed. Next step: call get_job to see the "
                "latest job, or export_video to start a render.",
                job_id=job_id,
                cancelled=False,
            )
        if job.finished:
            return self._result(
                CancelResult,
                f"Render {job.job_id} has already ended ({job.status}); there is nothing to cancel.",
                job_id=job.job_id,
                cancelled=False,
                status=job.status,
            )
        before = await self._credits_quietly()
        await self._jobs.stop(job.job_id)
        try:
            await self._backend.cancel_render(job.job_id)
        except RenderNotFoundError:
            log.info("render %s was unknown to the backend; marking it cancelled", job.job_id)
        stopped = RenderStatus(
            job_id=job.job_id, status="cancelled", progress=job.progress, error="cancelled on request"
        )
        job = await self._renders.record(job, stopped)
        await self._renders.mark_delivered(job.job_id)
        after = await self._credits_quietly()
        released, credits = released_credits(before, after)
        return self._result(
            CancelResult,
            f"Render {job.job_id} was cancelled at {job.progress}%. {credits} Next step: call export_video to "
            "render the timeline when it is ready.",
            job_id=job.job_id,
            cancelled=True,
            status="cancelled",
            credits_released=released,
        )

    def _render_to_cancel(self, job_id: str | None) -> RenderJob | None:
        if job_id:
            return self._renders.get(job_id)
        running = [job for job in self._renders.all() if job.backend == self._backend.name and not job.finished]
        return max(running, key=lambda job: job.created_at, default=None) or self._renders.latest(self._backend.name)

    async def _credits_quietly(self) -> Credits | None:
        try:
            self._last_credits = await self._backend.get_credits()
            return self._last_credits
        except BackendError as exc:
            log.warning("could not read the balance: %s", exc.message)
            return None

    async def _credits_within(self) -> Credits | None:
        """The balance, or None when it cannot be read within `CREDITS_READ_S` (or what is left of the call)."""
        limit = wait_time()
        limit = CREDITS_READ_S if limit is None else min(CREDITS_READ_S, limit - 1)
        if limit <= 0:
            return None
        try:
            return await asyncio.wait_for(self._credits_quietly(), limit)
        except asyncio.TimeoutError:
            log.warning("the balance was not read within %.1f s", limit)
            return None

    async def _with_credits(self, result: R, before: Credits | None) -> R:
        """`result` with the credits before and after its call (a paid call's result)."""
        fields, note = _credits_fields(before, await self._credits_within())
        return result.model_copy(update={**fields, "message": f"{result.message}\n{note}"})

    def _has_clips(self, session_id: str) -> bool:
        """An edit of this project has ended well (so the timeline likely holds something); no backend call."""
        mine = [job for job in self._edits.all() if job.backend == self._backend.name and job.session_id == session_id]
        return any(job.phase == "completed" for job in mine)

    async def _estimate(self, instruction: str, has_clips: bool) -> CostEstimate:
        if self._backend.name == "local":
            return OFFLINE
        pictures = has_clips or any(  # with clips on the timeline, uploads do not change the estimate
            upload.file_type in ("image", "video") for upload in await asyncio.to_thread(self._backend.uploads)
        )
        return estimate_edit(instruction, timeline_has_clips=has_clips, has_pictures=pictures)

    async def _next_cost(self, credits: Credits | None, has_clips: bool) -> str:
        """What a plain next edit would cost (the text adds that generating footage costs more)."""
        estimate = await self._estimate("", has_clips)
        available = credits.available if credits is not None and credits.needs_credits else None
        asks = confirmation_reason(estimate, available, self._settings.confirm_above) is not None
        return next_cost_text(estimate, available, asks)

    # --- get_job ---------------------------------------------------------------------------------

    async def get_job(self, job_id: str | None = None, reporter: Reporter | None = None) -> JobResult:
        """An edit or render job (the latest by default), waited for up to the call budget."""
        reporter = reporter or SilentReporter()
        edit, render = self._find_job(job_id.strip() if job_id else None)
        if edit is not None:
            await self._follow_edit(edit)
            edit = await self._wait_for_edit(edit.job_id, reporter)
            return await self._edit_job_result(edit)
        assert render is not None
        self._follow_render(render)
        if self._jobs.task(render.job_id) is not None:
            await self._jobs.watch(render.job_id, reporter)
        return await self._render_job_result(render.job_id)

    def _find_job(self, job_id: str | None) -> tuple[EditJob | None, RenderJob | None]:
        if job_id:
            edit = self._edits.get(job_id)
            render = None if edit is not None else self._renders.get(job_id)
            if edit is None and render is None:
                raise InputError(
                    f"There is no job {job_id!r} in this server's cache.",
                    "Call get_job without a job_id to see the latest job.",
                )
            return edit, render
        edit = self._edits.latest(self._backend.name)
        render = self._renders.latest(self._backend.name)
        if edit is None and render is None:
            raise InputError(
                "No edit or render has been started yet.",
                "Call generate_video to edit the video, or export_video to render it.",
            )
        if render is None or (edit is not None and edit.created_at >= render.created_at):
            return edit, None
        return None, render

    async def _edit_job_result(self, job: EditJob) -> JobResult:
        for text in job.notices:
            notices.note(text)
        outcome = job.outcome
        if job.finished:
            await self._edits.mark_delivered(job.job_id)
        status = "running" if not job.finished else "completed" if job.phase == "completed" else "failed"
        if outcome is not None:
            message = outcome.message
        elif job.failure is not None:
            message = f"The edit failed: {job.failure.message}\nNext step: {job.failure.next_step}"
        else:
            message = _still_running(job)
        after = await self._credits_within()
        credits, note = _credits_fields(job.credits_before, after, running=not job.finished)
        released = None
        if job.failure is not None:
            released, note = failed_job_credits(job.credits_before, after)
        return self._result(
            JobResult,
            f"{message}\n{note}",
            job_id=job.job_id,
            kind="edit",
            status=status,
            progress=job.events,
            progress_text=job.last_step or "Starting",
            started_at=_iso(job.created_at),
            finished_at=_iso(job.finished_at) if job.finished_at else None,
            instruction=job.instruction,
            reply=outcome.reply if outcome else None,
            next_actions=outcome.next_actions if outcome else [_follow_action(job.job_id, "keep following the edit")],
            question=outcome.question if outcome else None,
            choices=outcome.choices if outcome else [],
            changes=outcome.changes if outcome else None,
            timeline=outcome.timeline if outcome else None,
            error=f"{job.failure.message} Next step: {job.failure.next_step}" if job.failure else None,
            held_credits_released=released,
            **credits,
        )

    async def _render_job_result(self, job_id: str) -> JobResult:
        raised = self._jobs.failure(job_id)
        failure = None if raised is None else getattr(raised, "agent_message", "the render could not be followed")
        job = self._renders.get(job_id)
        assert job is not None
        job = self._as_seen(job)
        earlier = None
        if job.draft_fingerprint:
            current = await self._current_fingerprint()
            earlier = None if current is None else current != job.draft_fingerprint
        if job.finished:
            await self._renders.mark_delivered(job_id)
        if job.status in ("failed", "cancelled"):
            failure = failure or f"Render {job_id} {job.status}: {job.error or 'no reason given'}."
        file_path = job.file_path
        if job.status == "completed":
            message = f"Render {job_id} is finished: {self._where(job)}{_probe_line(job)}"
            if earlier:
                message += (
                    "\nThis render is of an earlier version of the timeline (it was edited since). "
                    "Next step: call export_video to render the current one."
                )
        elif failure:
            message = f"{failure}\nNext step: call export_video to render the timeline again."
            if "Next step" in failure:
                message = failure
        else:
            message = f"Render {job_id} is {job.status} ({job.progress}%). Next step: call get_job again to follow it."
        status = "running" if not job.finished else job.status
        after = await self._credits_within()
        credits, note = _credits_fields(job.credits_before, after)
        released = None
        if status in ("failed", "cancelled"):
            released, note = failed_job_credits(job.credits_before, after)
        elif after is not None and after.needs_credits:
            note = f"Export is free: {after.available:g} credits available now, {after.frozen:g} held."
        result = self._result(
            JobResult,
            f"{message}\n{note}",
            job_id=job_id,
            kind="render",
            status=status,
            progress=job.progress,
            progress_text=f"Rendering: {job.status} ({job.progress}%)",
            started_at=_iso(job.created_at),
            finished_at=_iso(job.finished_at) if job.finished_at else None,
            url=job.url,
            file_path=file_path,
            earlier_version=earlier,
            error=failure,
            probe=job.probe if job.status == "completed" else None,
            held_credits_released=released,
            **credits,
        )
        return _with_keyframes(result, job)

    async def _current_fingerprint(self) -> str | None:
        try:
            state = await self._backend.get_state()
        except BackendError as exc:
            log.warning("could not read the state: %s", exc.message)
            return None
        return draft_fingerprint(state.draft) if is_exportable(state.draft) else None

    # --- Resources: the jobs and the latest video, read from the cache without waiting --------------

    def list_jobs(self) -> JobsListing:
        """This backend's edits and renders, newest first (a look at the ledgers: nothing waits or is marked read)."""
        name = self._backend.name
        records: list[EditJob | RenderJob] = [job for job in self._edits.all() if job.backend == name]
        records += [self._as_seen(job) for job in self._renders.all() if job.backend == name]
        jobs = [_job_entry(job) for job in sorted(records, key=lambda job: job.created_at, reverse=True)]
        running = sum(entry.status == "running" for entry in jobs)
        if not jobs:
            message = "No edit or render has been started yet. Next step: call generate_video."
        else:
            message = f"{len(jobs)} job(s), {running} running. Next step: call get_job(job_id) to follow one."
        return JobsListing(message=message, backend=name, jobs=jobs)

    def peek_job(self, job_id: str) -> JobEntry:
        """One job as the cache holds it; `InputError` when there is none under this id."""
        edit, render = self._find_job(job_id.strip())
        if edit is not None:
            return _job_entry(edit)
        assert render is not None
        return _job_entry(self._as_seen(render))

    async def latest_video(self) -> LatestVideo:
        """The newest finished render of this backend, and whether the timeline changed since."""
        name = self._backend.name
        done = [job for job in self._renders.all() if job.backend == name and self._as_seen(job).status == "completed"]
        job = max(done, key=lambda job: job.finished_at or job.updated_at, default=None)
        if job is None:
            return LatestVideo(message="No video has been rendered yet. Next step: call export_video.", backend=name)
        file_path = job.file_path
        size = _size_of(file_path) if file_path is not None else None
        earlier = None
        if job.draft_fingerprint:
            current = await self._current_fingerprint()
            earlier = None if current is None else current != job.draft_fingerprint
        message = f"The latest video (render {job.job_id}): {file_path or job.url}"
        if earlier:
            message += "\nThe timeline was edited since. Next step: call export_video to render the current one."
        return LatestVideo(
            message=message,
            backend=name,
            job_id=job.job_id,
            url=job.url,
            file_path=file_path,
            saved_path=job.saved_path,
            size_bytes=size,
            finished_at=_iso(job.finished_at) if job.finished_at else None,
            earlier_version=earlier,
        )

    async def change_marks(self, with_timeline: bool) -> dict[str, str]:
        """A short mark per thing a client may watch ("jobs", "job:<id>", "edits", "video", "timeline");
        a mark that differs from the last one read means the thing changed. The timeline's needs a
        backend read, so it is only made when asked for."""
        listing = self.list_jobs()
        marks = {f"job:{entry.job_id}": _mark(entry.model_dump_json()) for entry in listing.jobs}
        marks["jobs"] = _mark(",".join(sorted(marks.values())))
        marks["edits"] = _mark(",".join(marks[f"job:{e.job_id}"] for e in listing.jobs if e.kind == "edit"))
        video = [e for e in listing.jobs if e.kind == "render" and e.status == "completed"]
        marks["video"] = max((f"{e.finished_at or e.started_at} {e.job_id}" for e in video), default="none")
        if with_timeline:
            state = await self._backend.get_state()
            marks["timeline"] = draft_fingerprint(state.draft)
        return marks

    # --- preview_storyboard ----------------------------------------------------------------------

    async def preview_storyboard(self) -> StoryboardResult:
        """The timeline's pictures in order on one contact sheet, with their times, the title and captions."""
        state = await self._backend.get_state()
        shots = shots_of(state.draft)
        if not shots:
            raise InputError(
                "The timeline has no pictures yet, so there is no storyboard to show.",
                "Call upload_images, then generate_video; then call preview_storyboard again.",
            )
        shown = shots[:MAX_STORYBOARD_SHOTS]
        from nemo_video_mcp.storyboard import Panel, draw_storyboard  # Pillow and httpx: not at start-up
        from nemo_video_mcp.storyboard_pictures import pictures_for

        uploads = await asyncio.to_thread(self._backend.uploads)
        pictures = await pictures_for([shot.source for shot in shown], uploads)
        view = read_draft(state.draft)
        tracks = summarize_tracks(view)
        summary = timeline_summary(view, tracks)
        duration = timeline_duration_s(view)
        panels = [
            Panel(shot.index, shot.start_s, shot.end_s, shot.label, shot.captions, picture.image, picture.missing)
            for shot, picture in zip(shown, pictures, strict=True)
        ]
        missing = [f"shot {shot.index} ({p.missing})" for shot, p in zip(shown, pictures, strict=True) if p.missing]
        notes = []
        if len(shots) > len(shown):
            notes.append(f"Shots {len(shown) + 1}-{len(shots)} are not drawn ({len(shots)} in all).")
        if missing:
            notes.append(f"No picture for {'; '.join(missing[:6])}{' and more' if len(missing) > 6 else ''}.")
        heading = [f"Storyboard: {len(shots)} shot(s), {format_seconds(duration)} s"]
        heading += [track.describe() for track in tracks if track.kind != "Video"]
        sheet = await asyncio.to_thread(draw_storyboard, heading, panels, _frame_aspect(state.draft), " ".join(notes))
        listed = " · ".join(
            f"{s.index}. {format_seconds(s.start_s)}-{format_seconds(s.end_s)}s {s.label}" for s in shown[:8]
        )
        message = f"Storyboard ({sheet.width}x{sheet.height}, the image with this answer): {listed}"
        message += " · …" if len(shown) > 8 else ""
        message += f"\n{summary}\n{' '.join(notes)}".rstrip()
        message += "\nNext step: show the user the storyboard; call export_video to render it, or generate_video to "
        message += "change it."
        result = self._result(
            StoryboardResult,
            message,
            shots=[
                StoryboardShot(
                    index=shot.index,
                    start_s=shot.start_s,
                    end_s=shot.end_s,
                    label=shot.label,
                    captions=list(shot.captions),
                    picture=picture.origin,
                    missing=picture.missing,
                )
                for shot, picture in zip(shown, pictures, strict=True)
            ],
            total_shots=len(shots),
            duration_s=duration,
            image_type=sheet.mime_type,
            image_bytes=len(sheet.data),
        )
        result._image = sheet.data
        return result


def _size_of(path: str) -> int | None:
    """The file's size, or None when it is gone."""
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def _still_running(job: EditJob) -> str:
    started = max(0.0, time.time() - job.created_at)
    latest = f", latest: {job.last_step}" if job.last_step else ""
    sent = "was sent and " if job.phase == "sent" else ""
    return (
        f"The edit {sent}is still running on the server (job {job.job_id}: {job.events} steps so far{latest}; "
        f"started {started:.0f} s ago). It goes on without this call, and nothing needs to be sent again.\n"
        "Next step: call get_job to follow it and get the editor's reply (calling generate_video with the "
        "same instruction also follows it, without sending it twice)."
    )


def _probe_line(job: RenderJob) -> str:
    """The checked file in one line."""
    if job.probe is None:
        return ""
    return f"\nChecked: {job.probe.summary}; start, middle and end stills are with this answer."


RenderResult = TypeVar("RenderResult", ExportResult, JobResult)


def _with_keyframes(result: RenderResult, job: RenderJob) -> RenderResult:
    """The checked file's stills, read from the cache, ride along (not in the JSON); a still gone from the
    cache is left out."""
    stills = []
    for path in job.keyframes if result.probe else []:
        with contextlib.suppress(OSError):
            stills.append(Path(path).read_bytes())
    result._keyframes = stills
    return result


def _credits_fields(
    before: Credits | None, after: Credits | None, *, running: bool = False
) -> tuple[dict[str, Any], str]:
    """The `PaidCall` fields of a result (available before and after), and the two in words."""

    def available(credits: Credits | None) -> float | None:
        return credits.available if credits is not None and credits.needs_credits else None

    fields = PaidCall(credits_before=available(before), credits_after=available(after)).model_dump()
    return fields, spent_note(before, after, running=running)


def _follow_action(job_id: str, reason: str) -> NextAction:
    return NextAction(tool="get_job", reason=reason, arguments={"job_id": job_id})


def _quoted(text: str, limit: int = 80) -> str:
    return f"'{text if len(text) <= limit else text[: limit - 1] + '…'}'"


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds")


def _job_entry(job: EditJob | RenderJob) -> JobEntry:
    """What the jobs resources show of one job."""
    return _edit_entry(job) if isinstance(job, EditJob) else _render_entry(job)


def _job_status(job: EditJob | RenderJob) -> JobStatus:
    if not job.finished:
        return "running"
    if isinstance(job, EditJob):
        return "completed" if job.phase == "completed" else "failed"
    return "completed" if job.status == "completed" else "cancelled" if job.status == "cancelled" else "failed"


def _edit_entry(job: EditJob) -> JobEntry:
    outcome = job.outcome
    return JobEntry(
        job_id=job.job_id,
        kind="edit",
        status=_job_status(job),
        progress=job.events,
        progress_text=job.last_step or "Starting",
        started_at=_iso(job.created_at),
        finished_at=_iso(job.finished_at) if job.finished_at else None,
        read=job.delivered,
        instruction=job.instruction,
        reply=outcome.reply if outcome else None,
        question=outcome.question if outcome else None,
        timeline=outcome.timeline if outcome else None,
        error=f"{job.failure.message} Next step: {job.failure.next_step}" if job.failure else None,
    )


def _render_entry(job: RenderJob) -> JobEntry:
    return JobEntry(
        job_id=job.job_id,
        kind="render",
        status=_job_status(job),
        progress=job.progress,
        progress_text=f"Rendering: {job.status} ({job.progress}%)",
        started_at=_iso(job.created_at),
        finished_at=_iso(job.finished_at) if job.finished_at else None,
        read=job.delivered,
        url=job.url,
        file_path=job.file_path,
        error=job.error if job.status in ("failed", "cancelled") else None,
    )


def _mark(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


MAX_STORYBOARD_SHOTS = 24
"""A contact sheet shows at most this many shots (a 100,000-segment draft still answers at once)."""
_ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}


def _frame_aspect(draft: dict[str, Any]) -> float:
    """The video's width/height from the draft's metadata (the local engine writes it), else 16:9."""
    meta: dict[str, Any] = draft["m"] if isinstance(draft.get("m"), dict) else {}
    width, height = meta.get("width"), meta.get("height")
    if isinstance(width, (int, float)) and isinstance(height, (int, float)) and width > 0 and height > 0:
        return float(width) / float(height)
    return _ASPECTS.get(str(meta.get("aspect") or draft.get("ratio") or ""), 16 / 9)
