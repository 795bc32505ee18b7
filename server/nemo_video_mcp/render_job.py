"""One render job: choose or start it (never twice for one timeline), follow it to the end, fetch the file.

Choosing and starting happen inside the tool call (they are quick, and the call budget bounds
them). Following — polling until the render ends, then downloading a cloud render's file and checking
it — is work the server owns: it runs as a job, so a host that gives up does not stop it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from nemo_video_mcp.backends.base import Backend, RenderIdTakenError, RenderNotFoundError
from nemo_video_mcp.config import Settings
from nemo_video_mcp.draft import draft_fingerprint, is_exportable, timeline_duration_s
from nemo_video_mcp.errors import (
    BackendError,
    BackendRequestError,
    BackendUnavailableError,
    BadResponseError,
    NothingToExportError,
    RenderFailedError,
)
from nemo_video_mcp.models import ProjectState, RenderJob, RenderStatus
from nemo_video_mcp.progress import Reporter, RisingProgress
from nemo_video_mcp.render_jobs import RenderLedger, new_job_id
from nemo_video_mcp.saving import save_video
from nemo_video_mcp.video_probe import BadVideoError, probe_file

log = logging.getLogger(__name__)

MAX_FAILED_POLLS = 5
"""Polls in a row that reach no backend, or bring an unreadable reply, before following stops."""


class RenderRunner:
    """Starts renders under ids the ledger holds first, and follows them."""

    def __init__(self, settings: Settings, backend: Backend, ledger: RenderLedger) -> None:
        self._settings = settings
        self._backend = backend
        self._ledger = ledger

    async def claim(self, session_id: str, reporter: Reporter) -> tuple[RenderJob, bool, bool]:
        """The job for the current timeline: its unfinished render (resumed), its finished render, or a new one.

        Returns (job, resumed, already_rendered). A render of an earlier version of the timeline is
        neither resumed nor returned: the current timeline gets its own.
        """
        backend = self._backend.name
        state = await self._exportable_state()
        fingerprint = draft_fingerprint(state.draft)
        existing = self._ledger.unfinished(backend, session_id, fingerprint)
        if existing is not None:
            await reporter.progress(existing.progress, 100, f"Resuming render {existing.job_id}")
            return existing, True, False
        done = self._ledger.completed_for(backend, session_id, fingerprint)
        if done is not None:  # exporting the same timeline again would only pay twice
            return done, False, True
        job, is_new = await self._ledger.claim(backend, session_id, fingerprint)
        if not is_new:  # another server process sharing this cache started one meanwhile
            return job, True, False
        await reporter.progress(0, 100, "Starting the render")
        return await self._start(job, state.draft), False, False

    async def _start(self, job: RenderJob, draft: dict[str, Any]) -> RenderJob:
        """POST the render under ids the ledger already holds, so a crash at any point resumes, never re-pays."""
        planned = {"planned_duration_s": timeline_duration_s(draft)}  # the finished file is checked against it
        for attempt in range(2):
            try:
                status = await self._backend.start_render(job.job_id, draft)
            except RenderIdTakenError:
                await self._ledger.forget(job.job_id)
                if attempt:
                    raise BackendRequestError("duplicate", "the backend refused two fresh render ids") from None
                job = await self._ledger.begin(new_job_id(), job.backend, job.session_id, job.draft_fingerprint)
                continue
            except (BackendUnavailableError, BadResponseError):
                raise  # the start may have landed: keep the job, so the next call resumes it
            except BackendError:
                await self._ledger.forget(job.job_id)  # refused outright: nothing to resume
                raise
            return await self._ledger.record(job.model_copy(update=planned), status)
        raise AssertionError("unreachable")

    async def _exportable_state(self) -> ProjectState:
        state = await self._backend.get_state()
        if not is_exportable(state.draft):
            raise NothingToExportError()
        return state

    async def follow(self, job: RenderJob, reporter: Reporter, save_to: Path | None = None) -> RenderJob:
        """Poll until the render ends (or the backend's wait limit passes), fetch a cloud render's file, check
        the file on this machine, save a copy of it.

        Every reading is recorded in the ledger; a failed render (or a file that fails its check) raises
        `RenderFailedError`.
        """
        job = await self._poll(job, RisingProgress(reporter, total=100))
        job = await self._fetch(job, reporter)
        job = await self._check(job, reporter)
        if save_to is not None and job.status == "completed":
            job = await self._save(job, save_to, reporter)
        return job

    async def _save(self, job: RenderJob, target: Path, reporter: Reporter) -> RenderJob:
        await reporter.log("info", f"Saving the video to {target}")
        local = Path(job.file_path) if job.file_path else None
        saved = await save_video(self._backend, job.job_id, job.url, target, local_file=local)
        job = job.model_copy(update={"saved_path": str(saved.path), "saved_note": saved.note})
        await self._ledger.save(job)
        return job

    async def read_once(self, job: RenderJob) -> RenderJob:
        """One reading of the job, recorded; when it cannot be read now, the job as the ledger has it."""
        try:
            status = await self._backend.poll_render(job.job_id)
        except (RenderNotFoundError, BackendUnavailableError, BadResponseError):
            return job  # following it (next) restarts a lost job or keeps trying
        return await self._ledger.record(job, status)

    async def _poll(self, job: RenderJob, progress: RisingProgress) -> RenderJob:
        deadline = time.monotonic() + self._backend.max_render_wait
        restarted = False
        unreachable = unreadable = 0
        first = True
        while job.status not in ("completed", "failed", "cancelled"):
            if not first and time.monotonic() > deadline:
                return job
            if not first or job.status != "starting":
                await asyncio.sleep(self._backend.poll_interval)
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
                if unreachable >= MAX_FAILED_POLLS:
                    raise BackendUnavailableError(
                        f"render {job.job_id} could not be checked ({exc.message}); the job is kept "
                        "and a later export_video or get_job call resumes it"
                    ) from exc
                log.warning("render poll failed (%s); will poll again", exc.message)
                continue
            except BadResponseError as exc:
                unreadable += 1
                if unreadable >= MAX_FAILED_POLLS:
                    raise await self._give_up_unreadable(job, exc) from exc
                log.warning(
                    "render %s: unreadable reply %d in a row (%s); polling again", job.job_id, unreadable, exc.message
                )
                continue
            unreachable = unreadable = 0
            job = await self._ledger.record(job, status)
            await progress.report(job.progress, f"Rendering: {job.status} ({job.progress}%)")
        if job.status == "failed":
            raise RenderFailedError(job.job_id, job.error)
        if job.status == "cancelled":
            raise RenderFailedError(job.job_id, "it was cancelled")
        return job

    async def _give_up_unreadable(self, job: RenderJob, last: BadResponseError) -> RenderFailedError:
        """Record the job as failed (so the next export starts afresh instead of resuming it); the error to raise."""
        why = (
            f"{MAX_FAILED_POLLS} status checks in a row brought unreadable replies, so it is no longer followed; "
            f"the last: {last.message.rstrip('.')}"
        )
        log.warning("render %s: %s", job.job_id, why)
        await self._ledger.record(
            job, RenderStatus(job_id=job.job_id, status="failed", progress=job.progress, error=why)
        )
        return RenderFailedError(job.job_id, why)

    async def _fetch(self, job: RenderJob, reporter: Reporter) -> RenderJob:
        """Bring a finished cloud render's file to this machine (a local render is already here), so that it
        is checked before it is a success and a save copies it: through the backend's one bounded download,
        its link first (with the token only where the link needs it), then the contract's own download.

        A download that fails raises (the call gets its next step) and leaves the job completed without a
        file: it reads as processing, and the next get_job or export_video fetches it again.
        """
        if job.status != "completed" or job.file_path:
            return job
        await reporter.log("info", "Downloading the finished video to this machine to check it")
        target = self._settings.output_dir / f"{job.job_id}.mp4"
        path = await self._backend.download_render(job.job_id, job.url, target)
        job = job.model_copy(update={"file_path": str(path)})
        await self._ledger.save(job)
        return job

    async def _check(self, job: RenderJob, reporter: Reporter) -> RenderJob:
        """Probe the finished file on this machine and keep its three stills; a file that fails the probe
        fails the job (with the probe's next step), so it is never returned, resumed or saved as the video."""
        if not job.unchecked or job.file_path is None:
            return job
        from nemo_video_mcp.keyframes import write_keyframes

        await reporter.log("info", "Checking the finished video")
        path = Path(job.file_path)
        try:
            probe = await probe_file(path, job.planned_duration_s)
        except BadVideoError as exc:
            log.warning("render %s: %s", job.job_id, exc.message)
            failed = RenderStatus(job_id=job.job_id, status="failed", progress=job.progress, error=exc.agent_message)
            await self._ledger.record(job, failed)
            raise RenderFailedError(job.job_id, exc.agent_message) from None
        stills = await write_keyframes(
            path,
            await asyncio.to_thread(self._ledger.keyframe_folder, job.job_id),
            duration_s=probe.duration_s,
            fps=probe.fps,
            width=probe.width,
            height=probe.height,
        )
        job = job.model_copy(update={"probe": probe, "keyframes": [str(still) for still in stills]})
        await self._ledger.save(job)
        await asyncio.to_thread(self._ledger.drop_stale_files, self._cache_videos())
        return job

    def _cache_videos(self) -> Path | None:
        """The folder of renders and downloads when it is the cache's own (NEMO_OUTPUT_DIR unset): only there
        are old videos removed; a folder the user chose keeps what is written to it."""
        videos = self._settings.output_dir
        return videos if videos.is_relative_to(self._settings.cache_dir) else None

    async def _restart_lost_job(self, job: RenderJob) -> RenderStatus:
        """A job the backend does not know: its start never landed. Start it under the same id."""
        state = await self._exportable_state()
        if job.draft_fingerprint and draft_fingerprint(state.draft) != job.draft_fingerprint:
            raise RenderFailedError(job.job_id, "its start never reached the backend and the timeline changed since")
        log.info("render %s unknown to the backend; starting it under the same id", job.job_id)
        try:
            return await self._backend.start_render(job.job_id, state.draft)
        except RenderIdTakenError:
            raise RenderFailedError(job.job_id, "its id is held by another render") from None
