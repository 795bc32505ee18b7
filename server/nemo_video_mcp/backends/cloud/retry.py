"""The cloud backend's one retry policy: when a request is sent again, and after how long.

A request is sent again only when that cannot do twice what the first one did:

- after a network failure or HTTP 408/5xx, only an idempotent call (a read; a render start, whose
  id we choose), at most `TRANSIENT_RETRIES` more times, after a jittered exponential back-off
  (2, 4, 8 s, each up to half again) or the backend's `Retry-After`;
- after HTTP 429 the request was refused before it started, so any call is sent once more, after
  `Retry-After` (seconds or an HTTP date) or the contract's 30 s.

Every wait is scaled by NEMO_WAIT_SCALE, and inside a tool call it must leave time for the retry
in the call budget (`budget.py`): a wait that does not fit is not waited, the call fails at once
and says why (a rate limit, when to try again). An edit stream is never sent again once it may
have started (`edits.py`).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone

from nemo_video_mcp.backends.cloud.transport import MIN_ATTEMPT_S, seconds, time_for_requests
from nemo_video_mcp.errors import BackendUnavailableError, RateLimitedError

TRANSIENT_RETRIES = 3
"""Sends after the first, for a network failure or HTTP 408/5xx of an idempotent call."""
BACKOFF_BASE_S = 2.0
BACKOFF_JITTER = 0.5
"""Each back-off is lengthened by up to this fraction, at random, so that clients do not retry in step."""
RATE_LIMIT_WAIT_S = 30.0
"""The wait after a 429 that names none (the contract's)."""
MAX_RETRY_AFTER_S = 300.0
"""A `Retry-After` longer than this is not waited for, even outside a call: the call fails saying when."""
NO_RETRY_FITS = "a retry did not fit in what was left of the call budget, NEMO_CALL_BUDGET_S"


def backoff_s(retry: int, rand: Callable[[], float] = random.random) -> float:
    """The wait before retry number `retry` (1, 2, …): 2 s doubled each time, plus up to `BACKOFF_JITTER`."""
    return BACKOFF_BASE_S * 2.0 ** (retry - 1) * (1.0 + BACKOFF_JITTER * rand())


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the backend asks to wait (`Retry-After`: delta seconds or an HTTP date); None if unsaid or unreadable."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        delay = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        delay = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delay) if math.isfinite(delay) else None


@dataclass(frozen=True)
class RetryPolicy:
    """The policy, shared by every call of one backend; `for_call` counts one call's retries."""

    wait_scale: float = 1.0
    """NEMO_WAIT_SCALE: multiplies every wait (tests set it near 0)."""
    rand: Callable[[], float] = field(default=random.random, repr=False)

    def for_call(self, *, idempotent: bool) -> Retries:
        return Retries(self, idempotent)


class Retries:
    """One call's retries: each allowed one waited for (within the budget), or refused with its reason."""

    def __init__(self, policy: RetryPolicy, idempotent: bool) -> None:
        self._policy = policy
        self._idempotent = idempotent
        self._transient = 0
        self._rate_limit_waited_s: float | None = None

    async def after_transient(self, cause: str, retry_after: float | None = None) -> None:
        """Wait before sending again after a network failure or HTTP 408/5xx (`cause`), or raise
        `BackendUnavailableError` saying why not: not idempotent, tried enough, or no time left."""
        if not self._idempotent:
            raise BackendUnavailableError(cause)
        tried = f"tried {self._transient + 1} times" if self._transient else "tried once"
        if self._transient >= TRANSIENT_RETRIES:
            raise BackendUnavailableError(f"{cause} ({tried})")
        if retry_after is not None and retry_after > MAX_RETRY_AFTER_S:
            raise BackendUnavailableError(f"{cause}, asking to wait {seconds(retry_after)} s ({tried})")
        wait = retry_after if retry_after is not None else backoff_s(self._transient + 1, self._policy.rand)
        if not await self._wait(wait):
            raise BackendUnavailableError(f"{cause} ({tried}; {NO_RETRY_FITS})")
        self._transient += 1

    async def after_rate_limit(self, retry_after: float | None) -> bool:
        """Wait before sending a refused (429) request once more; False if this call already did.

        Raises `RateLimitedError`, saying when to try again, when the wait does not fit.
        """
        if self._rate_limit_waited_s is not None:
            return False
        wait = RATE_LIMIT_WAIT_S if retry_after is None else retry_after
        if wait > MAX_RETRY_AFTER_S:
            raise RateLimitedError(retry_in_s=wait, longest_s=MAX_RETRY_AFTER_S)
        if not await self._wait(wait):
            raise RateLimitedError(retry_in_s=wait)
        self._rate_limit_waited_s = wait
        return True

    def rate_limited_again(self, retry_after: float | None) -> RateLimitedError:
        """The error for a 429 after this call's one retry."""
        return RateLimitedError(waited_s=self._rate_limit_waited_s, retry_in_s=retry_after)

    async def _wait(self, seconds_: float) -> bool:
        """Wait `seconds_` (scaled) if the wait and then a request still fit in the budget; else False at once."""
        wait = seconds_ * self._policy.wait_scale
        left = time_for_requests()
        if left is not None and left - wait < MIN_ATTEMPT_S:
            return False
        await asyncio.sleep(wait)
        return True
