"""Hostile data, generated: whatever the backend or the editor sends, only our own errors escape.

Property-based (hypothesis). Each test states what a function promises for *any* input, not only
that it does not raise. `pytest --hypothesis-profile=ci` runs ten times the examples.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import re
import zlib
from collections.abc import AsyncIterator
from typing import Any, get_args

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from nemo_video_mcp import draft, gui
from nemo_video_mcp.backends import bodies, wire
from nemo_video_mcp.backends.sse import Comment, Event, EventReader
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.errors import BadResponseError, ReplyTooLargeError

# --- Strategies ---------------------------------------------------------------------------------

LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc80b"])
"""JSON can carry them (`"\\ud800"` parses), so a backend string may hold one."""
TEXT = st.text(max_size=12) | LONE_SURROGATES
NUMBERS = st.integers(-(10**20), 10**20) | st.floats(allow_nan=True, allow_infinity=True)
NUMERIC_TEXT = st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e999", "--5", "²", "1_000", "12", " 3.5 ", "50%"])
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT | NUMERIC_TEXT
DRAFT_KEYS = ["t", "tt", "sg", "d", "m", "start", "volume", "vol", "name", "text", "title", "tr", "duration", "id"]
KEYS = st.sampled_from(DRAFT_KEYS) | st.text(max_size=4)


def json_values(scalars: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    """Any JSON the standard parser can produce (NaN and Infinity included, with `SCALARS`)."""
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
        max_leaves=30,
    )


JSON = json_values()
ODD_CODES = st.sampled_from([0, 1001, 1002, 2001, 4001, 4002, 400, 402, 429, -1, 10**12, "0", "1001", "x", 1e999])
REPLY_OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "code": ODD_CODES | SCALARS,
        "success": SCALARS,
        "data": JSON,
        "message": TEXT | JSON,
        "error": TEXT | JSON,
        "detail": TEXT,
    },
)
STATUSES = st.sampled_from([200, 201, 204, 400, 401, 402, 404, 408, 409, 429, 500, 503]) | st.integers(100, 599)


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@st.composite
def json_texts(draw: st.DrawFn) -> str | bytes:
    """Reply bodies: valid JSON (NaN and Infinity spelled the way Python does), deep nesting, or junk."""
    kind = draw(st.sampled_from(["json", "object", "deep", "text", "bytes"]))
    if kind == "json":
        return json.dumps(draw(JSON))
    if kind == "object":
        return json.dumps(draw(REPLY_OBJECTS))
    if kind == "deep":
        return deeply_nested(draw(st.integers(60, 3000)))
    if kind == "text":
        return draw(st.text(max_size=40))
    return draw(st.binary(max_size=40))


def finite_if_numeric(text: str) -> bool:
    try:
        return math.isfinite(float(text.strip().rstrip("%")))
    except ValueError:
        return True


FINITE_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12).filter(finite_if_numeric)
    | NUMERIC_TEXT.filter(finite_if_numeric)
)
"""Finite numbers and valid text: test_properties_found.py gives the draft readers NaN, Infinity and lone surrogates."""


def drafts(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Drafts shaped like the backend's (t/tt/sg/d/m), or any object, with `scalars` at the leaves."""
    values = json_values(scalars)
    segment = st.dictionaries(KEYS, values, max_size=3) | st.fixed_dictionaries(
        {}, optional={key: scalars | values for key in ("start", "d", "duration", "volume", "name", "text", "m", "tr")}
    )
    track = st.fixed_dictionaries(
        {},
        optional={
            "tt": st.sampled_from([0, 1, 7, 0.0, 1.0, "1", "7"]) | scalars,
            "sg": st.lists(segment | scalars, max_size=5) | scalars,
            **{key: scalars for key in ("d", "volume", "name", "id")},
            "m": values,
        },
    )
    shaped = st.fixed_dictionaries({}, optional={"t": st.lists(track | scalars, max_size=5), "d": scalars, "m": values})
    return shaped | st.dictionaries(KEYS, values, max_size=5)


DRAFTS = drafts(FINITE_SCALARS)
HOSTILE_DRAFTS = drafts(SCALARS)


# --- SSE reader ---------------------------------------------------------------------------------

