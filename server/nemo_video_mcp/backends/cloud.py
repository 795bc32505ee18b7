"""The NemoVideo cloud backend: HTTP + SSE over httpx, token and session kept in the cache.

Recoveries that the agent never needs to see happen here: a rejected anonymous token is
renewed once, a lost session is replaced once (and the agent is told the timeline restarted),
a 429 is retried once after 30 s, and idempotent reads retry network errors and 5xx.
Inside a tool call every request, retry and wait fits in the call budget (`budget.py`); a
network failure is reported as what actually happened (no connection, no answer, an answer cut
short), never as a bare "timed out".
Token and session live in memory first and are written through to the cache, so a full or
read-only disk costs a notice, not a second anonymous token.
Every body is read within bounds (`bodies.py`, `sse.py`): a reply that is too large, never ends,
or inflates to gigabytes is stopped at its cap; nothing it holds is trusted (`wire.py`). A backend
that rejects even a freshly issued token is not asked for another for `TOKEN_REFUSAL_PAUSE_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import anyio
import httpx

from nemo_video_mcp import __version__, budget
from nemo_video_mcp.attribution import skill_headers
from nemo_video_mcp.backends import bodies, sse, wire
from nemo_video_mcp.backends.base import RenderIdTakenError, RenderNotFoundError, StreamCutError
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.config import BackendName, Settings
from nemo_video_mcp.errors import (
    AnonymousTokenLimitError,
    BackendError,
    BackendFileTooLargeError,
    BackendRequestError,
    BackendUnavailableError,
    BackendUnsupportedFileError,
    BadResponseError,
    ExportBlockedError,
    LockBusyError,
    MissingClientIdError,
    NoCreditsError,
    RateLimitedError,
    SessionLostError,
    TokenRejectedError,
    TokenRenewalRefusedError,
)
from nemo_video_mcp.media import upload_name
from nemo_video_mcp.models import (
    Credits,
    EditEvent,
    EditOptions,
    HeartbeatEvent,
    MediaFile,
    ProjectLink,
    ProjectState,
    RenderStatus,
    UploadedFile,
)
from nemo_video_mcp.notices import note
from nemo_video_mcp.redact import register_secret
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

AGENT_APP = "nemo_agent"
RATE_LIMIT_WAIT_S = 30.0
TRANSIENT_RETRIES = 3
STREAM_READ_TIMEOUT_S = 600.0
"""No byte at all (not even a heartbeat) for this long ends an edit stream: the contract's 10 minutes."""
DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=60.0)
UPLOAD_TIMEOUT = httpx.Timeout(30.0, read=300.0, write=300.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=120.0)
STREAM_TIMEOUT = httpx.Timeout(30.0, read=STREAM_READ_TIMEOUT_S)
BUDGET_MARGIN_S = 0.75
"""Kept back from the call budget, so that the service can still build its answer after a failure."""
MIN_ATTEMPT_S = 0.25
"""Less budget than this left for a request (after any back-off) and it is not sent at all."""
NO_RETRY_FITS = "a retry did not fit in what was left of the call budget, NEMO_CALL_BUDGET_S"
EXCHANGE_LIMIT_S = 300.0
"""Outside a tool call (in a job), one request and its answer end after this long, even if bytes keep trickling."""
DOWNLOAD_LIMIT_S = 3600.0
LOCK_WAIT_S = 120.0
"""The longest wait for the token or session lock; inside a call, what its budget still allows."""
TOKEN_REFUSAL_PAUSE_S = 600.0
"""After a freshly issued token was rejected too, no new token is requested for this long (in this process)."""

Endpoint = Literal["token", "render", "other"]
"""Which family a call belongs to: codes 400 and 402 mean different things on each."""


@dataclass(frozen=True)
class _Auth:
    token: str = field(repr=False)
    anonymous: bool
    user_id: str | None = None


