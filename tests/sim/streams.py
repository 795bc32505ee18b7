"""The bytes of a `/run_sse` stream: event shapes, heartbeat forms, line endings and stream faults.

Bytes are built by hand (not by an SSE library) so that every framing variant is exact on the wire.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from tests.sim import hostile
from tests.sim.config import SimConfig
from tests.sim.edits import EditPlan, ToolStep
from tests.sim.errors import StreamCut
from tests.sim.world import Session, User, World

AUTHOR = "nemo_agent"


class Framer:
    """SSE framing: one `data:` line per event, a blank line after it, LF or CRLF."""

    def __init__(self, config: SimConfig) -> None:
        self.eol = b"\r\n" if config.line_ending == "crlf" else b"\n"
        self.heartbeat_form = config.heartbeat

    def data(self, event: dict[str, Any]) -> bytes:
        return self.raw(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())

    def raw(self, payload: bytes) -> bytes:
        """A `data:` line of JSON text written by hand (e.g. nested deeper than json.dumps can write)."""
        return b"data: " + payload + self.eol + self.eol

    def raw_pieces(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        """One `data:` line sent in pieces, so that a huge line is never whole in memory."""
        yield b"data: "
        yield from pieces
        yield self.eol + self.eol

    def heartbeat(self) -> bytes:
        if self.heartbeat_form == "comment":
            return b": ping" + self.eol + self.eol
        if self.heartbeat_form == "empty_data":
            return b"data:" + self.eol + self.eol
        return self.data({"type": "heartbeat"})


class EventBuilder:
    """Event JSON in the ADK shape (camelCase, `content.parts`) or the typed shape (`{"type": ...}`)."""

    def __init__(self, config: SimConfig) -> None:
        self.adk = config.event_shape == "adk"
        self.partial_text = config.partial_text
        self.invocation_id = f"e-{uuid.uuid4()}"

    def _adk(self, parts: list[dict[str, Any]], role: str = "model", **extra: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "content": {"parts": parts, "role": role},
            "invocationId": self.invocation_id,
            "author": AUTHOR,
            "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
            "id": uuid.uuid4().hex[:8],
            "timestamp": time.time(),
        }
        event.update(extra)
        return event

    def thought(self, text: str) -> list[dict[str, Any]]:
        return [self._adk([{"text": text, "thought": True}])] if self.adk else []

    def call(self, step: ToolStep, call_id: str) -> dict[str, Any]:
        if not self.adk:
            return {"type": "tool_call", "id": call_id, "name": step.name, "args": step.args}
        part = {"functionCall": {"id": call_id, "name": step.name, "args": step.args}}
        extra = {"longRunningToolIds": [call_id]} if step.long_running else {}
        return self._adk([part], usageMetadata={"promptTokenCount": 812, "candidatesTokenCount": 41}, **extra)

    def result(self, step: ToolStep, call_id: str, draft_rev: int, last: bool) -> dict[str, Any]:
        if not self.adk:
            return {"type": "tool_result", "id": call_id, "name": step.name, "result": step.response}
        part = {"functionResponse": {"id": call_id, "name": step.name, "response": step.response}}
        event = self._adk([part], role="user")
        event["actions"]["stateDelta"] = {"draft_rev": draft_rev}
        if last:
            event["turnComplete"] = True
        return event

    def text(self, text: str) -> list[dict[str, Any]]:
        if not self.adk:
            return [{"type": "text", "content": text}]
        events = []
        if self.partial_text:
            words = text.split(" ")
            third = max(1, len(words) // 3)
            for start in range(0, len(words), third):
                chunk = " ".join(words[start : start + third]) + (" " if start + third < len(words) else "")
                events.append(self._adk([{"text": chunk}], partial=True))
        events.append(self._adk([{"text": text}], turnComplete=True))
        return events


async def edit_turn(
    world: World, user: User, session: Session, plan: EditPlan, cost: float, reply: str
) -> AsyncIterator[bytes]:
    """One edit turn, ending with `reply` (none if empty). The edit is applied just before the last
    tool result, as the real agent's tools write the draft; if the client goes away the work still
    finishes, like on a real server."""
    config = world.config.model_copy()
    framer, events = Framer(config), EventBuilder(config)
    applied = lost = False

    def apply() -> None:
        nonlocal applied
        if not applied:
            applied = True
            world.apply_edit(user, session, plan, cost)

    async def paced(event: dict[str, Any]) -> bytes:
        await asyncio.sleep(config.event_delay_s)
        return framer.data(event)

    try:
        for event in events.thought(plan.thought):
            yield await paced(event)
        for index, step in enumerate(plan.steps):
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            yield await paced(events.call(step, call_id))
            for _ in range(config.heartbeats_per_gap):
                await asyncio.sleep(config.heartbeat_interval_s)
                yield framer.heartbeat()
            if index == 0 and config.stream_error:
                lost = True
                world.refund_edit(user, cost)
                yield await paced({"error": config.stream_error})
                return
            if index == 0 and config.cut_stream_before_apply:
                lost = True
                if config.late_apply_s:
                    asyncio.get_running_loop().call_later(config.late_apply_s, apply)
                else:
                    world.refund_edit(user, cost)
                raise StreamCut("cut before the edit was applied")
            last_step = index == len(plan.steps) - 1
            if last_step:
                apply()
            yield await paced(events.result(step, call_id, session.edits_applied, last_step and not reply))
        if config.cut_stream:
            raise StreamCut("cut after the edit was applied")
        if config.deep_json == "sse":
            yield framer.raw(hostile.deep_event(config.deep_json_depth))
        if reply and config.sse_huge_line_mb:
            for piece in framer.raw_pieces(hostile.huge_text_event(int(config.sse_huge_line_mb * hostile.MB))):
                yield piece
        elif reply:
            for event in events.text(reply):
                yield await paced(event)
    finally:
        if not lost:
            apply()


async def heartbeats_only(config: SimConfig, seconds: float) -> AsyncIterator[bytes]:
    """Heartbeats and nothing else for `seconds`, then a clean close: the turn timed out."""
    framer = Framer(config)
    interval = max(config.heartbeat_interval_s, 0.005)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(interval, left))
        yield framer.heartbeat()