SSE_PIECES = st.sampled_from(
    [b"data:", b"data: ", b": ping", b"event: x", b"\n", b"\r", b"\r\n", b"x", b" ", b"\xe9", b"{}"]
)
SSE_STREAMS = st.lists(SSE_PIECES, max_size=40).map(b"".join) | st.binary(max_size=200)
SSE_LINES = st.lists(st.sampled_from([b"data:", b"data: ", b": ping", b"event: x", b"x", b" ", b"\xe9", b"{}", b""]))
SSE_UNIFORM_STREAMS = st.builds(
    lambda lines, eol, last: eol.join(b"".join(line) for line in lines) + last,
    st.lists(SSE_LINES.filter(lambda pieces: len(pieces) <= 4), max_size=10),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.sampled_from([b"", b"\n", b"\r\n", b"\r"]),
).filter(lambda raw: not (b"\r\n" in raw and re.search(rb"\r(?!\n)|(?<!\r)\n", raw)))
"""Streams whose line ends are all LF, all CRLF or all CR (mixed ends: test_properties_found.py)."""


def read_all(reader: EventReader, chunks: list[bytes]) -> list[Event | Comment]:
    items: list[Event | Comment] = []
    for chunk in chunks:
        items += reader.feed(chunk)
        assert len(reader._line) <= reader.max_line_bytes  # a long line is never held whole
    return items + list(reader.close())


CUTS = st.lists(st.integers(0, 1000), max_size=12)


def cut(raw: bytes, cuts: list[int]) -> list[bytes]:
    """`raw` cut at `cuts` (beyond its end: at its end), empty chunks included."""
    ends = sorted(min(c, len(raw)) for c in cuts)
    return [raw[a:b] for a, b in zip([0, *ends], [*ends, len(raw)], strict=True)]


def reference_events(raw: bytes) -> list[Event | Comment]:
    """The event-stream rules, read from the whole stream at once (no caps)."""
    lines = re.split(rb"\r\n|\r|\n", raw)
    complete, last = lines[:-1], lines[-1]
    items: list[Event | Comment] = []
    data: list[bytes] | None = None
    for line in [*complete, *([last] if last else []), b""]:
        if not line:
            if data is not None:
                items.append(Event(b"\n".join(data).decode("utf-8", "replace")))
            data = None
        elif line.startswith(b":"):
            items.append(Comment())
        elif line.partition(b":")[0] == b"data":
            value = line.partition(b":")[2]
            data = [*(data or []), value[1:] if value.startswith(b" ") else value]
    return items


@given(SSE_STREAMS)
@example(b"data: a\r\n\ndata: b\n\n")
def test_the_sse_reader_follows_the_event_stream_rules(raw: bytes) -> None:
    assert read_all(EventReader(), [raw]) == reference_events(raw)


def assert_chunk_boundaries_do_not_matter(raw: bytes, cuts: list[int], max_line: int, max_event: int) -> None:
    whole = EventReader(max_line_bytes=max_line, max_event_bytes=max_event)
    expected = read_all(whole, [raw])
    split = EventReader(max_line_bytes=max_line, max_event_bytes=max_event)
    assert read_all(split, cut(raw, cuts)) == expected
    assert (split.skipped_lines, split.skipped_events) == (whole.skipped_lines, whole.skipped_events)
    byte_by_byte = EventReader(max_line_bytes=max_line, max_event_bytes=max_event)
    assert read_all(byte_by_byte, [raw[i : i + 1] for i in range(len(raw))]) == expected


@given(SSE_UNIFORM_STREAMS, CUTS, st.integers(1, 30), st.integers(1, 60))
def test_the_sse_reader_gives_the_same_events_whatever_the_chunk_boundaries(
    raw: bytes, cuts: list[int], max_line: int, max_event: int
) -> None:
    assert_chunk_boundaries_do_not_matter(raw, cuts, max_line, max_event)


@given(SSE_STREAMS, st.integers(1, 30), st.integers(1, 60))
def test_the_sse_caps_bound_every_event(raw: bytes, max_line: int, max_event: int) -> None:
    for item in read_all(EventReader(max_line_bytes=max_line, max_event_bytes=max_event), [raw]):
        if isinstance(item, Event):
            assert len(item.data) <= max_event  # characters: a byte that is not UTF-8 becomes one U+FFFD


# --- Wire parsers -------------------------------------------------------------------------------


