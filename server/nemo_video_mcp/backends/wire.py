"""The one place that reads NemoVideo's wire formats.

Every [conflict] and [inferred] point of the contract is accepted here: both envelopes
(`{"code":…}` and `{"success":…}` or a bare object), business errors on HTTP 200, both SSE
event shapes (Google ADK camelCase and `{"type":…}`), all heartbeat forms, and both render
poll shapes. Callers get domain models or an `ApiFailure`; raw dicts stop here.

Nothing the backend sends is trusted: JSON nested deeper than `MAX_JSON_DEPTH` is refused, every
number goes through `parse_number` (no NaN, no Infinity, no absurd magnitudes, no "--5" or "²"),
and a draft's non-finite numbers become null, so that it can still be summarised and sent back.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from nemo_video_mcp.models import (
    EditEvent,
    HeartbeatEvent,
    ProjectState,
    QuestionEvent,
    RenderState,
    RenderStatus,
    StepEvent,
    StreamErrorEvent,
    TextEvent,
    UploadedFile,
)

log = logging.getLogger(__name__)

MAX_JSON_DEPTH = 64
"""Deeper JSON is refused: real replies nest a handful of levels, and deep nesting only exhausts the stack."""
MAX_JSON_VALUES = 900_000
"""More values than this (counted from commas and brackets, before parsing) are refused. The byte cap alone
does not bound memory: 16 MB of `[[],[],…]` parses into 345 MB of lists. A state of 100,000 segments
(about 10 MB) holds 800,000 values, about 75 MB once parsed; with what the server does with it, 900,000
values keep the process under 200 MB."""
SANE_MAGNITUDE = 1e15
"""No count, size, duration, balance or progress the backend reports is larger than this."""
MAX_CODE = 10**9
MAX_MESSAGE_CHARS = 1_000
"""A backend message is cut to this length before it reaches an error text."""
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII)
_MAX_NUMBER_TEXT = 40


class Reason(str, Enum):
    """What a failure means to us, whatever code or status carried it."""

    TOKEN = "token"  # 1001 (or 1010/1011, HTTP 401)
    SESSION = "session"  # 1002 (or 404 {"detail": "Session not found"})
    CREDITS = "credits"  # 2001
    UNSUPPORTED_FILE = "unsupported_file"  # 4001
    FILE_TOO_LARGE = "file_too_large"  # 4002
    CLIENT_ID = "client_id"  # HTTP 400 without X-Client-Id
    PLAN = "plan"  # 402: free plan export blocked
    RATE_LIMIT = "rate_limit"  # 429
    NOT_FOUND = "not_found"  # 404 on anything but a session
    DUPLICATE = "duplicate"  # render id already used
    UNAVAILABLE = "unavailable"  # 408, 5xx
    MALFORMED = "malformed"  # a reply we cannot read
    OTHER = "other"


_CODE_REASONS = {
    1001: Reason.TOKEN,
    1010: Reason.TOKEN,
    1011: Reason.TOKEN,
    1002: Reason.SESSION,
    2001: Reason.CREDITS,
    4001: Reason.UNSUPPORTED_FILE,
    4002: Reason.FILE_TOO_LARGE,
    400: Reason.CLIENT_ID,
    402: Reason.PLAN,
    429: Reason.RATE_LIMIT,
}


@dataclass
class ApiFailure(Exception):
    """The backend said no (or said something unreadable)."""

    reason: Reason
    code: int | None
    http_status: int
    message: str

    def __str__(self) -> str:
        return f"{self.reason.value} (code {self.code}, HTTP {self.http_status}): {self.message}"


# --- Envelopes ----------------------------------------------------------------------------------


def parse_envelope(http_status: int, body: bytes | str) -> Any:
    """Return the payload of a reply, or raise `ApiFailure`.

    Order, as NemoVideo's own CLI reads it: non-2xx → read `code`/`message` if any; a body with
    `code` → non-zero is an error; a body with `success` → false is an error; else the body is
    the data. A business error may arrive with HTTP 200.
    """
    try:
        payload = load_json(body, "reply", http_status) if body else None
    except ApiFailure:
        if not 200 <= http_status < 300:
            raise _failure_from_status(http_status, _snippet(body)) from None
        raise

    if not 200 <= http_status < 300:
        if isinstance(payload, dict):
            code = _code_or_none(payload.get("code"))
            message = _message_of(payload)
            if code not in (None, 0):
                raise _failure(code, http_status, message)
            raise _failure_from_status(http_status, message)
        raise _failure_from_status(http_status, _snippet(body))

    if not isinstance(payload, dict):
        if payload is None:
            raise ApiFailure(Reason.MALFORMED, None, http_status, "empty reply")
        return payload
    if "code" in payload:
        code = _code_or_none(payload.get("code"))
        if code is None:
            shown = _shown(payload.get("code"))
            raise ApiFailure(Reason.MALFORMED, None, http_status, f"reply has a code that is not a number ({shown})")
        if code != 0:
            raise _failure(code, http_status, _message_of(payload))
        return payload.get("data")
    if "success" in payload:
        if payload.get("success") is False:
            raise _failure(_code_or_none(payload.get("code")), http_status, _message_of(payload))
        return payload.get("data", payload)
    return payload


def _failure(code: int | None, http_status: int, message: str) -> ApiFailure:
    reason = _CODE_REASONS.get(code) if code is not None else None
    if reason is None and _looks_like_duplicate(message):
        reason = Reason.DUPLICATE
    if reason is None:
        return _failure_from_status(http_status, message, code=code)
    return ApiFailure(reason, code, http_status, message)


def _failure_from_status(http_status: int, message: str, code: int | None = None) -> ApiFailure:
    lowered = message.lower()
    if http_status == 401:
        reason = Reason.TOKEN
    elif http_status == 404 and "session" in lowered:
        reason = Reason.SESSION
    elif http_status == 404:
        reason = Reason.NOT_FOUND
    elif http_status == 400 and "client" in lowered:
        reason = Reason.CLIENT_ID
    elif http_status in (402, 429):
        reason = _CODE_REASONS[http_status]
    elif http_status == 409 or _looks_like_duplicate(message):
        reason = Reason.DUPLICATE
    elif http_status == 408 or http_status >= 500:
        reason = Reason.UNAVAILABLE
    else:
        reason = Reason.OTHER
    return ApiFailure(reason, code if code is not None else http_status, http_status, message)


def _looks_like_duplicate(message: str) -> bool:
    lowered = message.lower()
    return "duplicate" in lowered or "already exists" in lowered


def _message_of(payload: dict[str, Any]) -> str:
    for key in ("message", "error", "detail", "msg"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= MAX_MESSAGE_CHARS else value[:MAX_MESSAGE_CHARS] + "…"
        if isinstance(value, dict):
            return _message_of(value)
    return "no message"


def _snippet(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text[:200] or "empty reply"


# --- JSON and numbers ---------------------------------------------------------------------------


def load_json(text: bytes | str, what: str, http_status: int = 200) -> Any:
    """Parse JSON the backend sent; `ApiFailure` (malformed) when it is not JSON or nests too deep.

    NaN, Infinity and numbers too large for a float (1e999) parse as non-finite floats, which
    `parse_number` refuses and `parse_state` turns into null.
    """
    openings = _openings_in(text)
    values = openings + (text.count(",") if isinstance(text, str) else text.count(b","))
    if values > MAX_JSON_VALUES:
        message = f"{what} is too large: it holds about {values:,} JSON values (at most {MAX_JSON_VALUES:,} are read)"
        raise ApiFailure(Reason.MALFORMED, None, http_status, message)
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(what, http_status) from None
    except ValueError:  # also bad UTF-8, and integers beyond Python's digit limit
        raise ApiFailure(Reason.MALFORMED, None, http_status, f"{what} is not valid JSON") from None
    # no walk when the brackets alone cannot nest that deep (an edit event has a handful)
    if openings > MAX_JSON_DEPTH and _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(what, http_status)
    return value


def _openings_in(text: bytes | str) -> int:
    """Opening brackets in JSON `text` (C-speed counts): an upper bound of its depth, and with its commas of its
    values."""
    if isinstance(text, str):
        return text.count("[") + text.count("{")
    return text.count(b"[") + text.count(b"{")


def _too_deep(what: str, http_status: int) -> ApiFailure:
    return ApiFailure(Reason.MALFORMED, None, http_status, f"{what} is JSON nested more than {MAX_JSON_DEPTH} deep")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Level by level, so that memory holds one level's containers, never a stack of every one."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        if not level:
            return False
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def _null_non_finite(value: Any) -> int:
    """Replace every NaN and ±Infinity inside `value` with None, in place; return how many there were."""
    replaced = 0
    stack = [value] if isinstance(value, dict | list) else []
    while stack:
        item = stack.pop()
        for key, child in item.items() if isinstance(item, dict) else enumerate(item):
            if isinstance(child, float) and not math.isfinite(child):
                item[key] = None
                replaced += 1
            elif isinstance(child, dict | list):
                stack.append(child)
    return replaced


def parse_number(value: Any, what: str, *, whole: bool = False, limit: float = SANE_MAGNITUDE) -> float | int | None:
    """The one reader of a number the backend sent: None when absent, `ApiFailure` when it is not a sane number.

    Accepted: JSON numbers and numeric text in ASCII ("12", "-3.5", "1e3"). Refused: booleans, NaN,
    Infinity, magnitudes over `limit`, and text such as "nan", "--5", "²" or "1_000". With `whole`,
    an integer is wanted (1001.0 reads as 1001; 1.5 is refused).
    """
    if value is None or value == "":
        return None
    number: float | int
    if isinstance(value, bool):
        raise _not_a_number(what, value)
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str) and len(value) <= _MAX_NUMBER_TEXT and _NUMBER_TEXT.fullmatch(value.strip()):
        text = value.strip()
        number = int(text) if text.lstrip("+-").isdigit() else float(text)
    else:
        raise _not_a_number(what, value)
    if (isinstance(number, float) and not math.isfinite(number)) or abs(number) > limit:
        raise _not_a_number(what, value)
    if whole and isinstance(number, float):
        if not number.is_integer():
            raise _not_a_number(what, value)
        number = int(number)
    return number


def _not_a_number(what: str, value: Any) -> ApiFailure:
    return ApiFailure(Reason.MALFORMED, None, 200, f"{what} is not a usable number ({_shown(value)})")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_NUMBER_TEXT else text[:_MAX_NUMBER_TEXT] + "…"


def _code_or_none(value: Any) -> int | None:
    """A business code, or None when there is none or it cannot be read."""
    try:
        code = parse_number(value, "code", whole=True, limit=MAX_CODE)
    except ApiFailure:
        return None
    return None if code is None else int(code)


def _lenient_number(value: Any, what: str, *, whole: bool = False) -> float | int | None:
    """A descriptive number (an upload's width, a video's size): unreadable means unknown, logged."""
    try:
        return parse_number(value, what, whole=whole)
    except ApiFailure as failure:
        log.warning("ignoring %s", failure.message)
        return None


# --- Field types: every number the backend sends goes through parse_number ------------------------


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _object_or_none(value: Any) -> Any:
    """A nested object the reply may lack or garble: anything but an object reads as absent."""
    return value if isinstance(value, dict) else None


def _sane(what: str, *, absent: float | None = None) -> BeforeValidator:
    """A number that matters (a balance): absent is `absent`, unreadable is our `ApiFailure`."""

    def read(value: Any) -> float | int | None:
        number = parse_number(value, what)
        return absent if number is None else number

    return BeforeValidator(read)


def _descriptive(what: str, *, whole: bool = False) -> BeforeValidator:
    """A number that only describes (a width, a size): unreadable means unknown, logged."""
    return BeforeValidator(lambda value: _lenient_number(value, what, whole=whole))


Text = Annotated[str | None, BeforeValidator(_text_or_none)]
"""Any scalar as text (ids arrive as numbers too); empty or absent is None."""


class _Reply(BaseModel):
    """A backend object: known keys read in any of their spellings, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)