class CloudBackend:
    """Speaks the NemoVideo backend as `docs/backend.md` describes it."""

    name: BackendName = "cloud"
    edit_recovery_delays_s: tuple[float, ...] = (30.0, 60.0, 60.0, 60.0, 60.0)
    """The contract's schedule after a cut stream: read the state after 30 s, then every 60 s (5 reads)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_reply_bytes: int = bodies.MAX_JSON_BYTES,
    ) -> None:
        self._settings = settings
        self._root_store = store
        self._store = store.profile(f"cloud {settings.api_base}")
        self.poll_interval = settings.poll_interval
        self.max_render_wait = max(300.0, 30 * settings.poll_interval)
        headers = skill_headers(settings.skill_source) | {
            "User-Agent": f"nemo-video-mcp/{__version__}",
            "Accept-Encoding": bodies.ACCEPT_ENCODING,  # only what `bodies` decodes within bounds
        }
        self._http = httpx.AsyncClient(
            base_url=settings.api_base,
            headers=headers,
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )
        self._max_reply_bytes = max_reply_bytes
        self._auth: _Auth | None = None
        self._session: str | None = None
        self._auth_lock = asyncio.Lock()
        self._session_lock = asyncio.Lock()
        self._renewal_refused_at: float | None = None
        if settings.token is not None:
            register_secret(settings.token.get_secret_value())

    # --- Backend protocol ----------------------------------------------------------------------

    async def session_id(self) -> str:
        if self._session is None:
            self._session = self._stored_session_id()
        if self._session is not None:
            return self._session
        async with self._holding(self._session_lock, "session"):
            self._session = self._stored_session_id() or await self._create_session()
            return self._session

    async def upload(self, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        async def send(session_id: str) -> tuple[str, list[UploadedFile]]:
            return session_id, await self._send_uploads(session_id, files, urls)

        session_id, uploaded = await self._in_session(send)
        await self._record_uploads(session_id, uploaded)
        return uploaded

    async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        message = await self._message_text(instruction, options)
        session_id = await self.session_id()
        auth = await self._current_auth()
        retried: set[Reason] = set()
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
                async with self._exchange(
                    "POST", "/run_sse", json=body, headers=headers, timeout=STREAM_TIMEOUT, within_budget=False
                ) as response:
                    content_type = response.headers.get("content-type", "")
                    if response.status_code == 200 and "text/event-stream" in content_type:
                        async for event in self._read_stream(response):
                            yield event
                        return
                    try:
                        refusal = await bodies.read_text(response, "the edit request", self._max_reply_bytes)
                        failure = _stream_refusal(response.status_code, refusal)
                    except BadResponseError as exc:
                        failure = ApiFailure(Reason.MALFORMED, None, response.status_code, exc.message)
            except _NetworkFailure as exc:
                if not exc.reached:
                    raise BackendUnavailableError(exc.detail) from None
                if exc.silent_for is not None:
                    raise StreamCutError(
                        f"the editor accepted the request but sent nothing for {_seconds(exc.silent_for)} s"
                    ) from None
                raise StreamCutError(exc.detail) from None
            if failure.reason in (Reason.UNAVAILABLE, Reason.MALFORMED):
                # A gateway error or an unreadable answer may come after the agent server took the edit.
                raise StreamCutError(f"the edit endpoint answered HTTP {failure.http_status} without a stream")
            # The edit was refused before it started: a retry cannot charge twice.
            if failure.reason in retried:
                raise self._domain_error(failure, auth)
            retried.add(failure.reason)
            if failure.reason is Reason.TOKEN and auth.anonymous:
                auth = await self._renew_token(stale=auth.token)  # refused while renewals are paused
            elif failure.reason is Reason.SESSION:
                session_id = await self._replace_session(lost=session_id)
            elif failure.reason is Reason.RATE_LIMIT:
                if not await self._wait_to_retry(RATE_LIMIT_WAIT_S):
                    raise RateLimitedError(retried=False)
            else:
                raise self._domain_error(failure, auth)

    async def get_state(self) -> ProjectState:
        async def read(session_id: str) -> ProjectState:
            return await self._call(
                "GET",
                f"/api/state/{AGENT_APP}/me/{session_id}/latest",
                idempotent=True,
                parse=lambda data: wire.parse_state(data, session_id),
            )

        return await self._in_session(read)

    async def get_credits(self) -> Credits:
        balance = await self._call("GET", "/api/credits/balance/simple", idempotent=True, parse=wire.parse_balance)
        auth = await self._current_auth()
        return Credits(
            available=balance.available,
            frozen=balance.frozen,
            total=balance.total,
            anonymous=auth.anonymous,
            register_url=self._register_url(auth),
        )

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        async def start(session_id: str) -> RenderStatus:
            body = {
                "id": job_id,
                "sessionId": session_id,
                "draft": draft,
                "output": {"format": "mp4", "quality": "high"},
            }
            try:
                return await self._call(
                    "POST",
                    "/api/render/proxy/lambda",
                    json=body,
                    idempotent=True,  # the id is ours: a repeated start is refused as a duplicate
                    endpoint="render",
                    expect={Reason.DUPLICATE},
                    parse=lambda payload: wire.parse_render_status(payload, job_id),
                )
            except ApiFailure:
                # Our own earlier attempt may have landed (ids are random): never start it twice.
                try:
                    return await self.poll_render(job_id)
                except RenderNotFoundError:
                    raise RenderIdTakenError(job_id) from None

        return await self._in_session(start)

    async def poll_render(self, job_id: str) -> RenderStatus:
        try:
            return await self._call(
                "GET",
                f"/api/render/proxy/lambda/{job_id}",
                idempotent=True,
                endpoint="render",
                expect={Reason.NOT_FOUND},
                parse=lambda payload: wire.parse_render_status(payload, job_id),
            )
        except ApiFailure:
            raise RenderNotFoundError(job_id) from None

    async def cancel_render(self, job_id: str) -> None:
        with contextlib.suppress(ApiFailure):
            await self._call(
                "POST",
                f"/api/render/proxy/lambda/{job_id}/cancel",
                idempotent=True,
                endpoint="render",
                expect={Reason.NOT_FOUND},
            )

    async def project_link(self) -> ProjectLink:
        """Anonymous: a claim link (never the token) to attach the project to an account; else the workspace."""
        auth = await self._current_auth()
        if not auth.anonymous:
            return ProjectLink(kind="workspace", url=f"{self._settings.web_base}/workspace")
        session_id = await self.session_id()
        task_id = (self._store.read("session") or {}).get("task_id")
        grant = await self._call(
            "POST",
            "/api/auth/claim-token",
            json={"task_id": task_id, "session_id": session_id},
            parse=wire.parse_claim,
        )
        expires = time.time() + grant.expires_in_s if grant.expires_in_s else None
        url = f"{self._settings.web_base}/workspace/claim?ct={quote(grant.claim_token, safe='')}"
        return ProjectLink(kind="claim", url=url, expires_at=expires)

    def url_needs_auth(self, url: str) -> bool:
        """Only the API's own paths want the Bearer token; a CDN link (even on the same host) is open."""
        return url.startswith(self._settings.api_base + "/api/")

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        """Fetch the video: its URL first, then the contract's Bearer-protected download as the fallback."""
        candidates = [url] if url else []
        fallback = f"{self._settings.api_base}/api/render/proxy/{job_id}/download"
        if fallback not in candidates:
            candidates.append(fallback)
        problems: list[str] = []
        for candidate in candidates:
            headers = {}
            if self.url_needs_auth(candidate):
                headers["Authorization"] = f"Bearer {(await self._current_auth()).token}"
            try:
                await self._download(candidate, headers, target)
                return target
            except _NetworkFailure as exc:
                problems.append(exc.detail)
            except OSError as exc:
                problems.append(f"disk: {exc.strerror}")
            log.warning("download of render %s failed: %s", job_id, problems[-1])
        raise BackendUnavailableError(f"the finished video could not be downloaded ({'; '.join(problems)})")

    async def _download(self, url: str, headers: dict[str, str], target: Path) -> None:
        """Stream `url` to `target` through a temp file in the same folder; never leave a partial file.

        The body must start like a video and stay under `bodies.MAX_VIDEO_BYTES` (decoded).
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            async with self._exchange(
                "GET", url, headers=headers, timeout=DOWNLOAD_TIMEOUT, limit_s=DOWNLOAD_LIMIT_S
            ) as response:
                if response.status_code != 200:
                    raise _NetworkFailure(f"{response.url.host} answered HTTP {response.status_code}")
                host = response.url.host
                written = 0
                head = b""
                with partial.open("wb") as handle:
                    async for piece in bodies.decoded(response, "the video download"):
                        written += len(piece)
                        if written > bodies.MAX_VIDEO_BYTES:
                            raise _NetworkFailure(f"{host} sent more than {bodies.MAX_VIDEO_BYTES // bodies.MB:,} MB")
                        if len(head) < _VIDEO_HEAD_BYTES:
                            head += piece[: _VIDEO_HEAD_BYTES - len(head)]
                            if len(head) == _VIDEO_HEAD_BYTES:
                                _require_video(host, head)
                        handle.write(piece)
                if len(head) < _VIDEO_HEAD_BYTES:
                    _require_video(host, head)
            partial.replace(target)
        except BadResponseError as exc:
            raise _NetworkFailure(exc.message) from None
        finally:
            partial.unlink(missing_ok=True)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- Requests ------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: Callable[[], list[tuple[str, Any]]] | None = None,
        idempotent: bool = False,
        timeout: httpx.Timeout | None = None,
        endpoint: Endpoint = "other",
        expect: set[Reason] | None = None,
        parse: Callable[[Any], T] | None = None,
    ) -> T:
        """One authenticated call with the contract's recoveries; returns the parsed payload.

        Failures whose reason is in `expect` are raised as `ApiFailure` for the caller to handle;
        every other failure becomes a `BackendError` that carries its next step.
        """
        auth = await self._current_auth()
        renewed = rate_limited = False
        transient = 0
        while True:
            opened: list[tuple[str, Any]] = files() if files else []
            try:
                status, body = await self._fetch(
                    method,
                    path,
                    json=json,
                    files=opened or None,
                    headers={"Authorization": f"Bearer {auth.token}"},
                    timeout=timeout,
                )
                payload = wire.parse_envelope(status, body)
                return parse(payload) if parse else payload
            except _NetworkFailure as exc:
                if not idempotent or isinstance(exc, _BudgetUsedUp):
                    raise BackendUnavailableError(exc.detail) from None
                transient = await self._retry_transient(transient, exc.detail)
            except ApiFailure as failure:
                if expect and failure.reason in expect:
                    raise
                if failure.reason is Reason.TOKEN and auth.anonymous and not renewed:
                    renewed = True
                    auth = await self._renew_token(stale=auth.token)  # refused while renewals are paused
                    continue
                if failure.reason is Reason.RATE_LIMIT and not rate_limited:
                    rate_limited = True
                    if await self._wait_to_retry(RATE_LIMIT_WAIT_S):
                        continue
                    raise RateLimitedError(retried=False) from None
                if failure.reason is Reason.UNAVAILABLE and idempotent:
                    transient = await self._retry_transient(
                        transient, f"the backend answered HTTP {failure.http_status}"
                    )
                    continue
                raise self._domain_error(failure, auth, endpoint) from None
            finally:
                for _, (_, handle, _) in opened:
                    handle.close()

    async def _retry_transient(self, transient: int, cause: str) -> int:
        """Back off before retry number `transient + 1` and return that number; or give up with `cause`."""
        tried = f"tried {transient + 1} times" if transient else "tried once"
        if transient >= TRANSIENT_RETRIES:
            raise BackendUnavailableError(f"{cause} ({tried})")
        if not await self._wait_to_retry(2.0 ** (transient + 1)):
            raise BackendUnavailableError(f"{cause} ({tried}; {NO_RETRY_FITS})")
        return transient + 1

    async def _wait_to_retry(self, seconds: float) -> bool:
        """Wait `seconds` (scaled by NEMO_WAIT_SCALE) before a retry, if the wait and the retry fit in the budget."""
        wait = seconds * self._settings.wait_scale
        left = _time_for_requests()
        if left is not None and left - wait < MIN_ATTEMPT_S:
            return False
        await asyncio.sleep(wait)
        return True

    async def _fetch(self, method: str, url: str, **request: Any) -> tuple[int, str]:
        """One request read in full (within `max_reply_bytes`): its status and body."""
        async with self._exchange(method, url, **request) as response:
            return response.status_code, await bodies.read_text(response, _reply_name(url), self._max_reply_bytes)

    @contextlib.asynccontextmanager
    async def _holding(self, lock: asyncio.Lock, purpose: Literal["auth", "session"]) -> AsyncIterator[None]:
        """`lock`, then the cache's lock for `purpose` (shared with other processes), each waited for
        at most what the call budget still allows; `LockBusyError` when either stays held."""
        doing = "getting a NemoVideo token" if purpose == "auth" else "setting up the editing session"
        acquired = False
        with anyio.move_on_after(_lock_wait_s()):
            acquired = await lock.acquire()
        if not acquired:
            raise LockBusyError(doing, str(self._root_store.root))
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(self._store.locked_async(purpose, timeout_s=_lock_wait_s()))
                except TimeoutError:
                    raise LockBusyError(doing, str(self._root_store.root)) from None
                yield
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def _exchange(
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
        A network failure, or the time running out, comes out as `_NetworkFailure` saying what happened.
        """
        budget_left = _time_for_requests() if within_budget else None
        if budget_left is not None and budget_left < MIN_ATTEMPT_S:
            raise _BudgetUsedUp()
        limit = budget_left if budget_left is not None else (limit_s if within_budget else None)
        attempt = _Attempt(self._http.base_url.join(url).host, limit_is_budget=budget_left is not None)
        timeouts = _shortened(timeout or self._http.timeout, budget_left)
        try:
            with anyio.fail_after(limit) if limit is not None else contextlib.nullcontext():
                async with self._http.stream(
                    method, url, timeout=timeouts, extensions={"trace": attempt.trace}, **request
                ) as response:
                    attempt.response = response
                    yield response
        except (httpx.TransportError, TimeoutError) as exc:
            raise attempt.failure(exc, timeouts) from None

    async def _send_uploads(
        self, session_id: str, files: Sequence[MediaFile], urls: Sequence[str]
    ) -> list[UploadedFile]:
        """Local files as one streamed multipart request, URLs as the JSON url form."""
        path = f"/api/upload-video/{AGENT_APP}/me/{session_id}"
        uploaded: list[UploadedFile] = []
        if files:

            def open_files() -> list[tuple[str, Any]]:
                return [("files", (upload_name(f.path), f.path.open("rb"), f.mime_type)) for f in files]

            sources = [str(f.path) for f in files]
            sent = await self._call(
                "POST",
                path,
                files=open_files,
                timeout=UPLOAD_TIMEOUT,
                parse=lambda data: wire.parse_uploaded_files(data, sources),
            )
            sizes = {str(f.path): f.size_bytes for f in files}
            uploaded += [u if u.size_bytes else u.model_copy(update={"size_bytes": sizes.get(u.source)}) for u in sent]
        if urls:
            url_list = list(urls)
            uploaded += await self._call(
                "POST",
                path,
                json={"urls": url_list, "source_type": "url"},
                parse=lambda data: wire.parse_uploaded_files(data, url_list),
            )
        return uploaded

    async def _read_stream(self, response: httpx.Response) -> AsyncIterator[EditEvent]:
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

    async def _message_text(self, instruction: str, options: EditOptions) -> str:
        """The instruction, with explicit options spelled out for the backend's agent."""
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
            wishes.append(
                {
                    "blur": "blurred background behind photos",
                    "contain": "black bars around photos",
                    "cover": "crop photos to fill the frame",
                }.get(options.fit, f"fit: {options.fit}")
            )
        if options.music_path:
            from nemo_video_mcp.media import check_music_file

            music = check_music_file(options.music_path, self._settings.allowed_dirs)
            uploaded = await self.upload([music], [])
            wishes.append(f"use the uploaded audio {uploaded[0].filename} as background music")
        return instruction if not wishes else f"{instruction}\n\n(Settings: {'; '.join(wishes)}.)"

    # --- Token ---------------------------------------------------------------------------------

    async def _current_auth(self) -> _Auth:
        """NEMO_TOKEN, else the anonymous token in memory or in the cache (used until it is rejected)."""
        if self._settings.token is not None:
            return _Auth(self._settings.token.get_secret_value(), anonymous=False)
        if self._auth is None:
            self._auth = self._stored_auth()
        if self._auth is None:
            self._auth = await self._renew_token(stale=None)
        return self._auth

    def _stored_auth(self) -> _Auth | None:
        doc = self._store.read("auth") or {}
        token = doc.get("token")
        if not isinstance(token, str) or not token:
            return None
        register_secret(token)
        return _Auth(token, anonymous=True, user_id=doc.get("user_id"))

    async def _renew_token(self, stale: str | None) -> _Auth:
        """A new anonymous token (or the one another task or process got meanwhile).

        Refused with `TokenRenewalRefusedError` for `TOKEN_REFUSAL_PAUSE_S` after a fresh token was
        rejected too: asking again on every call would only repeat the rejection.
        """
        if self._renewals_paused():
            raise self._tokens_keep_failing()
        async with self._holding(self._auth_lock, "auth"):
            current = self._stored_auth()
            if current is not None and current.token != stale:
                self._auth = current  # renewed meanwhile, by another task or process
                return current
            grant = await self._request_anonymous_token()
            register_secret(grant.token)
            self._auth = _Auth(grant.token, anonymous=True, user_id=grant.user_id)
            self._save("auth", {"token": grant.token, "user_id": grant.user_id, "expires_at": grant.expires_at})
            log.info("obtained a new anonymous token (user %s)", grant.user_id)
            return self._auth

    async def _request_anonymous_token(self) -> wire.TokenGrant:
        client_id = await asyncio.to_thread(self._root_store.client_id, self._settings.client_id)
        new_client_id = rate_limited = False
        while True:
            try:
                status, body = await self._fetch(
                    "POST", "/api/auth/anonymous-token", headers={"X-Client-Id": client_id}
                )
                return wire.parse_token_grant(wire.parse_envelope(status, body))
            except _NetworkFailure as exc:
                raise BackendUnavailableError(exc.detail) from None
            except ApiFailure as failure:
                if failure.reason is Reason.CLIENT_ID and not new_client_id and not self._settings.client_id:
                    new_client_id = True
                    self._root_store.delete("client")
                    client_id = await asyncio.to_thread(self._root_store.client_id)
                    continue
                if failure.reason is Reason.RATE_LIMIT and not rate_limited:
                    rate_limited = True
                    if await self._wait_to_retry(RATE_LIMIT_WAIT_S):
                        continue
                    raise RateLimitedError(retried=False) from None
                if failure.reason is Reason.RATE_LIMIT:
                    raise AnonymousTokenLimitError(self._settings.web_base) from None
                raise self._domain_error(failure, _Auth("", anonymous=True), "token") from None

    # --- Session -------------------------------------------------------------------------------

    def _stored_session_id(self) -> str | None:
        value = (self._store.read("session") or {}).get("session_id")
        return value if isinstance(value, str) and value else None

    async def _create_session(self) -> str:
        body: dict[str, str] = {"task_name": "project"}
        if self._settings.language:
            body["language"] = self._settings.language
        grant = await self._call("POST", f"/api/tasks/me/with-session/{AGENT_APP}", json=body, parse=wire.parse_session)
        self._save(
            "session",
            {
                "session_id": grant.session_id,
                "task_id": grant.task_id,
                "user_id": grant.user_id,
                "created_at": time.time(),
            },
        )
        log.info("created session %s", grant.session_id)
        return grant.session_id

    async def _replace_session(self, lost: str) -> str:
        """Replace a session the backend forgot; tell the agent; bring the uploads along."""
        async with self._holding(self._session_lock, "session"):
            current = self._stored_session_id()
            if current and current != lost:
                self._session = current  # replaced meanwhile, by another task or process
                return current
            self._session = session_id = await self._create_session()
        restored = await self._restore_uploads(lost, session_id)
        notice = "The backend had lost the editing session, so a new one was started: the timeline starts afresh."
        if restored:
            notice += f" {restored} earlier upload(s) were sent again to the new session."
        note(notice)
        return session_id

    async def _in_session(self, action: Callable[[str], Awaitable[T]]) -> T:
        session_id = await self.session_id()
        try:
            return await action(session_id)
        except SessionLostError:
            return await action(await self._replace_session(lost=session_id))

    def _save(self, name: str, doc: dict[str, Any]) -> None:
        """Write through to the cache; a failed write is a notice (the value still lives in memory)."""
        try:
            self._store.write(name, doc)
        except OSError as exc:
            log.warning("could not save %s to the cache: %s", name, exc.strerror)
            note(
                f"The cache folder ({self._root_store.root}) is not writable ({exc.strerror}): the {name} is kept "
                "only until this server stops. Free disk space or set NEMO_CACHE_DIR to a writable folder."
            )

    # --- Uploads kept for a restart --------------------------------------------------------------

    async def _record_uploads(self, session_id: str, uploaded: list[UploadedFile]) -> None:
        def append() -> None:
            doc = self._store.read("uploads") or {}
            if doc.get("session_id") != session_id:
                doc = {"session_id": session_id, "files": []}
            doc["files"] = [*doc.get("files", []), *(f.model_dump(mode="json") for f in uploaded)]
            self._save("uploads", doc)

        await self._store.run_locked(append)

    def uploads(self) -> list[UploadedFile]:
        """The files uploaded to the current session, as recorded in the cache."""
        doc = self._store.read("uploads") or {}
        if doc.get("session_id") != self._stored_session_id():
            return []
        return [UploadedFile.model_validate(item) for item in doc.get("files", [])]

    async def _restore_uploads(self, lost: str, session_id: str) -> int:
        doc = self._store.read("uploads") or {}
        if doc.get("session_id") != lost or not doc.get("files"):
            return 0
        from nemo_video_mcp.media import check_media_file, is_remote_url

        sources = [str(item.get("source", "")) for item in doc["files"]]
        urls = [s for s in sources if is_remote_url(s)]
        files: list[MediaFile] = []
        for source in sources:
            if source and not is_remote_url(source):
                with contextlib.suppress(BackendError, ValueError, OSError):
                    files.append(check_media_file(source, self._settings.allowed_dirs))
        if not files and not urls:
            return 0
        try:
            uploaded = await self._send_uploads(session_id, files, urls)
        except BackendError as exc:
            log.warning("could not restore uploads to the new session: %s", exc.message)
            return 0
        await self._record_uploads(session_id, uploaded)
        return len(uploaded)

    # --- Errors --------------------------------------------------------------------------------

    def _register_url(self, auth: _Auth) -> str | None:
        if not auth.anonymous:
            return None
        user_id = auth.user_id or (self._store.read("auth") or {}).get("user_id")
        return f"{self._settings.web_base}?bind={user_id}" if user_id else self._settings.web_base

    def _renewals_paused(self) -> bool:
        refused_at = self._renewal_refused_at
        return refused_at is not None and time.monotonic() - refused_at < TOKEN_REFUSAL_PAUSE_S

    def _tokens_keep_failing(self) -> TokenRenewalRefusedError:
        """The error for a backend that rejects even fresh tokens; pauses renewals (once per pause)."""
        if not self._renewals_paused():
            self._renewal_refused_at = time.monotonic()
            log.warning("a fresh anonymous token was rejected too; no new token for %.0f s", TOKEN_REFUSAL_PAUSE_S)
        return TokenRenewalRefusedError(self._settings.web_base, round(TOKEN_REFUSAL_PAUSE_S / 60))

    def _domain_error(self, failure: ApiFailure, auth: _Auth, endpoint: Endpoint = "other") -> BackendError:
        """The error the agent reads for `failure`. An anonymous token rejected here was already renewed
        once (or the token endpoint itself rejected us): renewals pause."""
        reason = failure.reason
        if reason is Reason.TOKEN:
            return self._tokens_keep_failing() if auth.anonymous else TokenRejectedError(anonymous=False)
        if reason is Reason.SESSION:
            return SessionLostError()
        if reason is Reason.CREDITS:
            return NoCreditsError(self._register_url(auth))
        if reason is Reason.UNSUPPORTED_FILE:
            return BackendUnsupportedFileError(failure.message)
        if reason is Reason.FILE_TOO_LARGE:
            return BackendFileTooLargeError(failure.message)
        if reason is Reason.CLIENT_ID and endpoint == "token":
            return MissingClientIdError()
        if reason is Reason.PLAN and endpoint == "render":
            return ExportBlockedError(self._settings.web_base)
        if reason is Reason.RATE_LIMIT:
            return RateLimitedError()
        if reason is Reason.UNAVAILABLE:
            return BackendUnavailableError(f"HTTP {failure.http_status}")
        if reason is Reason.MALFORMED:
            return BadResponseError(failure.message)
        return BackendRequestError(failure.code, failure.message)


