"""The NemoVideo cloud backend: HTTP + SSE over httpx, token and session kept in the cache.

Recoveries the agent never needs to see happen here: a rejected anonymous token is renewed once
(`auth`), a lost session is replaced once and the agent told the timeline restarted (`sessions`),
and retries follow one policy (`retry`): idempotent calls only, bounded, jittered, honouring
`Retry-After`, never after an edit may have started (`edits`). Inside a tool call every request,
retry and wait fits in the call budget (`budget.py`, `transport`). Every body is read within bounds
(`bodies.py`, `sse.py`) and nothing it holds is trusted (`wire.py`).

Modules: `transport` (one bounded exchange), `retry`, `cache`, `auth`, `refusals`, `calls` (one API
call), `sessions`, `uploads`, `edits`, `renders`, `downloads`, and `backend` composing them.
"""

from nemo_video_mcp.backends.cloud.backend import CloudBackend
from nemo_video_mcp.backends.cloud.transport import BUDGET_MARGIN_S, DEFAULT_TIMEOUT

__all__ = ["BUDGET_MARGIN_S", "DEFAULT_TIMEOUT", "CloudBackend"]
