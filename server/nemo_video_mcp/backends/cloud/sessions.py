"""The editing session: created once and kept in the cache; a lost one is replaced once, the agent told,
and the uploads brought along."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.cloud.cache import CloudCache
from nemo_video_mcp.backends.cloud.calls import AGENT_APP, Api
from nemo_video_mcp.backends.cloud.uploads import Uploads
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import SessionLostError
from nemo_video_mcp.notices import note

log = logging.getLogger(__name__)
T = TypeVar("T")


class Sessions:
    def __init__(self, settings: Settings, cache: CloudCache, api: Api, uploads: Uploads) -> None:
        self._settings = settings
        self._cache = cache
        self._api = api
        self._uploads = uploads
        self._session: str | None = None
        self._lock = asyncio.Lock()

    async def session_id(self) -> str:
        """The current session: in memory, in the cache, or a new one."""
        if self._session is None:
            self._session = self.stored_id()
        if self._session is not None:
            return self._session
        async with self._cache.holding(self._lock, "session"):
            self._session = self.stored_id() or await self._create()
            return self._session

    def stored_id(self) -> str | None:
        value = self._cache.read("session").get("session_id")
        return value if isinstance(value, str) and value else None

    def task_id(self) -> str | None:
        value = self._cache.read("session").get("task_id")
        return value if isinstance(value, str) else None

    async def in_session(self, action: Callable[[str], Awaitable[T]]) -> T:
        """`action` on the current session, once more on a new one if the backend lost it."""
        session_id = await self.session_id()
        try:
            return await action(session_id)
        except SessionLostError:
            return await action(await self.replace(lost=session_id))

    async def replace(self, lost: str) -> str:
        """Replace a session the backend forgot; tell the agent; bring the uploads along."""
        async with self._cache.holding(self._lock, "session"):
            current = self.stored_id()
            if current and current != lost:
                self._session = current  # replaced meanwhile, by another task or process
                return current
            self._session = session_id = await self._create()
        restored = await self._uploads.restore(lost, session_id)
        notice = "The backend had lost the editing session, so a new one was started: the timeline starts afresh."
        if restored:
            notice += f" {restored} earlier upload(s) were sent again to the new session."
        note(notice)
        return session_id

    async def _create(self) -> str:
        body: dict[str, str] = {"task_name": "project"}
        if self._settings.language:
            body["language"] = self._settings.language
        grant = await self._api.call(
            "POST", f"/api/tasks/me/with-session/{AGENT_APP}", json=body, parse=wire.parse_session
        )
        self._cache.save(
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