def assert_ours(failure: ApiFailure, http_status: int = 200) -> None:
    assert isinstance(failure.reason, Reason)
    assert failure.http_status == http_status
    assert isinstance(failure.message, str)
    assert len(failure.message) <= wire.MAX_MESSAGE_CHARS + 200  # a backend message is cut before it shows
    assert failure.code is None or isinstance(failure.code, int)
    str(failure)


@given(STATUSES, json_texts())
@example(200, deeply_nested(5000))
@example(200, "NaN")
@example(500, b"\xff\xfe")
def test_an_envelope_yields_its_payload_or_our_failure(http_status: int, body: str | bytes) -> None:
    try:
        payload = wire.parse_envelope(http_status, body)
    except ApiFailure as failure:
        assert_ours(failure, http_status)
        return
    assert 200 <= http_status < 300, "a non-2xx reply is always a failure"
    assert not wire._nested_deeper_than(payload, wire.MAX_JSON_DEPTH)


@given(st.sampled_from([200, 201]), REPLY_OBJECTS)
def test_an_envelope_with_code_zero_yields_its_data(http_status: int, reply: dict[str, Any]) -> None:
    reply = {**reply, "code": 0}
    assert_same_json(wire.parse_envelope(http_status, json.dumps(reply)), reply.get("data"))


def assert_same_json(actual: Any, expected: Any) -> None:
    assert json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True)


@given(JSON, st.booleans(), st.sampled_from([wire.SANE_MAGNITUDE, wire.MAX_CODE, 100.0]))
@example("1e5", False, 100.0)
@example(True, False, wire.SANE_MAGNITUDE)
def test_a_number_is_sane_absent_or_our_failure(value: Any, whole: bool, limit: float) -> None:
    try:
        number = wire.parse_number(value, "a number", whole=whole, limit=limit)
    except ApiFailure as failure:
        assert_ours(failure)
        return
    if number is None:
        assert value is None or value == ""
        return
    assert not isinstance(number, bool)
    assert isinstance(number, int) if whole else isinstance(number, int | float)
    assert math.isfinite(number) and abs(number) <= limit


def no_non_finite(value: Any) -> bool:
    json.dumps(value, allow_nan=False)
    return True


@given(JSON | st.dictionaries(st.sampled_from(["state", "draft", "session_id"]), JSON), TEXT)
@example({"state": {"draft": "[" * 100 + "]" * 100}}, "s")
@example({"draft": json.dumps({"t": [{"tt": float("nan")}], "d": float("inf")})}, "s")
def test_a_state_is_a_json_safe_draft_or_our_failure(data: Any, session_id: str) -> None:
    try:
        state = wire.parse_state(data, session_id)
    except ApiFailure as failure:
        assert_ours(failure)
        return
    assert isinstance(state.draft, dict)
    assert state.session_id == str(data.get("session_id") or session_id)
    assert no_non_finite(state.draft) and no_non_finite(state.extra)  # NaN and Infinity were read as null


RENDER_REPLIES = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["completed", "FAILED", "queued", "weird", ""]) | SCALARS,
        "progress": SCALARS,
        "data": JSON | st.fixed_dictionaries({}, optional={"status": SCALARS, "progress": SCALARS, "output": JSON}),
        "output": JSON | st.fixed_dictionaries({}, optional={"url": SCALARS, "duration": SCALARS, "size": SCALARS}),
        "outputUrl": SCALARS,
        "error": TEXT | JSON,
    },
)


@given(RENDER_REPLIES | JSON, TEXT)
def test_a_render_status_is_bounded_or_our_failure(payload: Any, job_id: str) -> None:
    try:
        status = wire.parse_render_status(payload, job_id)
    except ApiFailure as failure:
        assert_ours(failure)
        return
    assert status.job_id == job_id
    assert status.status in get_args(wire.RenderState)
    assert isinstance(status.progress, int) and 0 <= status.progress <= 100
    assert status.progress == 100 or status.status != "completed"
    assert status.error is None or len(status.error) <= wire.MAX_MESSAGE_CHARS + 1
    assert status.duration_s is None or math.isfinite(status.duration_s)


STREAM_EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["text", "heartbeat", "tool_call", "function_response", "error", "x"]) | SCALARS,
        "content": TEXT | JSON | st.fixed_dictionaries({"parts": st.lists(JSON, max_size=3)}),
        "text": SCALARS,
        "name": SCALARS,
        "args": JSON,
        "error": TEXT | JSON,
        "errorCode": SCALARS,
        "errorMessage": SCALARS,
        "partial": SCALARS,
    },
)


