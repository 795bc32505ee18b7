"""One edit job: send the instruction once, read the editor's stream, recover from a cut; never re-send.

This is the one place that sends an edit. Everything that could tempt a second paid edit — a cut
stream, a gateway error after the edit was taken, heartbeats only, a crash of this server — is
answered by reading the project state and comparing it with the fingerprint recorded before the
request went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field

from nemo_video_mcp import notices
from nemo_video_mcp.backends.base import Backend, StreamCutError
from nemo_video_mcp.config import Settings
from nemo_video_mcp.draft import describe_changes, draft_fingerprint, timeline_summary
from nemo_video_mcp.edit_jobs import EditJob, EditLedger, EditOutcome, JobFailure
from nemo_video_mcp.errors import (
    BackendError,
    EditLostError,
    EditUncertainError,
    NemoError,
    NoCreditsError,
)
from nemo_video_mcp.gui import translate_reply
from nemo_video_mcp.models import (
    EditEvent,
    EditOptions,
    HeartbeatEvent,
    ProgressEvent,
    ProjectState,
    QuestionEvent,
    StepEvent,
    StreamErrorEvent,
    TextEvent,
)
from nemo_video_mcp.progress import Reporter
from nemo_video_mcp.running_jobs import stop_task

log = logging.getLogger(__name__)

HEARTBEAT_REPORT_S = 30.0
STREAM_IDLE_LIMIT_S = 600.0
STREAM_TOTAL_LIMIT_S = 900.0
MAX_REPLY_CHARS = 32_000
"""The editor's reply reaches the agent whole up to this length, then cut with a note."""
MAX_ERRORS_KEPT = 10
MAX_ERROR_CHARS = 2_000
LEDGER_SAVE_EVERY_S = 2.0
"""The job's event count reaches the ledger at most this often (other processes read it there)."""

INTERNAL_FAILURE = JobFailure(
    message="The edit job hit an unexpected internal error (details are in the server's log on stderr).",
    next_step="Call get_state to see whether the change is there before calling generate_video again.",
)


@dataclass
class _Turn:
    """What one edit turn said (its text kept to MAX_REPLY_CHARS: it goes to the agent whole)."""

    texts: list[str] = field(default_factory=list)
    partials: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    out_of_credits: bool = False
    question: str | None = None
    """The editor's latest question (a later one replaces it), with the answers it offers."""
    choices: list[str] = field(default_factory=list)
    cut: str | None = None
    texts_cut: int = 0
    partials_cut: int = 0
    texts_chars: int = 0
    partials_chars: int = 0
    """The characters `texts` and `partials` hold, counted as they grow (summing the kept texts on every
    event was 70 % of the server's time on a 50,000-event stream, bench/stream.py)."""

    def add_text(self, text: str, *, partial: bool) -> None:
        room = max(0, MAX_REPLY_CHARS - (self.partials_chars if partial else self.texts_chars))
        cut = max(0, len(text) - room)
        text = text[:room] if cut else text
        if partial:
            self.partials_cut += cut
            self.partials_chars += len(text)
        else:
            self.texts_cut += cut
            self.texts_chars += len(text)
        if text:
            (self.partials if partial else self.texts).append(text)

    def add_error(self, error: StreamErrorEvent) -> None:
        self.out_of_credits = self.out_of_credits or error.reason == "no_credits"
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error.message[:MAX_ERROR_CHARS])

    @property
    def reply(self) -> str:
        text, cut = (
            ("\n\n".join(self.texts), self.texts_cut) if self.texts else ("".join(self.partials), self.partials_cut)
        )
        return f"{text}… ({cut} characters cut)" if cut else text


class _Steps:
    """Counts the job's steps for progress (values only ever grow) and keeps the ledger roughly current."""

    def __init__(self, reporter: Reporter, ledger: EditLedger, job: EditJob) -> None:
        self._reporter = reporter
        self._ledger = ledger
        self.job = job
        self.count = 0
        self.last = ""
        self._saved_at = 0.0

    async def tick(self, message: str) -> None:
        self.count += 1
        self.last = message
        await self._reporter.progress(self.count, None, message)
        if time.monotonic() - self._saved_at >= LEDGER_SAVE_EVERY_S:
            await self.save()

    async def save(self, **changes: object) -> EditJob:
        self._saved_at = time.monotonic()
        self.job = await self._ledger.update(self.job, events=self.count, last_step=self.last, **changes)
        return self.job


