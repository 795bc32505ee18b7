"""`CloudBackend`: the `Backend` protocol, composed of the modules that each do one job."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from nemo_video_mcp import __version__
from nemo_video_mcp.attribution import skill_headers
from nemo_video_mcp.backends import bodies, wire
from nemo_video_mcp.backends.cloud.auth import Tokens
from nemo_video_mcp.backends.cloud.cache import CloudCache
from nemo_video_mcp.backends.cloud.calls import AGENT_APP, Api
from nemo_video_mcp.backends.cloud.downloads import Downloads
from nemo_video_mcp.backends.cloud.edits import Edits, edit_message
from nemo_video_mcp.backends.cloud.renders import Renders
from nemo_video_mcp.backends.cloud.retry import RetryPolicy
from nemo_video_mcp.backends.cloud.sessions import Sessions
from nemo_video_mcp.backends.cloud.transport import DEFAULT_TIMEOUT, Transport
from nemo_video_mcp.backends.cloud.uploads import Uploads
from nemo_video_mcp.config import BackendName, Settings
from nemo_video_mcp.media import check_music_file
from nemo_video_mcp.models import (
    Credits,
    EditEvent,
    EditOptions,
    MediaFile,
    ProjectLink,
    ProjectState,
    RenderStatus,
    UploadedFile,
)
from nemo_video_mcp.store import Store


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
        http = Transport(self._http, max_reply_bytes)
        retry = RetryPolicy(wait_scale=settings.wait_scale)
        cache = CloudCache(store, settings.api_base)
        self._tokens = Tokens(settings, cache, http, retry)
        self._api = Api(http, self._tokens, retry)
        self._uploads = Uploads(settings, cache, self._api)
        self._sessions = Sessions(settings, cache, self._api, self._uploads)
        self._edits = Edits(http, self._tokens, self._sessions, retry, max_reply_bytes)
        self._renders = Renders(self._api, self._sessions)
        self._downloads = Downloads(settings.api_base, http, self._tokens)

    async def session_id(self) -> str:
        return await self._sessions.session_id()

    async def upload(self, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        async def send(session_id: str) -> tuple[str, list[UploadedFile]]:
            return session_id, await self._uploads.send(session_id, files, urls)

        session_id, uploaded = await self._sessions.in_session(send)
        await self._uploads.record(session_id, uploaded)
        return uploaded

    def uploads(self) -> list[UploadedFile]:
        """The files uploaded to the current session, as recorded in the cache."""
        return self._uploads.recorded(self._sessions.stored_id())

    async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        music = await self._upload_music(options.music_path) if options.music_path else None
        async for event in self._edits.run(edit_message(instruction, options, music)):
            yield event

    async def _upload_music(self, music_path: str) -> str:
        """Upload the background music an edit asks for; the name the backend gave it."""
        music = check_music_file(music_path, self._settings.allowed_dirs)
        uploaded = await self.upload([music], [])
        return uploaded[0].filename

    async def get_state(self) -> ProjectState:
        async def read(session_id: str) -> ProjectState:
            return await self._api.call(
                "GET",
                f"/api/state/{AGENT_APP}/me/{session_id}/latest",
                idempotent=True,
                parse=lambda data: wire.parse_state(data, session_id),
            )

        return await self._sessions.in_session(read)

    async def get_credits(self) -> Credits:
        balance = await self._api.call("GET", "/api/credits/balance/simple", idempotent=True, parse=wire.parse_balance)
        auth = await self._tokens.current()
        return Credits(
            available=balance.available,
            frozen=balance.frozen,
            total=balance.total,
            anonymous=auth.anonymous,
            register_url=self._tokens.register_url(auth),
        )

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        return await self._renders.start(job_id, draft)

    async def poll_render(self, job_id: str) -> RenderStatus:
        return await self._renders.poll(job_id)

    async def cancel_render(self, job_id: str) -> None:
        await self._renders.cancel(job_id)

    async def project_link(self) -> ProjectLink:
        """Anonymous: a claim link (never the token) to attach the project to an account; else the workspace."""
        auth = await self._tokens.current()
        if not auth.anonymous:
            return ProjectLink(kind="workspace", url=f"{self._settings.web_base}/workspace")
        session_id = await self._sessions.session_id()
        grant = await self._api.call(
            "POST",
            "/api/auth/claim-token",
            json={"task_id": self._sessions.task_id(), "session_id": session_id},
            parse=wire.parse_claim,
        )
        expires = time.time() + grant.expires_in_s if grant.expires_in_s else None
        url = f"{self._settings.web_base}/workspace/claim?ct={quote(grant.claim_token, safe='')}"
        return ProjectLink(kind="claim", url=url, expires_at=expires)

    def url_needs_auth(self, url: str) -> bool:
        return self._downloads.url_needs_auth(url)

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        return await self._downloads.download_render(job_id, url, target)

    async def aclose(self) -> None:
        await self._http.aclose()
