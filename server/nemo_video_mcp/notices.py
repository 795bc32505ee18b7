"""Things the agent must be told that happened along the way (a replaced session, an unwritable cache).

Each tool call collects its own notices (a context variable), so with several clients at once a
notice never lands in another call's result.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)

_collected: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("notices", default=None)


def note(text: str) -> None:
    """Tell the agent of the current call; outside a call, only the log hears it."""
    log.info("notice: %s", text)
    notices = _collected.get()
    if notices is not None and text not in notices:
        notices.append(text)


def current() -> list[str]:
    """The notices of the current call so far."""
    return list(_collected.get() or [])


@contextlib.contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the notices of one call (nested calls share the outer collection)."""
    if _collected.get() is not None:
        yield _collected.get()  # type: ignore[misc]
        return
    notices: list[str] = []
    token = _collected.set(notices)
    try:
        yield notices
    finally:
        _collected.reset(token)
