"""An edit turn: `POST /run_sse` and its event stream.

The edit is never sent again once it may have started (a cut stream, a gateway error, an unreadable
answer): that is `StreamCutError`, and the caller reads the state instead. Only a refusal before it
started is answered by sending it again: a renewed token, a new session (once each), or the retry
policy's wait after a 429.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx

from nemo_video_mcp.backends import bodies, sse, wire
from nemo_video_mcp.backends.base import StreamCutError
from nemo_video_mcp.backends.cloud.auth import Tokens
from nemo_video_mcp.backends.cloud.calls import AGENT_APP
from nemo_video_mcp.backends.cloud.retry import RetryPolicy, retry_after_s
from nemo_video_mcp.backends.cloud.sessions import Sessions
from nemo_video_mcp.backends.cloud.transport import NetworkFailure, Transport, seconds
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.errors import BackendUnavailableError, BadResponseError
from nemo_video_mcp.models import EditEvent, EditOptions, HeartbeatEvent
from nemo_video_mcp.notices import note

log = logging.getLogger(__name__)

STREAM_READ_TIMEOUT_S = 600.0
"""No byte at all (not even a heartbeat) for this long ends an edit stream: the contract's 10 minutes."""
STREAM_TIMEOUT = httpx.Timeout(30.0, read=STREAM_READ_TIMEOUT_S)

_FITS = {
    "blur": "blurred background behind photos",
    "contain": "black bars around photos",
    "cover": "crop photos to fill the frame",
}


def edit_message(instruction: str, options: EditOptions, music_filename: str | None = None) -> str:
    """The instruction, with explicit options spelled out for the backend's agent.

    `music_filename` is the name the backend gave `options.music_path` once uploaded.
    """
    wishes = []
    if options.duration_s:
        wishes.append(f"total duration {options.duration_s:g} seconds")
    if options.aspect:
        wishes.append(f"aspect ratio {options.aspect}")
    if options.transition:
        wishes.append(f"transitions: {options.transition}")
    if options.motion:
        wishes.append(f"motion: {options.motion}")
    if options.title:
        wishes.append(f'title text "{options.title}"')
    if options.fit:
        wishes.append(_FITS.get(options.fit, f"fit: {options.fit}"))
    if music_filename:
        wishes.append(f"use the uploaded audio {music_filename} as background music")
    return instruction if not wishes else f"{instruction}\n\n(Settings: {'; '.join(wishes)}.)"


class Edits:
    def __init__(
        self, transport: Transport, tokens: Tokens, sessions: Sessions, retry: RetryPolicy, max_reply_bytes: int
    ) -> None:
        self._transport = transport
        self._tokens = tokens
        self._sessions = sessions
        self._retry = retry
        self._max_reply_bytes = max_reply_bytes

    async def run(self, message: str) -> AsyncIterator[EditEvent]:
        """Send `message` as one edit turn and yield its events as they arrive."""
        session_id = await self._sessions.session_id()
        auth = await self._tokens.current()
        retries = self._retry.for_call(idempotent=False)
        recovered: set[Reason] = set()
        while True:
            body = {
                "app_name": AGENT_APP,
                "user_id": "me",
                "session_id": session_id,
                "new_message": {"parts": [{"text": message}]},
            }
            headers = {"Authorization": f"Bearer {auth.token}", "Accept": "text/event-stream"}
            try:
                # The stream belongs to a job the server owns: its own limits apply, not a call's budget.
                async with self._transport.exchange(
                    "POST", "/run_sse", json=body, headers=headers, timeout=STREAM_TIMEOUT, within_budget=False
                ) as response:
                    content_type = response.headers.get("content-type", "")
                    if response.status_code == 200 and "text/event-stream" in content_type:
                        async for event in _events(response):
                            yield event
                        return
                    failure = await self._refusal(response)
                    retry_after = retry_after_s(response.headers)
            except NetworkFailure as exc:
                if not exc.reached:
                    raise BackendUnavailableError(exc.detail) from None
                if exc.silent_for is not None:
                    raise StreamCutError(
                        f"the editor accepted the request but sent nothing for {seconds(exc.silent_for)} s"
                    ) from None
                raise StreamCutError(exc.detail) from None
            if failure.reason in (Reason.UNAVAILABLE, Reason.MALFORMED):
                # A gateway error or an unreadable answer may come after the agent server took the edit.
                raise StreamCutError(f"the edit endpoint answered HTTP {failure.http_status} without a stream")
            # The edit was refused before it started: sending it again cannot charge twice.
            if failure.reason is Reason.RATE_LIMIT:
                if not await retries.after_rate_limit(retry_after):
                    raise retries.rate_limited_again(retry_after)
                continue
            if failure.reason in recovered:
                raise self._tokens.refusal(failure, auth)
            recovered.add(failure.reason)
            if failure.reason is Reason.TOKEN and auth.anonymous:
                auth = await self._tokens.renew(stale=auth.token)  # refused while renewals are paused
            elif failure.reason is Reason.SESSION:
                session_id = await self._sessions.replace(lost=session_id)
            else:
                raise self._tokens.refusal(failure, auth)

    async def _refusal(self, response: httpx.Response) -> ApiFailure:
        """Why `/run_sse` answered with something other than an event stream."""
        try:
            refusal = await bodies.read_text(response, "the edit request", self._max_reply_bytes)
        except BadResponseError as exc:
            return ApiFailure(Reason.MALFORMED, None, response.status_code, exc.message)
        try:
            wire.parse_envelope(response.status_code, refusal)
        except ApiFailure as failure:
            return failure
        return ApiFailure(
            Reason.MALFORMED, None, response.status_code, "the edit endpoint did not answer with an event stream"
        )


async def _events(response: httpx.Response) -> AsyncIterator[EditEvent]:
    """The edit's events; a comment line or an empty `data:` line is a heartbeat.

    A line or event over its cap is skipped, and the agent told how many were; it still counts
    as the editor having said something (the stream was not heartbeats only).
    """
    reader = sse.EventReader()
    saw_reply = False
    try:
        async for item in reader.read(bodies.decoded(response, "the edit request")):
            events = [HeartbeatEvent()] if isinstance(item, sse.Comment) else wire.parse_stream_event(item.data)
            for event in events:
                saw_reply = saw_reply or not isinstance(event, HeartbeatEvent)
                yield event
    except BadResponseError as exc:  # an encoding we cannot read: the edit may have landed all the same
        raise StreamCutError(exc.message) from None
    finally:
        if reader.skipped_lines or reader.skipped_events:
            _note_skipped(reader)
    if not response.num_bytes_downloaded:
        raise StreamCutError("the editor accepted the request but closed the stream without sending anything")
    if not saw_reply and not reader.skipped_events:
        raise StreamCutError("the stream closed with heartbeats only")


def _note_skipped(reader: sse.EventReader) -> None:
    skipped = reader.skipped_events or reader.skipped_lines
    log.warning(
        "edit stream: skipped %d line(s) over %d bytes and %d event(s)",
        reader.skipped_lines,
        reader.max_line_bytes,
        reader.skipped_events,
    )
    note(
        f"The editor sent {skipped} message(s) too large to read (over {reader.max_event_bytes // 1024 // 1024} MB); "
        "they were skipped. Call get_state to see what the edit changed."
    )
