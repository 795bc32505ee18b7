"""One HTTP exchange within the call budget, and what a failed one actually did.

Inside a tool call every wait of a request fits in what the budget (`budget.py`) still allows; a
network failure says what happened (no connection, no answer, an answer cut short) and names only
the host, never a bare "timed out".
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from nemo_video_mcp import budget
from nemo_video_mcp.backends import bodies

DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=60.0)
BUDGET_MARGIN_S = 0.75
"""Kept back from the call budget, so that the service can still build its answer after a failure."""
MIN_ATTEMPT_S = 0.25
"""Less budget than this left for a request (after any back-off) and it is not sent at all."""
EXCHANGE_LIMIT_S = 300.0
"""Outside a tool call (in a job), one request and its answer end after this long, even if bytes keep trickling."""


class NetworkFailure(Exception):
    """A request that brought back no usable answer. `detail` says what happened, naming only the host.

    `reached`: the request may have reached the backend (so its effect may have happened).
    `silent_for`: set when the backend sent not a single byte before the wait ran out.
    """

    def __init__(self, detail: str, *, reached: bool = True, silent_for: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reached = reached
        self.silent_for = silent_for


class BudgetUsedUp(NetworkFailure):
    def __init__(self) -> None:
        super().__init__("the request was not sent: the call budget (NEMO_CALL_BUDGET_S) was used up", reached=False)


@dataclass(frozen=True)
class Reply:
    """A reply read in full: what `wire.parse_envelope` needs, and the headers a retry reads."""

    status: int
    body: str
    headers: httpx.Headers


class Transport:
    """The HTTP client, used one bounded exchange at a time."""

    def __init__(self, http: httpx.AsyncClient, max_reply_bytes: int) -> None:
        self.http = http
        self.max_reply_bytes = max_reply_bytes

    @contextlib.asynccontextmanager
    async def exchange(
        self,
        method: str,
        url: str,
        *,
        timeout: httpx.Timeout | None = None,
        within_budget: bool = True,
        limit_s: float | None = EXCHANGE_LIMIT_S,
        **request: Any,
    ) -> AsyncIterator[httpx.Response]:
        """One HTTP request whose every wait fits in the call budget (if `within_budget` and inside a call).

        Connect, read, write and pool timeouts are shortened to what the budget still allows, and the
        whole exchange (the caller's reading of the body included) ends when that time is up. Outside
        a call it ends after `limit_s` (None: only the per-phase timeouts apply, as for an edit stream).
        A network failure, or the time running out, comes out as `NetworkFailure` saying what happened.
        """
        budget_left = time_for_requests() if within_budget else None
        if budget_left is not None and budget_left < MIN_ATTEMPT_S:
            raise BudgetUsedUp()
        limit = budget_left if budget_left is not None else (limit_s if within_budget else None)
        attempt = _Attempt(self.http.base_url.join(url).host, limit_is_budget=budget_left is not None)
        timeouts = _shortened(timeout or self.http.timeout, budget_left)
        try:
            with anyio.fail_after(limit) if limit is not None else contextlib.nullcontext():
                async with self.http.stream(
                    method, url, timeout=timeouts, extensions={"trace": attempt.trace}, **request
                ) as response:
                    attempt.response = response
                    yield response
        except (httpx.TransportError, TimeoutError) as exc:
            raise attempt.failure(exc, timeouts) from None

    async def fetch(self, method: str, url: str, **request: Any) -> Reply:
        """One request read in full (within `max_reply_bytes`)."""
        async with self.exchange(method, url, **request) as response:
            body = await bodies.read_text(response, _reply_name(url), self.max_reply_bytes)
            return Reply(response.status_code, body, response.headers)


@dataclass
class _Attempt:
    """How far one request got before it failed, so that the message says what actually happened."""

    host: str
    limit_is_budget: bool = True
    """Whether the exchange's own deadline is the call budget (else the job's `EXCHANGE_LIMIT_S`)."""
    started: float = field(default_factory=time.monotonic)
    connected: bool = False
    response: httpx.Response | None = None

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete" or event.startswith(("http11.", "http2.")):
            self.connected = True

    def failure(self, exc: Exception, timeouts: httpx.Timeout) -> NetworkFailure:
        waited = time.monotonic() - self.started
        budget_ran_out = isinstance(exc, TimeoutError)  # the exchange's own deadline, not one of httpx's timeouts
        timed_out = budget_ran_out or isinstance(exc, httpx.TimeoutException)
        host = self.host
        if self.response is not None:
            received = self.response.num_bytes_downloaded
            if budget_ran_out and not self.limit_is_budget:
                how = f"it was still coming after {seconds(waited)} s"
            elif budget_ran_out:
                how = f"the call budget ran out after {seconds(waited)} s"
            elif timed_out:
                how = f"nothing more came for {seconds(timeouts.read or waited)} s"
            else:
                how = f"the connection closed, {type(exc).__name__}"
            silent = waited if timed_out and not received else None
            return NetworkFailure(
                f"the answer from {host} stopped mid-way after {received} bytes ({how})", silent_for=silent
            )
        if isinstance(exc, httpx.ConnectError):
            return NetworkFailure(f"could not connect to {host} ({_connect_problem(exc)})", reached=False)
        if isinstance(exc, httpx.ConnectTimeout) or (budget_ran_out and not self.connected):
            return NetworkFailure(f"could not connect to {host} within {seconds(waited)} s", reached=False)
        if isinstance(exc, httpx.PoolTimeout):
            return NetworkFailure(f"no free connection to {host} within {seconds(waited)} s", reached=False)
        if isinstance(exc, httpx.WriteTimeout):
            return NetworkFailure(
                f"connected to {host}, but the request could not be sent in full within {seconds(waited)} s"
            )
        if timed_out:  # a read timeout names its limit (what was waited for); a deadline, the time it took
            limit = timeouts.read if isinstance(exc, httpx.ReadTimeout) and timeouts.read else waited
            return NetworkFailure(
                f"connected to {host}, but the backend sent no answer within {seconds(limit)} s (no byte received)",
                silent_for=waited,
            )
        if isinstance(exc, (httpx.ProtocolError, httpx.ReadError, httpx.WriteError)):
            return NetworkFailure(f"connected to {host}, but it closed the connection without an answer")
        return NetworkFailure(f"network error talking to {host} ({type(exc).__name__})")


def time_for_requests() -> float | None:
    """Seconds the requests of this call may still take (the budget less a margin), or None outside a call."""
    left = budget.remaining()
    return None if left is None else left - BUDGET_MARGIN_S


def seconds(value: float) -> str:
    """A duration for a message: one decimal under 10 s, whole seconds above."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


_REPLY_NAMES = (
    ("/api/state/", "the state request"),
    ("/api/credits/", "the credits request"),
    ("/api/upload-video/", "the upload"),
    ("/api/render/proxy/", "the render request"),
    ("/api/tasks/", "the session request"),
    ("/api/auth/anonymous-token", "the anonymous-token request"),
    ("/api/auth/claim-token", "the project-link request"),
)


def _reply_name(url: str) -> str:
    """Which request a reply answers, in error messages."""
    return next((name for part, name in _REPLY_NAMES if part in url), "a request")


def _shortened(timeout: httpx.Timeout, limit: float | None) -> httpx.Timeout:
    """`timeout` with each of its phases cut to `limit` seconds (None: unchanged)."""
    if limit is None:
        return timeout

    def cut(phase: float | None) -> float:
        return limit if phase is None else min(phase, limit)

    return httpx.Timeout(
        connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write), pool=cut(timeout.pool)
    )


def _connect_problem(exc: BaseException) -> str:
    """Why no connection could be made, from the OS error under httpx's."""
    cause: BaseException | None = exc
    for _ in range(10):
        if cause is None:
            break
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "the host name could not be resolved"
        cause = cause.__cause__ or cause.__context__
    return "no connection could be made"
