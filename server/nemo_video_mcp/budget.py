"""The call budget: how long the current tool call may still take before it must answer.

A host cancels a tool call after its own timeout (about 60 s for most), so every call answers
within `NEMO_CALL_BUDGET_S`. The deadline lives in a context variable set for one call; work the
server owns (a job) runs outside any call and has no deadline, only its own limits.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("call_deadline", default=None)


@contextlib.contextmanager
def call_budget(seconds: float) -> Iterator[None]:
    """Give the code inside `seconds` to answer (a nested budget never extends an outer one)."""
    outer = _deadline.get()
    deadline = time.monotonic() + seconds
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float | None:
    """Seconds left in the current call's budget (never negative), or None outside a call."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def bounded(seconds: float) -> float:
    """`seconds`, shortened to what the current call's budget still allows."""
    left = remaining()
    return seconds if left is None else min(seconds, left)


def outside_any_call() -> contextvars.Context:
    """A context with no call budget (nor any other call's state): for work the server owns."""
    return contextvars.Context()
