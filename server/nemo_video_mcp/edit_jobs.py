"""The ledger of edit jobs: every instruction sent to the editor, written *before* it is sent.

An edit cannot be unsent and costs credits, so the ledger is what stands between a host that gave
up (or a crash) and a second paid edit: a repeated wish finds its job here, and a server that starts
after a crash finds the edit that was in flight, with the state fingerprint from before it, and
checks the state instead of sending it again. Written atomically under the store's lock, in the
cache's `edits.json`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from nemo_video_mcp.gui import NextAction
from nemo_video_mcp.lease import Lease, my_lease
from nemo_video_mcp.ledger import JobsFile
from nemo_video_mcp.models import Credits, EditOptions, JobRecord
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)

_DOC = "edits"

EditPhase = Literal["preparing", "sent", "completed", "failed"]
"""preparing: recorded, nothing sent yet; sent: the request to the editor went (or is going) out."""


class EditOutcome(BaseModel):
    """What an edit turn came to, as the agent is to read it."""

    message: str
    reply: str = ""
    next_actions: list[NextAction] = Field(default_factory=list)
    question: str | None = None
    choices: list[str] = Field(default_factory=list)
    changes: str | None = None
    timeline: str | None = None
    recovered_after_cut: bool = False


class JobFailure(BaseModel):
    """Why a job failed: the error's own text and its next step, kept for the agent."""

    message: str
    next_step: str
    code: int | str | None = None


class EditJob(JobRecord):
    instruction: str
    wish: str = Field(description="Fingerprint of the normalised instruction and its options.")
    phase: EditPhase = "preparing"
    owner: Lease
    before_fingerprint: str | None = None
    events: int = 0
    last_step: str = ""
    outcome: EditOutcome | None = None
    failure: JobFailure | None = None
    notices: list[str] = Field(default_factory=list, description="What the agent must be told besides the outcome.")
    credits_before: Credits | None = Field(None, description="The balance read just before it was recorded.")

    @property
    def finished(self) -> bool:
        return self.phase in ("completed", "failed")

    @property
    def orphaned(self) -> bool:
        """Unfinished, and the process that owned it is gone."""
        return not self.finished and not self.owner.is_alive()


def wish_of(instruction: str, options: EditOptions) -> str:
    """Two calls with this equal ask for the same edit: whitespace and case do not matter."""
    words = " ".join(instruction.split()).casefold()
    chosen = json.dumps(options.model_dump(exclude_none=True), sort_keys=True)
    return hashlib.sha256(f"{words}\n{chosen}".encode()).hexdigest()[:32]


def new_edit_id() -> str:
    return f"edit_{uuid.uuid4().hex[:20]}"


class EditLedger(JobsFile[EditJob]):
    """Edit jobs by id, in the cache's `edits.json`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, _DOC, EditJob)

    def recorded_for(self, backend: str, session_id: str, wish: str) -> tuple[EditJob, EditJob | None] | None:
        """The edit a claim of `wish` would get instead of a new one, as (job, busy); None: it would send a new one.

        - the unfinished edit of this project with the same wish, or its finished outcome that never
          reached the agent: (that job, None);
        - an unfinished edit with another wish: (that job, that job) — the caller refuses.
        """
        mine = [job for job in self.all() if job.backend == backend and job.session_id == session_id]
        running = [job for job in mine if not job.finished]
        if running:
            job = max(running, key=lambda job: job.created_at)
            return job, None if job.wish == wish else job
        undelivered = [job for job in mine if job.finished and not job.delivered and job.wish == wish]
        if undelivered:
            return max(undelivered, key=lambda job: job.created_at), None
        return None

    async def claim(
        self, backend: str, session_id: str, instruction: str, wish: str, credits_before: Credits | None = None
    ) -> tuple[EditJob, bool, EditJob | None]:
        """Atomically decide what a `generate_video` call gets. Returns (job, is_new, busy): an edit
        already recorded (`recorded_for`), or a new job, recorded before anything is sent: (job, True, None).
        """

        def decide() -> tuple[EditJob, bool, EditJob | None]:
            recorded = self.recorded_for(backend, session_id, wish)
            if recorded is not None:
                return recorded[0], False, recorded[1]
            now = time.time()
            job = EditJob(
                job_id=new_edit_id(),
                backend=backend,
                session_id=session_id,
                instruction=instruction,
                wish=wish,
                owner=my_lease(),
                created_at=now,
                updated_at=now,
                credits_before=credits_before,
            )
            self._save_unlocked(job)
            return job, True, None

        return await self._store.run_locked(decide)

    async def adopt(self, job_id: str) -> EditJob | None:
        """Take over an orphaned job (its owner died); None if it is not orphaned (any more)."""

        def take_over() -> EditJob | None:
            job = self.get(job_id)
            if job is None or not job.orphaned:
                return None
            job = job.model_copy(update={"owner": my_lease(), "updated_at": time.time()})
            self._save_unlocked(job)
            return job

        return await self._store.run_locked(take_over)

    async def update(self, job: EditJob, **changes: Any) -> EditJob:
        updated = self.stamped(job, **changes)
        await self._store.run_locked(lambda: self._save_unlocked(updated))
        return updated
