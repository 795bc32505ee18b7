"""The ledger of render jobs, persisted before the first poll so a restart resumes instead of paying twice."""

from __future__ import annotations

import time

from nemo_video_mcp.models import RenderJob, RenderStatus
from nemo_video_mcp.store import Store

_DOC = "renders"
_KEEP = 50


class RenderLedger:
    """Render jobs by id, across backends and sessions, in the cache's `renders.json`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def all(self) -> list[RenderJob]:
        jobs = (self._store.read(_DOC) or {}).get("jobs", {})
        return [RenderJob.model_validate(job) for job in jobs.values()] if isinstance(jobs, dict) else []

    def get(self, job_id: str) -> RenderJob | None:
        return next((job for job in self.all() if job.job_id == job_id), None)

    def unfinished(self, backend: str, session_id: str) -> RenderJob | None:
        """The newest job of this session that has not finished, if any."""
        candidates = [
            job
            for job in self.all()
            if job.backend == backend
            and job.session_id == session_id
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

    def begin(self, job_id: str, backend: str, session_id: str, fingerprint: str) -> RenderJob:
        now = time.time()
        job = RenderJob(
            job_id=job_id,
            session_id=session_id,
            backend=backend,
            created_at=now,
            updated_at=now,
            draft_fingerprint=fingerprint,
        )
        self.save(job)
        return job

    def record(self, job: RenderJob, status: RenderStatus) -> RenderJob:
        """Store a new reading of `job` (and follow a changed job id)."""
        updated = job.model_copy(
            update={
                "job_id": status.job_id,
                "status": status.status,
                "progress": status.progress,
                "url": status.url or job.url,
                "error": status.error,
                "updated_at": time.time(),
            }
        )
        if updated.job_id != job.job_id:
            self.forget(job.job_id)
        self.save(updated)
        return updated

    def save(self, job: RenderJob) -> None:
        with self._store.locked():
            doc = self._store.read(_DOC) or {}
            jobs = doc.get("jobs") if isinstance(doc.get("jobs"), dict) else {}
            jobs[job.job_id] = job.model_dump(mode="json")
            if len(jobs) > _KEEP:
                oldest = sorted(jobs, key=lambda key: jobs[key].get("updated_at", 0))
                for key in oldest[: len(jobs) - _KEEP]:
                    jobs.pop(key)
            self._store.write(_DOC, {"jobs": jobs})

    def forget(self, job_id: str) -> None:
        with self._store.locked():
            doc = self._store.read(_DOC) or {}
            jobs = doc.get("jobs") if isinstance(doc.get("jobs"), dict) else {}
            if jobs.pop(job_id, None) is not None:
                self._store.write(_DOC, {"jobs": jobs})
