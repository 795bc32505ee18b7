"""Every switch of the simulator, in one pydantic model.

Each [conflict] or [inferred] point of the backend contract is a switch here, so a test can run the
client against every variant. Switches can be set when the simulator is built and changed while it
runs (`POST /_sim/config`, or plain attribute assignment, which is validated). A few switches are
*one-shot*: the simulator sets them back to their default once they have fired (see `ONE_SHOT`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MB = 1024 * 1024


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- wire variants -------------------------------------------------------------------------
    event_shape: Literal["adk", "typed"] = Field(
        "adk", description="adk: camelCase ADK events; typed: the withdrawn {'type': ...} events."
    )
    heartbeat: Literal["comment", "empty_data", "typed"] = Field(
        "comment", description="': ping' comment lines, empty 'data:' lines, or data {'type':'heartbeat'}."
    )
    heartbeats_per_gap: int = Field(2, ge=0, description="Heartbeats sent while a tool 'works'.")
    heartbeat_interval_s: float = Field(0.02, ge=0, description="Pause before each heartbeat.")
    event_delay_s: float = Field(0.01, ge=0, description="Pause before each event of a stream.")
    line_ending: Literal["lf", "crlf"] = "lf"
    partial_text: bool = Field(False, description="Send reply text as partial chunks, then the full event.")
    reply_text: Literal["normal", "none", "mixed", "zh"] = Field(
        "normal",
        description="normal: English replies (Chinese if the session language or message is Chinese); "
        "none: no text events at all; mixed: every third edit of a session has no text (the contract's "
        "~30%); zh: always Chinese.",
    )
    envelope: Literal["code", "success"] = Field(
        "code", description="Business endpoints: {'code':0,'data':..} or {'success':true,'data':..}."
    )
    render_envelope: Literal["success", "bare"] = Field(
        "success", description="Render proxy replies: {'success':true,'data':..} or the bare object."
    )
    render_poll_shape: Literal["A", "B"] = Field(
        "A", description="A: id/status/progress/outputUrl/createdAt/completedAt; B: taskId/.../output{}."
    )
    error_style: Literal["http200", "http_status"] = Field(
        "http200",
        description="Business errors (1001, 1002, 2001, 4001, 4002) as HTTP 200 with a body code, or "
        "with a matching HTTP status. 400, 402, 429 and 5xx always use their HTTP status.",
    )
    auth_error_code: Literal[1001, 1010, 1011] = Field(1001, description="Code for a bad/expired token.")
    run_sse_missing_session: Literal["code", "detail_404"] = Field(
        "code", description="/run_sse on an unknown session: code 1002, or HTTP 404 {'detail': ...}."
    )
    output_url: Literal["download", "cdn"] = Field(
        "download",
        description="Render outputUrl: the Bearer-protected proxy download URL, or an open /cdn/ URL.",
    )
    require_sse_accept: bool = Field(True, description="/run_sse without Accept: text/event-stream -> 406.")
    cdn_refuses: bool = Field(
        False,
        description="/cdn/renders/ answers 403 (the open render URL refuses downloads; with output_url='cdn'), so a "
        "client must fall back to the Bearer GET /api/render/proxy/<id>/download. Each refusal is counted in "
        "World.cdn_refused.",
    )
    broken_video: Literal["none", "no_moov", "cut"] = Field(
        "none",
        description="The finished render's file as served: whole, without its moov box (no index), or cut off "
        "halfway. It still starts like an MP4, so only a client that probes the file notices.",
    )

    # --- economics and limits ------------------------------------------------------------------
    initial_credits: float = Field(100, ge=0, description="Credits of each new anonymous user.")
    edit_cost: float = Field(50, ge=0, description="Credits charged per edit turn.")
    clip_cost: float = Field(100, ge=0, description="Credits per generated clip (replaces edit_cost).")
    max_upload_bytes: int = Field(200 * MB, ge=1, description="Per file; above it -> code 4002.")
    enforce_token_limit: bool = Field(
        True,
        description="One anonymous token per client id per 7 days (else 429). A token expired by the "
        "expire_tokens fault does not count.",
    )
    token_ttl_s: float = Field(7 * 24 * 3600, gt=0)
    retry_after_s: float | None = Field(None, description="Retry-After header on 429 replies, if set.")

    # --- renders -------------------------------------------------------------------------------
    render_polls: int = Field(3, ge=1, description="Polls until a render finishes (poll-driven mode).")
    render_seconds: float | None = Field(None, description="If set, renders advance by wall time instead of by polls.")
    slow_render: bool = Field(False, description="Renders take slow_render_polls polls.")
    slow_render_polls: int = Field(20, ge=1)
    fail_render: bool = Field(False, description="Renders end 'failed'.")
    export_402: bool = Field(False, description="Render start -> 402 (free plan export blocked).")
    duplicate_id_once: bool = Field(False, description="One-shot: next render start fails as duplicate.")
    render_frozen_credits: float = Field(
        0,
        ge=0,
        description="Credits a render holds (frozen) while it runs; all released when it completes, fails or is "
        "cancelled (export stays free).",
    )

    # --- stream faults -------------------------------------------------------------------------
    cut_stream: bool = Field(False, description="Cut /run_sse abruptly after the edit was applied.")
    cut_stream_before_apply: bool = Field(False, description="Cut /run_sse before applying the edit.")
    late_apply_s: float | None = Field(
        None, description="With cut_stream_before_apply: apply the edit this many seconds after the cut."
    )
    heartbeats_only: float | None = Field(
        None, description="Seconds of heartbeats only, then a clean close; the edit is not applied."
    )
    stream_error: str | None = Field(None, description="Send data: {'error': <this>} mid-stream.")
    session_404: bool = Field(
        False, description="One-shot: next /run_sse forgets its session and answers 404 {'detail'}."
    )
    ask_question: bool = Field(
        False,
        description="One-shot: the next edit's agent calls its ask_question tool (args `question` and `options`: "
        "question_text and question_options), says the question as its reply and ends the turn without applying "
        "an edit (it costs nothing). The session's following turn takes its message as the answer: it plans "
        "normally, an uploaded file whose name the answer contains goes first, and the reply begins with the answer.",
    )
    question_text: str = Field("Which photo should open the video?", min_length=1)
    question_options: list[str] = Field(
        default_factory=lambda: ["beach", "city", "forest"], description="The options of ask_question ([]: none)."
    )

    # --- account and transport faults ----------------------------------------------------------
    expire_tokens: bool = Field(
        False, description="One-shot: the next authenticated call invalidates every token -> 1001."
    )
    drop_sessions: bool = Field(
        False, description="One-shot: the next call naming a session forgets all sessions -> 1002."
    )
    credits_zero: bool = Field(False, description="Balance reads 0 and edits answer 2001.")
    rate_limit_once: bool = Field(False, description="One-shot: the next request gets 429.")
    fail_next_n: int = Field(0, ge=0, description="The next N requests get HTTP 503 (an HTML body).")
    malformed_json_next: bool = Field(False, description="One-shot: the next JSON reply is cut short.")
    secret_token: str | None = Field(None, description="Issue this exact token value (for leak checks).")
    registered_token: str | None = Field(
        None,
        description="A registered (non-anonymous) account's token, as a user sets it in NEMO_TOKEN: accepted from "
        "its first use, for a user `usr_<hex>` created then with initial_credits. Never issued by "
        "/api/auth/anonymous-token.",
    )
    stall_paths: list[str] = Field(
        default_factory=list,
        description="Contract requests (not /_sim/, /cdn/) whose path starts with one of these (e.g. '/api/', "
        "'/run_sse') are accepted, read and recorded, then never answered: the connection is held open and "
        "not a byte is sent until the client gives up (or stall_s passes; then HTTP 504).",
    )
    stall_s: float = Field(600, gt=0, description="How long a stalled request is held before the 504.")

    # --- hostile replies (tests/sim/hostile.py): too large, endless, inflating, nested, absurd --------
    state_gzip_bomb: bool = Field(
        False,
        description="State replies are 1 GB of zeros, gzip-compressed (Content-Encoding: gzip, about 1 MB on the "
        "wire, compressed lazily as the client reads): a client must cap the decoded size, not the raw one.",
    )
    state_endless: bool = Field(
        False,
        description="State replies start like a state, then send one more track for as long as the client reads: "
        "a body that never ends.",
    )
    sse_huge_line_mb: float | None = Field(
        None,
        gt=0,
        description="The edit's reply text comes as one SSE line of valid event JSON this many MB long (e.g. 50), "
        "in place of the normal reply; the rest of the stream is normal and the edit is applied.",
    )
    render_progress: Literal["number", "nan", "1e999"] = Field(
        "number",
        description="Render poll replies carry progress as a number, as the string 'nan', or as the bare JSON "
        "number 1e999 (valid JSON that overflows a float to infinity).",
    )
    render_progress_polls: int | None = Field(
        None, ge=0, description="With render_progress: only the next N poll replies carry it (None: every one)."
    )
    draft_infinity: bool = Field(
        False,
        description="State replies' drafts hold Infinity (non-standard JSON that Python reads) as the first track's "
        "`tt` and a segment's volume, and -Infinity as the duration.",
    )
    odd_code: str | None = Field(
        None,
        description="Every JSON reply that has a `code` carries this string instead, e.g. '--5' or '²' (text that "
        "str.isdigit() calls digits but that is no number).",
    )
    deep_json: Literal["off", "envelope", "sse"] = Field(
        "off",
        description="envelope: every JSON reply object carries one more key holding a value nested deep_json_depth "
        "levels deep; sse: the edit stream carries one text event that nests that deep (and the normal reply).",
    )
    deep_json_depth: int = Field(1500, ge=1, description="How deep deep_json nests.")
    big_draft_segments: int | None = Field(
        None,
        ge=1,
        description="State replies carry, instead of the session's draft, one video track of this many segments "
        "(100,000 is about 10 MB of JSON).",
    )
    reject_tokens: bool = Field(
        False,
        description="Every authenticated call answers auth_error_code (1001) and revokes the token it carried, while "
        "new anonymous tokens are still issued (revoked ones do not count toward the one-per-7-days limit): a "
        "backend that keeps rejecting new tokens.",
    )

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update, validating every value; all-or-nothing."""
        merged = self.model_validate({**self.model_dump(), **changes})
        for name in changes:
            setattr(self, name, getattr(merged, name))


ONE_SHOT = (
    "duplicate_id_once",
    "session_404",
    "ask_question",
    "expire_tokens",
    "drop_sessions",
    "rate_limit_once",
    "malformed_json_next",
)


def parse_setting(text: str) -> tuple[str, Any]:
    """Parse one `key=value` from the command line; the value is JSON when it parses, else a string."""
    key, sep, raw = text.partition("=")
    if not sep:
        raise ValueError(f"expected key=value, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value
