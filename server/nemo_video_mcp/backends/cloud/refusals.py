"""The error the agent reads when the backend said no: each reason with its next step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.errors import (
    BackendError,
    BackendFileTooLargeError,
    BackendRequestError,
    BackendUnavailableError,
    BackendUnsupportedFileError,
    BadResponseError,
    ExportBlockedError,
    MissingClientIdError,
    NoCreditsError,
    RateLimitedError,
    SessionLostError,
)

Endpoint = Literal["token", "render", "other"]
"""Which family a call belongs to: codes 400 and 402 mean different things on each."""


def refusal_error(
    failure: ApiFailure,
    *,
    token_error: Callable[[], BackendError],
    register_url: Callable[[], str | None],
    web_base: str,
    endpoint: Endpoint = "other",
) -> BackendError:
    """The error for `failure`. `token_error` and `register_url` depend on who we are, so are asked only when needed
    (`token_error` may pause token renewals)."""
    reason = failure.reason
    if reason is Reason.TOKEN:
        return token_error()
    if reason is Reason.SESSION:
        return SessionLostError()
    if reason is Reason.CREDITS:
        return NoCreditsError(register_url())
    if reason is Reason.UNSUPPORTED_FILE:
        return BackendUnsupportedFileError(failure.message)
    if reason is Reason.FILE_TOO_LARGE:
        return BackendFileTooLargeError(failure.message)
    if reason is Reason.CLIENT_ID and endpoint == "token":
        return MissingClientIdError()
    if reason is Reason.PLAN and endpoint == "render":
        return ExportBlockedError(web_base)
    if reason is Reason.RATE_LIMIT:
        return RateLimitedError()
    if reason is Reason.UNAVAILABLE:
        return BackendUnavailableError(f"HTTP {failure.http_status}")
    if reason is Reason.MALFORMED:
        return BadResponseError(failure.message)
    return BackendRequestError(failure.code, failure.message)
