"""A cache document of jobs by id: read tolerantly, written under the store's lock, bounded in size.

The edit and the render ledgers are both one of these. A job that cannot be read is skipped with a
warning (never a crash); past `keep` entries the oldest *finished* jobs are dropped, so a job still
running is never forgotten.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Generic, TypeVar

from nemo_video_mcp.models import JobRecord
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)
KEEP = 50


J = TypeVar("J", bound=JobRecord)


class JobsFile(Generic[J]):
    """Jobs of one kind (a `JobRecord`) in the cache document `doc`."""

    def __init__(self, store: Store, doc: str, model: type[J], keep: int = KEEP) -> None:
        self._store = store
        self._doc = doc
        self._model = model
        self._keep = keep

    def all(self) -> list[J]:
        readable = []
        for key, raw in self._raw_jobs().items():
            job = self._parse(raw)
            if job is None:
                log.warning("ignoring unreadable job %s in the cache's %s", key, self._doc)
            else:
                readable.append(job)
        return readable

    def get(self, job_id: str) -> J | None:
        raw = self._raw_jobs().get(job_id)
        return self._parse(raw) if raw is not None else None

    def latest(self, backend: str) -> J | None:
        """The newest job of `backend` (every job model names its backend and creation time)."""
        return max((job for job in self.all() if job.backend == backend), key=lambda job: job.created_at, default=None)

    async def mark_delivered(self, job_id: str) -> None:
        """The agent has read this finished job's outcome."""

        def mark() -> None:
            job = self.get(job_id)
            if job is not None and job.finished and not job.delivered:
                self._save_unlocked(job.model_copy(update={"delivered": True}))

        await self._store.run_locked(mark)

    @staticmethod
    def stamped(job: J, **changes: Any) -> J:
        """`job` with `changes`, updated now; the first time it is finished, finished now too."""
        updated = job.model_copy(update={**changes, "updated_at": time.time()})
        if updated.finished and updated.finished_at is None:
            updated = updated.model_copy(update={"finished_at": updated.updated_at})
        return updated

    def _save_unlocked(self, job: J) -> None:
        """Write one job (the caller holds the store's lock)."""
        jobs = self._raw_jobs()
        jobs[job.job_id] = job.model_dump(mode="json")
        if len(jobs) > self._keep:
            droppable = [key for key, raw in jobs.items() if self._ended_or_unreadable(raw)]
            for key in sorted(droppable, key=lambda key: _updated_at(jobs[key]))[: len(jobs) - self._keep]:
                jobs.pop(key)
        self._store.write(self._doc, {"jobs": jobs})

    def _remove_unlocked(self, job_id: str) -> None:
        jobs = self._raw_jobs()
        if jobs.pop(job_id, None) is not None:
            self._store.write(self._doc, {"jobs": jobs})

    def _raw_jobs(self) -> dict[str, Any]:
        jobs = (self._store.read(self._doc) or {}).get("jobs")
        return jobs if isinstance(jobs, dict) else {}

    def _ended_or_unreadable(self, raw: Any) -> bool:
        parsed = self._parse(raw)
        return parsed is None or parsed.finished

    def _parse(self, raw: Any) -> J | None:
        try:
            return self._model.model_validate(raw)
        except ValueError:
            return None


def _updated_at(raw: Any) -> float:
    value = raw.get("updated_at", 0) if isinstance(raw, dict) else 0
    return value if isinstance(value, (int, float)) else 0