@given(STREAM_EVENTS.map(json.dumps) | json_texts().map(lambda body: body if isinstance(body, str) else body.hex()))
@example(deeply_nested(3000))
@example('{"type": "text", "content": NaN}')
def test_a_stream_event_is_domain_events_never_an_exception(data: str) -> None:
    events = wire.parse_stream_event(data)
    assert isinstance(events, list)
    for event in events:
        json.dumps(event.model_dump(mode="json"))  # a domain model, ready to show


BUSINESS_KEYS = ["token", "access_token", "user_id", "session_id", "sessionId", "task_id", "claim_token"]
BUSINESS_REPLIES = st.dictionaries(
    st.sampled_from([*BUSINESS_KEYS, "expires_in", "available", "frozen", "total", "files"]),
    SCALARS
    | JSON
    | st.lists(st.dictionaries(st.sampled_from(["filename", "size", "width", "duration", "url"]), SCALARS)),
    max_size=5,
)


@given(BUSINESS_REPLIES | JSON, st.lists(TEXT, max_size=3))
def test_business_payloads_are_models_or_our_failure(data: Any, sources: list[str]) -> None:
    readers = [
        wire.parse_token_grant,
        wire.parse_session,
        wire.parse_claim,
        wire.parse_balance,
        lambda data: wire.parse_uploaded_files(data, sources),
    ]
    for read in readers:
        try:
            read(data)
        except ApiFailure as failure:
            assert_ours(failure)
    try:
        balance = wire.parse_balance(data)
    except ApiFailure:
        return
    assert all(math.isfinite(n) for n in (balance.available, balance.frozen, balance.total))


# --- Reply bodies -------------------------------------------------------------------------------


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def read_body(chunks: list[bytes], encoding: str, limit: int) -> str:
    headers = {"content-encoding": encoding} if encoding else {}
    response = httpx.Response(200, headers=headers, stream=Chunks(chunks))
    return asyncio.run(bodies.read_text(response, "the reply", limit))


