"""The ledger of render jobs, persisted before the first poll so a restart resumes instead of paying twice."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import time
import uuid
from pathlib import Path

from nemo_video_mcp.ledger import JobsFile
from nemo_video_mcp.models import RenderJob, RenderStatus
from nemo_video_mcp.store import Store

_DOC = "renders"
log = logging.getLogger(__name__)


def new_job_id() -> str:
    """A fresh client-chosen render id (the contract lets the client choose)."""
    return f"render_{uuid.uuid4().hex}"


_JOB_VIDEO = re.compile(r"render_[0-9a-f]{32}\.mp4")
"""A render's video as this server names it (`<job_id>.mp4`), in the cache's folder of videos."""


class RenderLedger(JobsFile[RenderJob]):
    """Render jobs by id, across backends and sessions, in the cache's `renders.json`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, _DOC, RenderJob)

    def unfinished(self, backend: str, session_id: str, fingerprint: str) -> RenderJob | None:
        """The newest unfinished render of exactly this draft, if any (one of an earlier version is not it)."""
        candidates = [
            job
            for job in self.all()
            if job.backend == backend
            and job.session_id == session_id
            and job.draft_fingerprint == fingerprint
            and job.status in ("starting", "pending", "processing")
        ]
        return max(candidates, key=lambda job: job.created_at, default=None)

    def completed_for(self, backend: str, session_id: str, fingerprint: str) -> RenderJob | None:
        """A finished render of exactly this draft, if one exists."""
        candidates = [
            job
            for job in self.all()
            if job.backend == backend
            and job.session_id == session_id
            and job.status == "completed"
            and job.draft_fingerprint == fingerprint
            and job.url
        ]
        return max(candidates, key=lambda job: job.updated_at, default=None)

    async def begin(self, job_id: str, backend: str, session_id: str, fingerprint: str | None) -> RenderJob:
        """Record a new job before its start request is sent."""
        job = self._new(job_id, backend, session_id, fingerprint)
        await self.save(job)
        return job

    @staticmethod
    def _new(job_id: str, backend: str, session_id: str, fingerprint: str | None) -> RenderJob:
        now = time.time()
        return RenderJob(
            job_id=job_id,
            session_id=session_id,
            backend=backend,
            created_at=now,
            updated_at=now,
            draft_fingerprint=fingerprint,
        )

    async def claim(self, backend: str, session_id: str, fingerprint: str) -> tuple[RenderJob, bool]:
        """Atomically: this draft's unfinished job if another process holds one, else a new job.

        Returns (job, is_new). The check and the write share one lock, so two server processes
        sharing a cache cannot both start a render.
        """

        def check_and_record() -> tuple[RenderJob, bool]:
            existing = self.unfinished(backend, session_id, fingerprint)
            if existing is not None:
                return existing, False
            job = self._new(new_job_id(), backend, session_id, fingerprint)
            self._save_unlocked(job)
            return job, True

        return await self._store.run_locked(check_and_record)

    async def record(self, job: RenderJob, status: RenderStatus) -> RenderJob:
        """Store a new reading of `job` (its id is ours and never changes)."""
        updated = self.stamped(
            job,
            status=status.status,
            progress=status.progress,
            url=status.url or job.url,
            file_path=status.file_path or job.file_path,
            error=status.error,
        )
        await self.save(updated)
        return updated

    async def save(self, job: RenderJob) -> None:
        """Write `job`, taking the cache lock without blocking the event loop."""
        await self._store.run_locked(lambda: self._save_unlocked(job))

    def keyframe_folder(self, job_id: str) -> Path:
        """Where the stills of a render's video are kept: in the cache, owner-only, one folder per job."""
        return self._store.private_folder("keyframes", job_id)

    def drop_stale_files(self, videos: Path | None) -> None:
        """Remove the stills, and the videos in `videos` (the cache's folder of renders and downloads; None
        when the user chose the folder), of jobs the ledger no longer keeps: it drops the oldest ended jobs
        past its size, so the cache holds that many at most. A job is in the ledger before any file of it
        exists, so a job started meanwhile keeps its files."""
        kept = {job.job_id for job in self.all()}
        for folder in self._store.private_folder("keyframes").iterdir():
            if folder.is_dir() and folder.name not in kept and not folder.name.startswith("."):
                shutil.rmtree(folder, ignore_errors=True)
        for video in videos.glob("render_*.mp4") if videos is not None and videos.is_dir() else []:
            if _JOB_VIDEO.fullmatch(video.name) and video.stem not in kept and video.is_file():
                with contextlib.suppress(OSError):
                    video.unlink()

    async def forget(self, job_id: str) -> None:
        await self._store.run_locked(lambda: self._remove_unlocked(job_id))
