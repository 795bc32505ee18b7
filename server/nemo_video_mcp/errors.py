"""Typed errors, each carrying what happened and the next step the agent should take.

The MCP layer turns any `NemoError` into tool-error text once, via `agent_message`.
"""

from __future__ import annotations

import time

from nemo_video_mcp.redact import redact

SUPPORTED_FORMATS = "images: jpg/jpeg, png, gif, webp, heic; video: mp4, mov, avi, webm, mkv; audio: mp3, wav, m4a, aac"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class NemoError(Exception):
    """Base of every expected failure. `next_step` tells the agent what to do about it."""

    code: int | str | None = None

    def __init__(self, message: str, next_step: str, *, code: int | str | None = None) -> None:
        super().__init__(redact(message))
        self.message = redact(message)
        self.next_step = redact(next_step)
        if code is not None:
            self.code = code

    @property
    def agent_message(self) -> str:
        """The text the agent reads: what happened, then the next step."""
        return f"{self.message}\nNext step: {self.next_step}"

    def __str__(self) -> str:
        return self.agent_message


# --- Input the agent gave us -------------------------------------------------------------------


class InputError(NemoError):
    """The agent's input cannot be used as given."""


class MediaFileError(InputError):
    """A local file failed a check before anything was sent."""


class UnsupportedFileError(MediaFileError):
    code = 4001

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not a supported media file.",
            f"Use one of the supported formats ({SUPPORTED_FORMATS}), then call upload_images again.",
        )


class FileTooLargeError(MediaFileError):
    code = 4002

    def __init__(self, what: str, size_bytes: int | None = None) -> None:
        size = f" ({size_bytes / 1024 / 1024:.0f} MB)" if size_bytes else ""
        super().__init__(
            f"{what}{size} is larger than the 200 MB upload limit.",
            "Compress or trim the file to under 200 MB (e.g. re-encode the video at a lower bitrate, "
            "or resize the image), then call upload_images again.",
        )


# --- What the backend said ---------------------------------------------------------------------


class BackendError(NemoError):
    """The backend refused or failed a request."""


class TokenRejectedError(BackendError):
    code = 1001

    def __init__(self, anonymous: bool) -> None:
        if anonymous:
            step = "Call the tool again; a new anonymous token will be requested."
        else:
            step = "NEMO_TOKEN is invalid or expired: set a fresh token in the server's environment, or unset it."
        super().__init__("The backend rejected the NemoVideo token.", step)


class SessionLostError(BackendError):
    code = 1002

    def __init__(self) -> None:
        super().__init__(
            "The backend no longer knows this editing session.",
            "Call the tool again; a new session will be created (the timeline starts afresh).",
        )


class NoCreditsError(BackendError):
    code = 2001

    def __init__(self, register_url: str | None) -> None:
        if register_url:
            step = (
                f"Ask the user to register at {register_url} (this keeps the anonymous project; "
                "get_project_link gives a link that attaches it to an existing account too), "
                "then call get_credits to confirm and retry."
            )
        else:
            step = "Ask the user to top up credits on their NemoVideo account, then call get_credits and retry."
        super().__init__("The account has no credits left for this request.", step)
        self.register_url = register_url


class BackendUnsupportedFileError(BackendError):
    code = 4001

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            f"The backend refused the file as unsupported{': ' + detail if detail else ''}.",
            f"Convert it to a supported format ({SUPPORTED_FORMATS}) and call upload_images again.",
        )


class BackendFileTooLargeError(BackendError):
    code = 4002

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            f"The backend refused the file as too large{': ' + detail if detail else ''}.",
            "Compress or trim it to under 200 MB, then call upload_images again.",
        )


class MissingClientIdError(BackendError):
    code = 400

    def __init__(self) -> None:
        super().__init__(
            "The backend asked for a client id (X-Client-Id) and refused the retry.",
            "Delete client.json in the cache directory (or set NEMO_CLIENT_ID to a UUID) and call the tool again.",
        )


class ExportBlockedError(BackendError):
    code = 402

    def __init__(self, web_base: str) -> None:
        super().__init__(
            "Export is blocked on the free plan. This is a plan limit, not a lack of credits.",
            f"Ask the user to register or upgrade at {web_base} to unlock export (call get_project_link first, "
            "so the project comes along), then call export_video again.",
        )


class RateLimitedError(BackendError):
    """Rate limited (HTTP 429): what was waited, or why no retry was sent, and when to ask again."""

    code = 429

    def __init__(
        self, *, waited_s: float | None = None, retry_in_s: float | None = None, longest_s: float | None = None
    ) -> None:
        if waited_s is not None:
            what = f"The backend is rate-limiting requests and refused a retry {_seconds(waited_s)} s later."
        elif longest_s is not None:
            what = (
                f"The backend is rate-limiting requests and asked to wait {_seconds(retry_in_s or 0)} s, longer than "
                f"this server waits for a retry ({longest_s:.0f} s); no retry was sent."
            )
        elif retry_in_s is not None:
            what = (
                f"The backend is rate-limiting requests; the wait before a retry ({_seconds(retry_in_s)} s) "
                "did not fit in this call's time budget, so no retry was sent."
            )
        else:
            what = "The backend is rate-limiting requests (HTTP 429)."
        if retry_in_s is None:
            step = "Wait a few minutes before calling the tool again; do not loop on it."
        else:
            at = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + retry_in_s))
            step = f"Call the tool again after {at} (in about {_seconds(retry_in_s)} s), not before; do not loop on it."
        super().__init__(what, step)
        self.retry_in_s = retry_in_s