M = TypeVar("M", bound=_Reply)


def _read(model: type[M], data: Any, what: str, missing: str) -> M:
    """`data` as `model`; `ApiFailure` (malformed) saying `missing` when a required field is absent or unusable."""
    record = _require_dict(data, what)
    try:
        return model.model_validate(record)
    except ValidationError:
        raise ApiFailure(Reason.MALFORMED, None, 200, missing) from None


# --- Business payloads --------------------------------------------------------------------------


class TokenGrant(_Reply):
    token: Annotated[str, Field(min_length=1, validation_alias=AliasChoices("token", "access_token"))]
    user_id: Annotated[Text, Field(validation_alias=AliasChoices("user_id", "userId"))] = None
    expires_at: Annotated[Text, Field(validation_alias=AliasChoices("expires_at", "expiresAt"))] = None


def parse_token_grant(data: Any) -> TokenGrant:
    return _read(TokenGrant, data, "anonymous token", "anonymous-token reply has no token")


def _session_text(value: Any) -> Any:
    """A session id is text or a (large) integer; a boolean or an empty id is no id."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SessionGrant(_Reply):
    session_id: Annotated[
        str,
        BeforeValidator(_session_text),
        Field(min_length=1, validation_alias=AliasChoices("session_id", "sessionId")),
    ]
    task_id: Annotated[Text, Field(validation_alias=AliasChoices("task_id", "taskId"))] = None
    user_id: Annotated[Text, Field(validation_alias=AliasChoices("user_id", "userId"))] = None


def parse_session(data: Any) -> SessionGrant:
    return _read(SessionGrant, data, "session", "session reply has no usable session_id")


MAX_CLAIM_EXPIRY_S = 1e9


def _claim_expiry(value: Any) -> float | None:
    """Seconds until the claim link expires; an absurd or non-positive figure reads as unknown."""
    seconds = _lenient_number(value, "claim expiry")
    return float(seconds) if seconds and 0 < seconds < MAX_CLAIM_EXPIRY_S else None


class ClaimGrant(_Reply):
    """The claim-token reply: `{"claim_token": "clm_…", "expires_in": 604800}` (camelCase accepted)."""

    claim_token: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1),
        Field(repr=False, validation_alias=AliasChoices("claim_token", "claimToken")),
    ]
    expires_in_s: Annotated[
        float | None, BeforeValidator(_claim_expiry), Field(validation_alias=AliasChoices("expires_in", "expiresIn"))
    ] = None


def parse_claim(data: Any) -> ClaimGrant:
    return _read(ClaimGrant, data, "claim", "claim reply has no claim_token")


class _UploadedItem(_Reply):
    filename: Text = None
    file_type: Annotated[Text, Field(validation_alias=AliasChoices("file_type", "type"))] = None
    url: Annotated[Text, Field(validation_alias=AliasChoices("cdn_url", "url"))] = None
    size: Annotated[int | None, _descriptive("upload size", whole=True)] = None
    width: Annotated[int | None, _descriptive("upload width", whole=True)] = None
    height: Annotated[int | None, _descriptive("upload height", whole=True)] = None
    duration: Annotated[float | None, _descriptive("upload duration")] = None
    fps: Annotated[float | None, _descriptive("upload fps")] = None
    hash: Text = None

    def as_uploaded(self, source: str | None) -> UploadedFile:
        """The domain record; `source` is the path or URL the agent gave for it (its name if unknown)."""
        source = source if source is not None else self.filename or ""
        return UploadedFile(
            source=source,
            filename=self.filename or source.rsplit("/", 1)[-1],
            file_type=self.file_type or "unknown",
            url=self.url,
            size_bytes=self.size,
            width=self.width,
            height=self.height,
            duration=self.duration,
            fps=self.fps,
            content_hash=self.hash,
        )


class _UploadReply(_Reply):
    files: list[Annotated[_UploadedItem | None, BeforeValidator(_object_or_none)]]


def parse_uploaded_files(data: Any, sources: list[str]) -> list[UploadedFile]:
    reply = _read(_UploadReply, data, "upload", "upload reply has no file list")
    return [
        item.as_uploaded(sources[index] if index < len(sources) else None)
        for index, item in enumerate(reply.files)
        if item is not None
    ]


class Balance(_Reply):
    available: Annotated[float, _sane("the available credit balance")]
    frozen: Annotated[float, _sane("the frozen credit balance", absent=0.0)] = 0.0
    total: float = Field(None, validate_default=True)
    """Absent: available plus frozen."""

    @field_validator("total", mode="before")
    @classmethod
    def _sum_when_absent(cls, value: Any, info: ValidationInfo) -> Any:
        total = parse_number(value, "the total credit balance")
        if total is not None:
            return total
        if "available" not in info.data:
            raise ValueError("no available balance to add up")
        return info.data["available"] + info.data.get("frozen", 0.0)


def parse_balance(data: Any) -> Balance:
    return _read(Balance, data, "credits", "credits reply has no available balance")


def parse_state(data: Any, session_id: str) -> ProjectState:
    """Read the latest state; the draft is kept whole, unknown keys included.

    A NaN or Infinity anywhere in the state (a track's `tt`, a volume) becomes null, logged: the
    draft stays readable, summarisable and JSON-encodable, so it can still be shown and exported.
    """
    record = _require_dict(data, "state")
    state = record.get("state", record)
    if not isinstance(state, dict):
        raise ApiFailure(Reason.MALFORMED, None, 200, "state reply has no state object")
    draft = state.get("draft")
    if isinstance(draft, str):
        try:
            draft = load_json(draft, "state draft")
        except ApiFailure as failure:
            log.warning("reading the state as empty: %s", failure.message)
            draft = None
    if draft is None:
        draft = {}
    if not isinstance(draft, dict):
        raise ApiFailure(Reason.MALFORMED, None, 200, "state draft is not an object")
    extra = {key: value for key, value in state.items() if key != "draft"}
    replaced = _null_non_finite(draft) + _null_non_finite(extra)
    if replaced:
        log.warning("the state held %d NaN or Infinity value(s); they are read as null", replaced)
    return ProjectState(session_id=str(record.get("session_id") or session_id), draft=draft, extra=extra)


# --- Render proxy -------------------------------------------------------------------------------

_RENDER_STATES: dict[str, RenderState] = {
    "pending": "pending",
    "queued": "pending",
    "waiting": "pending",
    "processing": "processing",
    "rendering": "processing",
    "running": "processing",
    "in_progress": "processing",
    "completed": "completed",
    "complete": "completed",
    "succeeded": "completed",
    "success": "completed",
    "done": "completed",
    "failed": "failed",
    "error": "failed",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}


def _render_error(value: Any) -> str | None:
    """A render's failure: text (cut to MAX_MESSAGE_CHARS), or an object with a message."""
    if isinstance(value, dict):
        return _message_of(value)
    text = _text_or_none(value)
    return text[:MAX_MESSAGE_CHARS] + "…" if text and len(text) > MAX_MESSAGE_CHARS else text


def _render_progress(value: Any) -> float | None:
    """0-100; a float strictly between 0 and 1 is a fraction. Unreadable is a bad reading, never a guess."""
    progress = parse_number(value, "render progress")
    if progress is not None and 0 < progress < 1 and isinstance(value, float):
        return progress * 100
    return progress


class _RenderOutput(_Reply):
    url: Text = None
    duration: Annotated[float | None, _descriptive("render duration")] = None
    size: Annotated[int | None, _descriptive("render size", whole=True)] = None


class _RenderBody(_Reply):
    status: Text = None
    progress: Annotated[float | None, BeforeValidator(_render_progress)] = None
    output_url: Annotated[Text, Field(validation_alias="outputUrl")] = None
    output: Annotated[_RenderOutput | None, BeforeValidator(_object_or_none)] = None
    error: Annotated[str | None, BeforeValidator(_render_error)] = None


class _RenderReply(_RenderBody):
    """Shape A (`outputUrl`) or B (`output.url`), at the top or under `data` (the envelope's payload)."""

    data: Annotated[_RenderBody | None, BeforeValidator(_object_or_none)] = None


def parse_render_status(payload: Any, job_id: str) -> RenderStatus:
    """Read a render reply in shape A (`data.outputUrl`) or B (`output.url`), enveloped or bare.

    An unknown status word is read as "processing" (logged): failing on it would lose track of a
    job that is running and paid for.
    """
    outer = _read(_RenderReply, payload, "render status", "render reply is not readable")
    inner = outer.data or outer
    raw_status = (inner.status or outer.status or "").strip().lower()
    if not raw_status:
        raise ApiFailure(Reason.MALFORMED, None, 200, "render reply has no status")
    status = _RENDER_STATES.get(raw_status)
    if status is None:
        log.warning("unknown render status %r; treating it as processing", raw_status)
        status = "processing"
    output = inner.output or outer.output or _RenderOutput()
    progress = inner.progress if "progress" in inner.model_fields_set else outer.progress
    return RenderStatus(
        job_id=job_id,  # the client chose it; a backend-side alias (taskId) is not ours to follow
        status=status,
        progress=100 if status == "completed" else max(0, min(100, round(progress or 0))),
        url=inner.output_url or outer.output_url or output.url,
        error=inner.error or outer.error,
        duration_s=output.duration,
        size_bytes=output.size,
    )


# --- SSE events ---------------------------------------------------------------------------------

BACKEND_STEPS = {
    "generate_video_with_seedance": "generating video clips",
    "edit_multitrack": "editing the timeline",
    "generate_music": "composing music",
    "ask_question": "preparing a question for you",
}
"""The backend agent's own tools (docs/backend.md), as the step a person would name; others are 'working'."""
OTHER_STEP = "working on the timeline"
QUESTION_TOOL = "ask_question"
MAX_QUESTION_CHARS = 2_000
MAX_CHOICES = 10
MAX_CHOICE_CHARS = 100
_QUESTION_KEYS = ("question", "text", "prompt", "message")
_CHOICE_LISTS = ("options", "choices", "answers")
_CHOICE_LABELS = ("label", "text", "value")
NO_CREDITS_CODE = 2001


def parse_stream_event(data: str) -> list[EditEvent]:
    """Turn one SSE `data:` payload into domain events (ADK camelCase or `{"type":…}` shape).

    An empty payload is a heartbeat; a payload we cannot read is skipped with a log line.
    """
    if not data.strip():
        return [HeartbeatEvent()]
    try:
        event = load_json(data, "stream event")
    except ApiFailure as failure:
        log.warning("skipping a stream event of %d characters: %s", len(data), failure.message)
        return []
    if not isinstance(event, dict):
        return []
    if ("type" in event and "content" not in event) or isinstance(event.get("content"), str):
        return _typed_event(event)
    return _adk_event(event)


def _typed_event(event: dict[str, Any]) -> list[EditEvent]:
    kind = str(event.get("type", "")).lower()
    if kind == "heartbeat" or kind == "ping":
        return [HeartbeatEvent()]
    if kind == "text":
        text = event.get("content") or event.get("text") or ""
        return [TextEvent(text=str(text))] if text else []
    if kind in ("tool_call", "function_call"):
        return [tool_call_event(event.get("name"), event.get("args"))]
    if kind in ("tool_result", "function_response"):
        return [tool_result_event(event.get("name"))]
    if kind == "error" or "error" in event:
        return [_stream_error(_message_of(event), event.get("code"))]
    return []


def _adk_event(event: dict[str, Any]) -> list[EditEvent]:
    events: list[EditEvent] = []
    if event.get("errorCode") or event.get("errorMessage") or event.get("error_code"):
        code = event.get("errorCode") or event.get("error_code")
        message = event.get("errorMessage") or event.get("error_message") or str(code)
        events.append(_stream_error(str(message), code))
    elif "error" in event and "content" not in event:
        error = event["error"]
        message = error if isinstance(error, str) else _message_of(error if isinstance(error, dict) else {})
        return [_stream_error(message, error.get("code") if isinstance(error, dict) else None)]
    content = event.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    partial = bool(event.get("partial"))
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        call = part.get("functionCall") or part.get("function_call")
        response = part.get("functionResponse") or part.get("function_response")
        if isinstance(call, dict):
            events.append(tool_call_event(call.get("name"), call.get("args")))
        elif isinstance(response, dict):
            events.append(tool_result_event(response.get("name")))
        elif isinstance(part.get("text"), str) and part["text"] and not part.get("thought"):
            events.append(TextEvent(text=part["text"], partial=partial))
    if not events and event.get("type") == "heartbeat":
        events.append(HeartbeatEvent())
    return events


def tool_call_event(name: Any, args: Any) -> StepEvent | QuestionEvent:
    """A call of one of the backend agent's tools: its question for the user, or the step it names."""
    args = _object_or_none(args) or {}
    if name == QUESTION_TOOL and (question := _question_in(args)):
        return QuestionEvent(question=question, choices=_choices_in(args))
    return StepEvent(label=BACKEND_STEPS.get(str(name), OTHER_STEP))


def tool_result_event(name: Any) -> StepEvent:
    return StepEvent(label=BACKEND_STEPS.get(str(name), OTHER_STEP), finished=True)


def _question_in(args: dict[str, Any]) -> str | None:
    for key in _QUESTION_KEYS:
        value = args.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_QUESTION_CHARS]
    return None


def _choices_in(args: dict[str, Any]) -> list[str]:
    """The answers offered with a question, if it lists any (strings, or labelled items), each once."""
    for key in _CHOICE_LISTS:
        items = args.get(key)
        if not isinstance(items, list):
            continue
        labels = []
        for item in items[:MAX_CHOICES]:
            if isinstance(item, dict):
                item = next((item[k] for k in _CHOICE_LABELS if isinstance(item.get(k), str)), None)
            if isinstance(item, str) and item.strip():
                labels.append(" ".join(item.split())[:MAX_CHOICE_CHARS])
        return list(dict.fromkeys(labels))
    return []


def _stream_error(message: str, code: Any = None) -> StreamErrorEvent:
    """A failure the editor reported; out of credits when its code is 2001 or its text says so."""
    no_credits = _code_or_none(code) == NO_CREDITS_CODE or "credit" in message.lower() or "2001" in message
    return StreamErrorEvent(message=message, reason="no_credits" if no_credits else "other")


# --- Small readers ------------------------------------------------------------------------------


def _require_dict(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ApiFailure(Reason.MALFORMED, None, 200, f"{what} reply is not an object")
    return data