class EditRunner:
    """Runs edit jobs over the backend and records each outcome in the ledger."""

    def __init__(self, settings: Settings, backend: Backend, ledger: EditLedger) -> None:
        self._settings = settings
        self._backend = backend
        self._ledger = ledger

    async def run(self, job: EditJob, options: EditOptions, reporter: Reporter) -> EditJob:
        """The whole job: send once, follow, recover; returns the finished ledger entry."""
        steps = _Steps(reporter, self._ledger, job)
        return await self._finish(steps, self._edit(job.instruction, options, steps))

    async def recover(self, job: EditJob, reporter: Reporter) -> EditJob:
        """An edit whose server died while it was in flight: check the state, never re-send."""
        steps = _Steps(reporter, self._ledger, job)
        return await self._finish(steps, self._recover_orphan(job, steps))

    async def _finish(self, steps: _Steps, work: Awaitable[EditOutcome]) -> EditJob:
        """Record how the job ended (its notices too): the ledger is where every later call reads it."""
        with notices.collecting() as gathered:
            try:
                outcome = await work
            except NemoError as exc:
                log.warning("edit job %s failed: %s", steps.job.job_id, exc.message)
                failure = JobFailure(message=exc.message, next_step=exc.next_step, code=exc.code)
                return await steps.save(phase="failed", failure=failure, notices=list(gathered))
            except Exception:
                log.exception("edit job %s crashed", steps.job.job_id)
                return await steps.save(phase="failed", failure=INTERNAL_FAILURE, notices=list(gathered))
            return await steps.save(phase="completed", outcome=outcome, notices=list(gathered))

    # --- a live edit -------------------------------------------------------------------------------

    async def _edit(self, instruction: str, options: EditOptions, steps: _Steps) -> EditOutcome:
        await steps.tick("Reading the project before sending the instruction")
        before = await self._read_state_quietly() or await self._read_state_quietly()
        # Recorded before the request goes out: a crash from here on is recovered, never re-sent.
        await steps.save(phase="sent", before_fingerprint=draft_fingerprint(before.draft) if before else None)
        await steps.tick("Sent the instruction; waiting for the editor")
        turn = await self._run_turn(self._backend.edit(instruction, options), steps)

        recovered = False
        after: ProjectState | None = None
        if turn.cut is not None:
            log.warning("edit stream ended abnormally: %s", turn.cut)
            if before is None:
                raise EditUncertainError(turn.cut)
            after = await self._recover_after_cut(draft_fingerprint(before.draft), steps)
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
        return EditOutcome(
            message=_message(translation.text, changes, timeline, turn, recovered),
            reply=translation.text,
            next_actions=translation.actions,
            question=turn.question,
            choices=turn.choices,
            changes=changes,
            timeline=timeline,
            recovered_after_cut=recovered,
        )

    async def _raise_for_failed_turn(
        self, turn: _Turn, before: ProjectState | None, after: ProjectState | None
    ) -> None:
        """The editor reported errors and no reply: say so, without inviting a second paid edit if one landed."""
        reported = "; ".join(turn.errors)
        if turn.out_of_credits:
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

    async def _run_turn(self, stream: AsyncIterator[EditEvent], steps: _Steps) -> _Turn:
        """Consume one edit stream, reporting progress; enforce the idle and total limits."""
        turn = _Turn()
        scale = self._settings.wait_scale
        started = last_reply = time.monotonic()
        heard: list[str] = []  # "heartbeat" once one came, "reply" once the editor said something

        async def heartbeat_reports(consumer: asyncio.Future[None]) -> None:
            while True:
                await asyncio.sleep(HEARTBEAT_REPORT_S * scale)
                waited = time.monotonic() - last_reply
                if waited > STREAM_IDLE_LIMIT_S * scale:
                    consumer.cancel()
                    return
                if not heard:
                    await steps.tick(f"No answer from the editor yet ({(time.monotonic() - started) / scale:.0f} s)")
                else:
                    await steps.tick(f"The editor is still working ({waited / scale:.0f} s since its last message)")

        async def consume() -> None:
            nonlocal last_reply
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for event in stream:
                    if not isinstance(event, HeartbeatEvent):
                        last_reply = time.monotonic()
                        heard.append("reply")
                    elif not heard:
                        heard.append("heartbeat")
                    await self._take_event(event, turn, steps)

        consumer = asyncio.ensure_future(consume())
        reports = asyncio.ensure_future(heartbeat_reports(consumer))
        try:
            done, _ = await asyncio.wait({consumer}, timeout=STREAM_TOTAL_LIMIT_S * scale)
        finally:
            reports.cancel()
            if not consumer.done():
                await stop_task(consumer)
        idle_minutes = STREAM_IDLE_LIMIT_S / 60
        if not done:
            turn.cut = f"no end after {STREAM_TOTAL_LIMIT_S / 60:.0f} minutes"
        elif consumer.cancelled() and not heard:
            turn.cut = f"the editor sent nothing at all (not even a heartbeat) for {idle_minutes:.0f} minutes"
        elif consumer.cancelled():
            turn.cut = f"only heartbeats for {idle_minutes:.0f} minutes"
        elif isinstance(consumer.exception(), StreamCutError):
            turn.cut = consumer.exception().reason  # type: ignore[union-attr]
        elif consumer.exception() is not None:
            raise consumer.exception()  # type: ignore[misc]
        return turn

    @staticmethod
    async def _take_event(event: EditEvent, turn: _Turn, steps: _Steps) -> None:
        if isinstance(event, TextEvent):
            turn.add_text(event.text, partial=event.partial)
            await steps.tick("The editor replied")
        elif isinstance(event, QuestionEvent):
            turn.question, turn.choices = event.question, event.choices
            await steps.tick("The editor has a question for you")
        elif isinstance(event, StepEvent):
            await steps.tick(f"The editor {'finished' if event.finished else 'is'} {event.label}")
        elif isinstance(event, StreamErrorEvent):
            turn.add_error(event)
            await steps.tick("The editor reported a problem")
        elif isinstance(event, ProgressEvent):
            await steps.tick(event.message)
        elif isinstance(event, HeartbeatEvent):
            await steps.tick("The editor is still working")

    # --- recovery ----------------------------------------------------------------------------------

    async def _recover_after_cut(self, before_print: str | None, steps: _Steps) -> ProjectState:
        """The contract's rule: never re-send; wait, read the state, and see whether the edit landed."""
        delays = self._backend.edit_recovery_delays_s
        for attempt, delay in enumerate(delays, start=1):
            await steps.tick(
                f"The stream was cut; checking the project in {delay:.0f} s "
                f"({attempt}/{len(delays)}). The instruction is not re-sent."
            )
            await asyncio.sleep(delay * self._settings.wait_scale)
            state = await self._read_state_quietly()
            if state is not None and draft_fingerprint(state.draft) != before_print:
                return state
        raise EditLostError(len(delays))

    async def _recover_orphan(self, job: EditJob, steps: _Steps) -> EditOutcome:
        if job.phase == "preparing":
            raise NemoError(
                "The server stopped before this instruction was sent to the editor, so nothing was sent or charged.",
                "Call generate_video again with the instruction.",
            )
        if job.before_fingerprint is None:
            raise EditUncertainError("the server stopped while the edit was in flight")
        log.info("edit %s was in flight when its server stopped; checking the state", job.job_id)
        after = await self._recover_after_cut(job.before_fingerprint, steps)
        timeline = timeline_summary(after.draft)
        return EditOutcome(
            message="The edit sent before the server restarted landed (it was not re-sent).\n"
            f"{timeline}\nNext step: call export_video to render it, or generate_video to change it.",
            timeline=timeline,
            recovered_after_cut=True,
        )

    async def _read_state_quietly(self) -> ProjectState | None:
        try:
            return await self._backend.get_state()
        except BackendError as exc:
            log.warning("could not read the state: %s", exc.message)
            return None


def _message(reply: str, changes: str | None, timeline: str | None, turn: _Turn, recovered: bool) -> str:
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
    if turn.question and turn.question not in reply:
        parts.append(f"The editor asks: {turn.question}")
    if turn.question and turn.choices:
        parts.append("Choices: " + "; ".join(turn.choices))
    if turn.question:
        parts.append("Next step: ask the user, then call generate_video with their answer.")
        return "\n".join(parts)
    if not reply.strip() and timeline is None:
        parts.append("Next step: call get_state to see the timeline (it could not be read just now).")
    elif not reply.strip():
        parts.append("Next step: call export_video to render it, or generate_video to change it.")
    return "\n".join(parts)