def _seconds(value: float) -> str:
    """A duration for a message: one decimal under 10 s, whole seconds above."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


class AnonymousTokenLimitError(BackendError):
    code = 429

    def __init__(self, web_base: str) -> None:
        super().__init__(
            "The backend refused a new anonymous token: it grants one per machine (client id) every 7 days, "
            "and this one was already used.",
            f"Set NEMO_TOKEN to a token of a NemoVideo account (register at {web_base}), or set "
            "NEMO_BACKEND=local to render offline without credits.",
        )


class BackendUnavailableError(BackendError):
    code = "unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The NemoVideo backend gave no usable answer: {detail}.",
            "Check the network (NEMO_API_BASE) and call the tool again in a minute; "
            "or set NEMO_BACKEND=local to render offline.",
        )


class BadResponseError(BackendError):
    code = "bad_response"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The backend sent a reply this server cannot read ({detail}).",
            "Call get_state to see where the project stands, then retry the tool once.",
        )


class ReplyTooLargeError(BadResponseError):
    code = "reply_too_large"

    def __init__(self, what: str, limit_bytes: int, next_step: str | None = None) -> None:
        super(BadResponseError, self).__init__(
            f"The backend's reply to {what} was larger than {_size(limit_bytes)} (decoded), so this server stopped "
            "reading it.",
            next_step
            or "Retry the tool once; if it happens again the backend is misbehaving: wait a few minutes, or set "
            "NEMO_BACKEND=local to render offline.",
        )


class TokenRenewalRefusedError(TokenRejectedError):
    """A new anonymous token was rejected as well: asking for more would only repeat it."""

    def __init__(self, web_base: str, pause_minutes: int) -> None:
        super(TokenRejectedError, self).__init__(
            "The backend keeps rejecting new tokens: a freshly issued anonymous token was rejected too (code 1001). "
            f"No new token will be requested for {pause_minutes} minutes.",
            f"Set NEMO_TOKEN to the token of a NemoVideo account (register at {web_base}) and restart the server; "
            f"or wait {pause_minutes} minutes and call the tool again; run `nemo-video-mcp doctor` to check the "
            "connection and the token.",
        )


class BackendRequestError(BackendError):
    """A business error code we have no specific remedy for."""

    def __init__(self, code: int | str | None, detail: str) -> None:
        super().__init__(
            f"The backend refused the request (code {code}): {detail}.",
            "Call get_state to check the project, then retry once; if it repeats, report the code.",
            code=code,
        )


class LockBusyError(NemoError):
    """Another request, or another server process sharing the cache, holds the token or session lock."""

    code = "busy"

    def __init__(self, doing: str, cache_dir: str) -> None:
        super().__init__(
            f"Another request of this server, or another nemo-video-mcp process sharing its cache, is {doing}; "
            "it did not finish within this call's time budget (NEMO_CALL_BUDGET_S).",
            "Call the tool again in a minute. If it keeps happening, another nemo-video-mcp process using the cache "
            f"folder {cache_dir} may be stuck: stop it, or give this server its own NEMO_CACHE_DIR.",
        )


# --- Work in progress --------------------------------------------------------------------------


class EditLostError(BackendError):
    code = "edit_lost"

    def __init__(self, reads: int) -> None:
        super().__init__(
            f"The edit stream was cut and the project state did not change in {reads} checks, "
            "so the edit was probably lost. It was not re-sent, to avoid paying twice.",
            "Call get_state to confirm, then call generate_video again with the same instruction.",
        )


class EditUncertainError(BackendError):
    code = "edit_uncertain"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The edit ended abnormally ({what}) and the project state could not be compared, so it is unknown "
            "whether the change was made. It was not re-sent, to avoid paying twice.",
            "Call get_state and check whether the change is there before calling generate_video again.",
        )


class NothingToExportError(NemoError):
    code = "empty_timeline"

    def __init__(self) -> None:
        super().__init__(
            "The timeline is empty: there is nothing to export yet.",
            "Call upload_images, then generate_video, then export_video.",
        )


class RenderFailedError(NemoError):
    code = "render_failed"

    def __init__(self, job_id: str, detail: str | None) -> None:
        # A failure recorded with its own next step (e.g. a damaged upload) keeps it: rendering again would not help.
        detail, _, own_step = (detail or "").partition("\nNext step: ")
        super().__init__(
            f"Render {job_id} failed{': ' + detail.rstrip('.') if detail else ''}.",
            own_step
            or "Call export_video again to start a new render; if it fails twice, call get_state and "
            "simplify the timeline with generate_video.",
        )


class JobFailedError(NemoError):
    """A job (run by this server, maybe before a restart) failed: its recorded message and next step."""

    code = "job_failed"

    def __init__(
        self, job_id: str, message: str, next_step: str, *, code: int | str | None = None, already_sent: bool = False
    ) -> None:
        prefix = f"This instruction was already sent (job {job_id}); nothing was sent again. " if already_sent else ""
        super().__init__(prefix + message, next_step, code=code)
        self.job_id = job_id


class NotConfirmedError(InputError):
    """The user did not agree to a paid edit in the confirmation form: nothing was recorded or sent."""

    code = "not_confirmed"

    def __init__(self, what: str, why: str, next_step: str) -> None:
        super().__init__(f"{why}, so the edit ({what}) was not sent and no credits were spent.", next_step)


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:g} {unit}"
    return f"{n_bytes} bytes"