def raw_deflate(payload: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(payload) + compressor.flush()


ENCODE = {"": bytes, "gzip": gzip.compress, "deflate": zlib.compress, "deflate-raw": raw_deflate}


@given(st.binary(max_size=300), st.sampled_from(["", "gzip", "deflate", "deflate-raw"]), CUTS, st.integers(0, 400))
def test_a_compressed_body_reads_back_whole_or_stops_at_the_cap(
    payload: bytes, encoding: str, cuts: list[int], limit: int
) -> None:
    assert_reads_back(payload, encoding, cut(ENCODE[encoding](payload), cuts), limit)


def assert_reads_back(payload: bytes, encoding: str, chunks: list[bytes], limit: int) -> None:
    header = "deflate" if encoding == "deflate-raw" else encoding
    try:
        text = read_body(chunks, header, limit)
    except ReplyTooLargeError:
        assert len(payload) > limit
        return
    assert len(payload) <= limit
    assert text == payload.decode("utf-8-sig", "replace")


@given(st.binary(max_size=200), st.sampled_from(["gzip", "deflate", "x-gzip", "br", "gzip, deflate"]), CUTS)
@example(b"\x1f\x8b\x08\x00junk", "gzip", [3])
def test_a_corrupt_or_unknown_encoding_is_our_error(raw: bytes, encoding: str, cuts: list[int]) -> None:
    try:
        text = read_body(cut(raw, cuts), encoding, 1000)
    except BadResponseError:
        return
    assert isinstance(text, str)


# --- Drafts -------------------------------------------------------------------------------------


def from_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


@given(DRAFTS)
def test_a_draft_of_anything_summarizes_to_one_line(draft_: dict[str, Any]) -> None:
    tracks = draft.summarize_tracks(draft_)
    summary = draft.timeline_summary(draft_)
    assert summary.startswith("Timeline (")
    assert summary == draft.timeline_summary(draft_, tracks)
    assert summary == draft.EMPTY_TIMELINE or f"({len(tracks)} track" in summary
    for track in tracks:
        assert track.end_s >= track.start_s or math.isnan(track.start_s) or math.isnan(track.end_s)
        assert len(track.label) <= draft.MAX_LABEL_CHARS
        assert track.volume_percent is None or track.kind == "BGM"
    assert isinstance(draft.is_exportable(draft_), bool)
    assert draft.is_exportable(draft_) == any(track.segment_count for track in tracks)
    assert isinstance(draft.timeline_duration_s(draft_), float)


@given(DRAFTS, DRAFTS)
def test_two_drafts_of_anything_describe_their_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
    text = draft.describe_changes(before, after)
    assert isinstance(text, str) and text
    assert draft.describe_changes(before, before) == "No change to the timeline."
    assert (text == "No change to the timeline.") == (draft.draft_fingerprint(before) == draft.draft_fingerprint(after))


@given(DRAFTS)
def test_a_fingerprint_survives_a_json_round_trip(draft_: dict[str, Any]) -> None:
    fingerprint = draft.draft_fingerprint(draft_)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert draft.draft_fingerprint(from_json(draft_)) == fingerprint
    reordered = dict(reversed(list(draft_.items())))
    assert draft.draft_fingerprint(reordered) == fingerprint


@given(DRAFTS, st.integers(0, 2000))
@example({"t": [{"sg": [{"name": "x" * 50}] * 20}]}, 100)
def test_a_trimmed_draft_keeps_its_shape_and_says_what_it_cut(draft_: dict[str, Any], max_bytes: int) -> None:
    trimmed, left_out, cut_ = draft.trimmed_draft(draft_, max_bytes)
    size = len(
        json.dumps(trimmed, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    )
    if not cut_:
        assert trimmed == draft_ and left_out == 0 and size <= max_bytes
        return
    original_tracks = draft._tracks(draft_)
    assert len(trimmed["t"]) == len(original_tracks)  # every track is kept
    for original, kept in zip(original_tracks, trimmed["t"], strict=True):
        assert draft._segments(kept) == draft._segments(original)[: len(draft._segments(kept))]  # a prefix
    assert (
        0
        <= left_out
        == sum(len(draft._segments(t)) for t in original_tracks) - sum(len(draft._segments(t)) for t in trimmed["t"])
    )
    minimal = all(set(track) <= {"id", "tt"} for track in trimmed["t"]) and set(trimmed) == {"t"}
    assert size <= max_bytes or minimal  # over the cap only once nothing but the track names is left


# --- GUI translator -----------------------------------------------------------------------------

GUI_PHRASES = st.sampled_from(
    [
        "click", "Click the ", "button", "点击", "drag", "拖拽", "open the ", " panel", "Export", "export",
        "download the video", "导出", "“", "”", "\"", "'", " to ", " and then ", ", ", ". ", "\n", "the",
        "右上角", "按钮", "打开", "面板", "tap on", "Upload", "timeline", "{call}", "{0}", "%s",
    ]
)  # fmt: skip
GUI_TEXTS = st.lists(GUI_PHRASES | st.text(max_size=8), max_size=20).map("".join) | st.text(max_size=80)
TOOLS = set(get_args(gui.ToolName))


@given(GUI_TEXTS)
@example("Click the {target} button and drag {call} to the timeline")
@example("点击右上角的“导出”按钮，然后拖拽到时间线")
def test_any_text_translates_into_known_tools(text: str) -> None:
    translation = gui.translate_reply(text)
    assert isinstance(translation.text, str)
    assert all(action.tool in TOOLS for action in translation.actions)
    keys = [(a.tool, tuple(sorted(a.arguments.items()))) for a in translation.actions]
    assert len(keys) == len(set(keys))  # deduplicated
    for action in translation.actions:
        assert set(action.arguments) <= {"instruction"}
        assert ("instruction" in action.arguments) <= (action.tool == "generate_video")
    if not translation.actions:
        assert translation.text == text  # text without a GUI step comes back unchanged


GUI_WORDS = re.compile(
    r"(?i)click|tap|press|hit|push|select|choos|use|go|open|drag|drop|download|export|view|see|check|watch|play"
    r"|review|preview|look|switch|navigate|head|expand|bring|[点单双轻按使通用选打拖导下预在于查播时]"
)


@given(st.text(max_size=60) | GUI_TEXTS)
def test_text_without_gui_words_comes_back_unchanged(text: str) -> None:
    plain = text
    while (shorter := GUI_WORDS.sub("", plain)) != plain:  # until no removal makes a new GUI word
        plain = shorter
    translation = gui.translate_reply(plain)
    assert translation == gui.Translation(text=plain, actions=[])
