"""Resource-updated notifications: tells subscribed clients when the timeline, a job or the latest video changed.

Both ways a client subscribes are served: `resources/subscribe` (protocol versions before
2026-07-28; the notification goes to that session) and `subscriptions/listen` (2026-07-28; the
event goes on the SDK's bus, whose listen streams filter by URI). Changes are found by comparing
short marks the service makes (`VideoService.change_marks`): after every tool call, and every
`POLL_S` while anyone is subscribed, so a render or an edit that ends between calls is announced
too. With nobody subscribed nothing is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

log = logging.getLogger(__name__)
POLL_S = 1.0
"""How often the cache's jobs are looked at while someone is subscribed."""

Marks = Callable[[bool], Awaitable[dict[str, str]]]
"""`marks(with_timeline)`: the service's change marks (the timeline's only when asked, it costs a backend read)."""


class _CountingBus(InMemorySubscriptionBus):
    """The SDK's in-process bus, telling the watch when a listen stream opens."""

    def __init__(self, on_listener: Callable[[], None]) -> None:
        super().__init__()
        self._on_listener = on_listener
        self.listeners = 0

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        unsubscribe = super().subscribe(listener)
        self.listeners += 1
        self._on_listener()
        done = False

        def counted_unsubscribe() -> None:
            nonlocal done
            unsubscribe()
            if not done:
                done, self.listeners = True, self.listeners - 1

        return counted_unsubscribe


class ResourceWatch:
    """Finds which resources changed and notifies whoever subscribed to them."""

    def __init__(self, marks: Marks, uris_of: Callable[[str], list[str]], budget_s: Callable[[], float]) -> None:
        self._marks = marks
        self._uris_of = uris_of
        self._budget_s = budget_s
        self.bus = _CountingBus(self._wake)
        self._sessions: dict[str, set[ServerSession]] = {}
        self._last: dict[str, str] | None = None
        self._lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    # --- resources/subscribe (protocol versions before 2026-07-28) ---------------------------------

    async def subscribe(self, ctx: ServerRequestContext, params: SubscribeRequestParams) -> EmptyResult:
        self._sessions.setdefault(str(params.uri), set()).add(ctx.session)
        if self._last is None:  # the marks to compare with, before the client's next call changes anything
            await self.check(with_timeline=True)
        self._wake()
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext, params: UnsubscribeRequestParams) -> EmptyResult:
        sessions = self._sessions.get(str(params.uri))
        if sessions is not None:
            sessions.discard(ctx.session)
        return EmptyResult()

    # --- Finding changes --------------------------------------------------------------------------

    @property
    def watched(self) -> bool:
        return self.bus.listeners > 0 or any(len(sessions) for sessions in self._sessions.values())

    def after_call(self, tool: str) -> None:
        """A tool call ended: look for changes in the background (the call's answer is not held up)."""
        if self.watched:
            self._spawn(self.check(with_timeline=tool in ("upload_images", "generate_video", "get_job")))

    async def check(self, with_timeline: bool = True) -> list[str]:
        """Notify the URIs whose marks changed since the last look; the URIs notified."""
        async with self._lock:
            try:
                marks = await asyncio.wait_for(self._read(with_timeline), self._budget_s())
            except Exception as exc:  # a backend that does not answer now is looked at again later
                log.debug("could not look for resource changes: %s", type(exc).__name__)
                return []
            last, self._last = self._last, {**(self._last or {}), **marks}
            if last is None:
                return []
            changed = [key for key, mark in self._last.items() if last.get(key) != mark]
            uris = list(dict.fromkeys(uri for key in changed for uri in self._uris_of(key)))
            for uri in uris:
                await self._notify(uri)
            return uris

    async def _read(self, with_timeline: bool) -> dict[str, str]:
        marks = await self._marks(with_timeline)
        if not with_timeline and self._last is not None and marks.get("edits") != self._last.get("edits"):
            marks = await self._marks(True)  # an edit moved on: the timeline may have changed with it
        return marks

    async def _notify(self, uri: str) -> None:
        await self.bus.publish(ResourceUpdated(uri=uri))
        for session in list(self._sessions.get(uri, ())):
            try:
                await session.send_resource_updated(uri)
            except Exception as exc:  # a client that went away is forgotten
                log.debug("resource-updated notification not sent: %s", type(exc).__name__)
                self._sessions[uri].discard(session)

    # --- Polling while anyone listens ---------------------------------------------------------------

    def _wake(self) -> None:
        """Someone subscribed: take the first marks now and keep looking while anyone listens."""
        if self._poller is None or self._poller.done():
            with contextlib.suppress(RuntimeError):  # no running loop: nothing to watch from
                self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        if self._last is None:
            await self.check(with_timeline=True)
        while self.watched:
            await asyncio.sleep(POLL_S)
            await self.check(with_timeline=False)
        self._last = None  # nobody listens: the next subscriber starts from fresh marks

    def _spawn(self, work: Awaitable[object]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self) -> None:
        tasks = [task for task in (self._poller, *self._pending) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