def _stream_refusal(status: int, body: str) -> ApiFailure:
    """Why `/run_sse` answered with something other than an event stream."""
    try:
        wire.parse_envelope(status, body)
    except ApiFailure as failure:
        return failure
    return ApiFailure(Reason.MALFORMED, None, status, "the edit endpoint did not answer with an event stream")


# --- The network, within the call budget ---------------------------------------------------------


class _NetworkFailure(Exception):
    """A request that brought back no usable answer. `detail` says what happened, naming only the host.

    `reached`: the request may have reached the backend (so its effect may have happened).
    `silent_for`: set when the backend sent not a single byte before the wait ran out.
    """

    def __init__(self, detail: str, *, reached: bool = True, silent_for: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.reached = reached
        self.silent_for = silent_for


class _BudgetUsedUp(_NetworkFailure):
    def __init__(self) -> None:
        super().__init__("the request was not sent: the call budget (NEMO_CALL_BUDGET_S) was used up", reached=False)


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

    def failure(self, exc: Exception, timeouts: httpx.Timeout) -> _NetworkFailure:
        waited = time.monotonic() - self.started
        budget_ran_out = isinstance(exc, TimeoutError)  # the exchange's own deadline, not one of httpx's timeouts
        timed_out = budget_ran_out or isinstance(exc, httpx.TimeoutException)
        host = self.host
        if self.response is not None:
            received = self.response.num_bytes_downloaded
            if budget_ran_out and not self.limit_is_budget:
                how = f"it was still coming after {_seconds(waited)} s"
            elif budget_ran_out:
                how = f"the call budget ran out after {_seconds(waited)} s"
            elif timed_out:
                how = f"nothing more came for {_seconds(timeouts.read or waited)} s"
            else:
                how = f"the connection closed, {type(exc).__name__}"
            silent = waited if timed_out and not received else None
            return _NetworkFailure(
                f"the answer from {host} stopped mid-way after {received} bytes ({how})", silent_for=silent
            )
        if isinstance(exc, httpx.ConnectError):
            return _NetworkFailure(f"could not connect to {host} ({_connect_problem(exc)})", reached=False)
        if isinstance(exc, httpx.ConnectTimeout) or (budget_ran_out and not self.connected):
            return _NetworkFailure(f"could not connect to {host} within {_seconds(waited)} s", reached=False)
        if isinstance(exc, httpx.PoolTimeout):
            return _NetworkFailure(f"no free connection to {host} within {_seconds(waited)} s", reached=False)
        if isinstance(exc, httpx.WriteTimeout):
            return _NetworkFailure(
                f"connected to {host}, but the request could not be sent in full within {_seconds(waited)} s"
            )
        if timed_out:
            return _NetworkFailure(
                f"connected to {host}, but the backend sent no answer within {_seconds(waited)} s (no byte received)",
                silent_for=waited,
            )
        if isinstance(exc, (httpx.ProtocolError, httpx.ReadError, httpx.WriteError)):
            return _NetworkFailure(f"connected to {host}, but it closed the connection without an answer")
        return _NetworkFailure(f"network error talking to {host} ({type(exc).__name__})")


def _lock_wait_s() -> float:
    """How long a lock may be waited for: `LOCK_WAIT_S`, or less when the call budget allows less."""
    left = _time_for_requests()
    return LOCK_WAIT_S if left is None else max(0.0, min(LOCK_WAIT_S, left))


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


_VIDEO_HEAD_BYTES = 12
_VIDEO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def _require_video(host: str, head: bytes) -> None:
    """The first bytes of a download must be MP4/MOV (a box type at offset 4), WebM/Matroska or AVI."""
    if (
        head[4:8] in _VIDEO_BOXES
        or head.startswith(b"\x1aE\xdf\xa3")
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    ):
        return
    start = head.lstrip()[:1]
    if not head:
        what = "an empty file"
    elif start == b"<":
        what = "a web page"
    elif start in (b"{", b"["):
        what = "JSON"
    else:
        what = "bytes of another kind"
    raise _NetworkFailure(f"{host} sent {what}, not a video")


def _time_for_requests() -> float | None:
    """Seconds the requests of this call may still take (the budget less a margin), or None outside a call."""
    left = budget.remaining()
    return None if left is None else left - BUDGET_MARGIN_S


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


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"
