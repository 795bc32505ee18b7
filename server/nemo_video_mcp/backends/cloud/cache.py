"""What the cloud backend keeps in the cache (token, session, uploads), and the locks it shares.

Values live in memory first and are written through, so a full or read-only disk costs a notice,
not a second anonymous token. The token and session locks are held in this process and in the
cache (shared with other server processes), each waited for within the call budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio

from nemo_video_mcp.backends.cloud.transport import time_for_requests
from nemo_video_mcp.errors import LockBusyError
from nemo_video_mcp.notices import note
from nemo_video_mcp.store import Store

log = logging.getLogger(__name__)

LOCK_WAIT_S = 120.0
"""The longest wait for the token or session lock; inside a call, what its budget still allows."""


class CloudCache:
    """The cache profile of one API base."""

    def __init__(self, store: Store, api_base: str) -> None:
        self.store = store
        """The whole cache (the client id lives there, shared by every profile)."""
        self.profile = store.profile(f"cloud {api_base}")

    def read(self, name: str) -> dict[str, Any]:
        return self.profile.read(name) or {}

    def save(self, name: str, doc: dict[str, Any]) -> None:
        """Write through to the cache; a failed write is a notice (the value still lives in memory)."""
        try:
            self.profile.write(name, doc)
        except OSError as exc:
            log.warning("could not save %s to the cache: %s", name, exc.strerror)
            note(
                f"The cache folder ({self.store.root}) is not writable ({exc.strerror}): the {name} is kept "
                "only until this server stops. Free disk space or set NEMO_CACHE_DIR to a writable folder."
            )

    @contextlib.asynccontextmanager
    async def holding(self, lock: asyncio.Lock, purpose: Literal["auth", "session"]) -> AsyncIterator[None]:
        """`lock`, then the cache's lock for `purpose` (shared with other processes), each waited for
        at most what the call budget still allows; `LockBusyError` when either stays held."""
        doing = "getting a NemoVideo token" if purpose == "auth" else "setting up the editing session"
        acquired = False
        with anyio.move_on_after(_lock_wait_s()):
            acquired = await lock.acquire()
        if not acquired:
            raise LockBusyError(doing, str(self.store.root))
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(self.profile.locked_async(purpose, timeout_s=_lock_wait_s()))
                except TimeoutError:
                    raise LockBusyError(doing, str(self.store.root)) from None
                yield
        finally:
            lock.release()


def _lock_wait_s() -> float:
    """How long a lock may be waited for: `LOCK_WAIT_S`, or less when the call budget allows less."""
    left = time_for_requests()
    return LOCK_WAIT_S if left is None else max(0.0, min(LOCK_WAIT_S, left))
