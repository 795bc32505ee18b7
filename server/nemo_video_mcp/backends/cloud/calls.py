"""One authenticated API call with the contract's recoveries, parsed at the edge (`wire.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import httpx

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.cloud.auth import Auth, Tokens
from nemo_video_mcp.backends.cloud.refusals import Endpoint
from nemo_video_mcp.backends.cloud.retry import RetryPolicy, retry_after_s
from nemo_video_mcp.backends.cloud.transport import BudgetUsedUp, NetworkFailure, Reply, Transport
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.errors import BackendUnavailableError

T = TypeVar("T")

AGENT_APP = "nemo_agent"
"""The backend agent's app name, in paths and in the edit request."""

OpenFiles = Callable[[], list[tuple[str, Any]]]
"""Opens the multipart `files` of a request afresh for each send (they are closed after it)."""

UPLOAD_PIECE_BYTES = 1 << 20
"""How much of a multipart body one write sends. httpx reads a file 64 KB at a time, and every write
is a round through the event loop, anyio and httpcore: a 190 MB upload to a loopback sink went at
0.5x curl's speed in 64 KB writes, ~1x in 1 MB ones (bench/upload.py)."""


class Api:
    """Calls the backend: a rejected anonymous token is renewed once; retries follow `retry.py`."""

    def __init__(self, transport: Transport, tokens: Tokens, retry: RetryPolicy) -> None:
        self._transport = transport
        self._tokens = tokens
        self._retry = retry

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: OpenFiles | None = None,
        idempotent: bool = False,
        timeout: httpx.Timeout | None = None,
        endpoint: Endpoint = "other",
        expect: set[Reason] | None = None,
        parse: Callable[[Any], T] | None = None,
    ) -> T:
        """One call; returns the parsed payload.

        Failures whose reason is in `expect` are raised as `ApiFailure` for the caller to handle;
        every other failure becomes a `BackendError` that carries its next step.
        """
        auth = await self._tokens.current()
        retries = self._retry.for_call(idempotent=idempotent)
        renewed = False
        while True:
            try:
                reply = await self._send(method, path, auth, json=json, files=files, timeout=timeout)
            except BudgetUsedUp as exc:
                raise BackendUnavailableError(exc.detail) from None
            except NetworkFailure as exc:
                await retries.after_transient(exc.detail)
                continue
            try:
                payload = wire.parse_envelope(reply.status, reply.body)
                return parse(payload) if parse else payload
            except ApiFailure as failure:
                if expect and failure.reason in expect:
                    raise
                retry_after = retry_after_s(reply.headers)
                if failure.reason is Reason.TOKEN and auth.anonymous and not renewed:
                    renewed = True
                    auth = await self._tokens.renew(stale=auth.token)  # refused while renewals are paused
                elif failure.reason is Reason.RATE_LIMIT:
                    if not await retries.after_rate_limit(retry_after):
                        raise retries.rate_limited_again(retry_after) from None
                elif failure.reason is Reason.UNAVAILABLE and idempotent:
                    await retries.after_transient(f"the backend answered HTTP {failure.http_status}", retry_after)
                else:
                    raise self._tokens.refusal(failure, auth, endpoint) from None

    async def _send(self, method: str, path: str, auth: Auth, *, files: OpenFiles | None, **request: Any) -> Reply:
        opened = files() if files else []
        headers = {"Authorization": f"Bearer {auth.token}"}
        try:
            if opened:
                form_headers, body = _multipart(opened)
                request["content"] = body
                headers.update(form_headers)
            return await self._transport.fetch(method, path, headers=headers, **request)
        finally:
            for _, (_, handle, _) in opened:
                handle.close()


def _multipart(files: list[tuple[str, Any]]) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    """The multipart body httpx makes of `files`, read as it is sent in pieces of at most `UPLOAD_PIECE_BYTES`
    (httpx's own chunks, joined), and its Content-Type (with the boundary) and Content-Length headers."""
    form = httpx.Request("POST", "/", files=files)
    stream = form.stream
    assert isinstance(stream, httpx.SyncByteStream)  # httpx's multipart stream is both sync and async

    async def pieces() -> AsyncIterator[bytes]:
        piece: list[bytes] = []
        size = 0
        for chunk in stream:
            if size + len(chunk) > UPLOAD_PIECE_BYTES and piece:
                yield b"".join(piece)
                piece, size = [], 0
            piece.append(chunk)
            size += len(chunk)
        if piece:
            yield b"".join(piece)

    headers = {name: form.headers[name] for name in ("Content-Type", "Content-Length") if name in form.headers}
    return headers, pieces()
