"""Every wire variant the contract lists, read by the one parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.models import HeartbeatEvent, QuestionEvent, StepEvent, StreamErrorEvent, TextEvent


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (200, {"code": 0, "data": {"a": 1}}, {"a": 1}),
        (200, {"code": "0", "data": {"a": 1}}, {"a": 1}),
        (200, {"success": True, "data": {"a": 2}}, {"a": 2}),
        (200, {"success": True, "id": "r1", "status": "pending"}, {"success": True, "id": "r1", "status": "pending"}),
        (200, {"id": "r1", "status": "pending"}, {"id": "r1", "status": "pending"}),
        (201, {"code": 0, "data": [1, 2]}, [1, 2]),
        (200, [1, 2], [1, 2]),
    ],
)
def test_envelopes_yield_their_payload(status: int, payload: object, expected: object) -> None:
    assert wire.parse_envelope(status, body(payload)) == expected


@pytest.mark.parametrize(
    ("status", "payload", "reason", "code"),
    [
        # business errors on HTTP 200, in both envelopes
        (200, {"code": 1001, "message": "token expired"}, Reason.TOKEN, 1001),
        (200, {"code": 1010, "message": "bad token"}, Reason.TOKEN, 1010),
        (200, {"code": 1011, "message": "bad token"}, Reason.TOKEN, 1011),
        (200, {"code": 1002, "message": "Session not found"}, Reason.SESSION, 1002),
        (200, {"code": 2001, "message": "no credits"}, Reason.CREDITS, 2001),
        (200, {"code": 4001, "message": "unsupported"}, Reason.UNSUPPORTED_FILE, 4001),
        (200, {"code": 4002, "message": "too large"}, Reason.FILE_TOO_LARGE, 4002),
        (200, {"success": False, "error": "duplicate id render_1"}, Reason.DUPLICATE, None),
        (200, {"success": False, "code": 402, "error": "export blocked"}, Reason.PLAN, 402),
        (200, {"code": 9999, "message": "weird"}, Reason.OTHER, 9999),
        # the same as HTTP statuses
        (401, {"code": 1001, "message": "expired"}, Reason.TOKEN, 1001),
        (401, {"detail": "Unauthorized"}, Reason.TOKEN, 401),
        (404, {"detail": "Session not found"}, Reason.SESSION, 404),
        (404, {"detail": "Not Found"}, Reason.NOT_FOUND, 404),
        (400, {"message": "missing X-Client-Id header"}, Reason.CLIENT_ID, 400),
        (402, {"message": "free plan"}, Reason.PLAN, 402),
        (429, {"code": 429, "message": "slow down"}, Reason.RATE_LIMIT, 429),
        (429, {}, Reason.RATE_LIMIT, 429),
        (409, {"success": False, "error": "exists"}, Reason.DUPLICATE, 409),
        (408, {}, Reason.UNAVAILABLE, 408),
        (502, {"message": "bad gateway"}, Reason.UNAVAILABLE, 502),
        (200, {"code": 2001}, Reason.CREDITS, 2001),
    ],
)
def test_failures_map_to_one_reason(status: int, payload: object, reason: Reason, code: int | None) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(status, body(payload))
    assert caught.value.reason is reason
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("status", "raw", "reason"),
    [
        (200, b"{not json", Reason.MALFORMED),
        (200, b"", Reason.MALFORMED),
        (200, b'{"code": "abc"}', Reason.MALFORMED),
        (503, b"<html>Service Unavailable</html>", Reason.UNAVAILABLE),
        (404, b"not here", Reason.NOT_FOUND),
    ],
)
def test_unreadable_replies_are_failures_not_crashes(status: int, raw: bytes, reason: Reason) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(status, raw)
    assert caught.value.reason is reason


def test_business_payloads() -> None:
    grant = wire.parse_token_grant(
        {"token": "nmv_usr_x1", "user_id": "anon_1", "expires_at": "2026-12-01T00:00:00Z", "credits": 100}
    )
    assert (grant.token, grant.user_id, grant.expires_at) == ("nmv_usr_x1", "anon_1", "2026-12-01T00:00:00Z")
    session = wire.parse_session({"task_id": "task_1", "session_id": 123456789012345678, "user_id": "anon_1"})
    assert session.session_id == "123456789012345678"
    balance = wire.parse_balance({"available": 60, "frozen": 40})
    assert (balance.available, balance.frozen, balance.total) == (60, 40, 100)
    files = wire.parse_uploaded_files(
        {
            "files": [
                {"filename": "a.jpg", "file_type": "image", "cdn_url": "https://cdn/a.jpg", "width": 640, "height": 480}
            ],
            "session_state_applied": True,
        },
        ["/tmp/a.jpg"],
    )
    assert files[0].url == "https://cdn/a.jpg"
    assert (files[0].source, files[0].width, files[0].height) == ("/tmp/a.jpg", 640, 480)
    with pytest.raises(ApiFailure):
        wire.parse_token_grant({"user_id": "anon"})
    with pytest.raises(ApiFailure):
        wire.parse_balance({"frozen": 1})


@pytest.mark.parametrize(
    ("read", "reply", "expected"),
    [
        (wire.parse_token_grant, {"access_token": "t", "userId": 7, "expiresAt": "z"}, ("t", "7", "z")),
        (wire.parse_session, {"sessionId": "s", "taskId": 12, "userId": "u"}, ("s", "12", "u")),
        (wire.parse_claim, {"claimToken": " clm_1 ", "expiresIn": "604800"}, ("clm_1", 604800.0)),
        (wire.parse_claim, {"claim_token": "clm_1", "expires_in": 1e12}, ("clm_1", None)),
        (wire.parse_balance, {"available": "5", "frozen": None}, (5.0, 0.0, 5.0)),
        (wire.parse_balance, {"available": 5, "frozen": 1, "total": 9}, (5.0, 1.0, 9.0)),
    ],
)
def test_every_spelling_of_a_business_payload_is_read(read: Any, reply: dict, expected: tuple) -> None:
    """The contract's variants (snake_case and camelCase, ids as numbers, numbers as text), one model each."""
    parsed = read(reply)
    assert tuple(parsed.model_dump().values()) == expected


@pytest.mark.parametrize(
    ("read", "reply", "message"),
    [
        (wire.parse_token_grant, {"token": ""}, "has no token"),
        (wire.parse_session, {"session_id": True}, "no usable session_id"),
        (wire.parse_session, {"session_id": ""}, "no usable session_id"),
        (wire.parse_claim, {"claim_token": "   "}, "has no claim_token"),
        (wire.parse_uploaded_files, {"files": "x"}, "has no file list"),
        (wire.parse_balance, [], "is not an object"),
    ],
)
def test_a_business_payload_without_its_key_is_our_failure(read: Any, reply: Any, message: str) -> None:
    with pytest.raises(ApiFailure, match=message) as caught:
        read(reply) if read is not wire.parse_uploaded_files else read(reply, [])
    assert caught.value.reason is Reason.MALFORMED


def test_an_upload_reply_in_its_other_spelling_skips_what_is_not_a_file() -> None:
    files = wire.parse_uploaded_files(
        {"files": [{"filename": "b.png", "type": "image", "url": "https://cdn/b", "hash": "h"}, "junk"]}, []
    )
    assert [(f.source, f.filename, f.file_type, f.url, f.content_hash) for f in files] == [
        ("b.png", "b.png", "image", "https://cdn/b", "h")
    ]


def test_the_claim_token_is_not_in_its_repr() -> None:
    assert "clm_secret" not in repr(wire.parse_claim({"claim_token": "clm_secret"}))


def test_state_keeps_unknown_draft_keys() -> None:
    draft = {"t": [{"tt": 0, "sg": [{"d": 1000, "x_future": {"k": 1}}]}], "zz": [1, 2]}
    state = wire.parse_state(
        {"session_id": "s1", "state": {"draft": draft, "video_infos": [], "canvas_config": {"w": 1}}}, "s1"
    )
    assert state.draft == draft
    assert state.extra["canvas_config"] == {"w": 1}
    assert wire.parse_state({"state": {}}, "s2").draft == {}
    assert wire.parse_state({"state": {"draft": json.dumps(draft)}}, "s3").draft == draft


RENDER_A = {
    "success": True,
    "data": {
        "id": "render_1",
        "status": "completed",
        "progress": 100,
        "outputUrl": "https://cdn/a.mp4",
        "createdAt": "x",
        "completedAt": "y",
    },
}
RENDER_B = {
    "taskId": "render_1",
    "status": "completed",
    "progress": 100,
    "output": {"url": "https://cdn/b.mp4", "duration": 15.0, "size": 1234},
}


@pytest.mark.parametrize(
    ("payload", "status", "progress", "url", "error"),
    [
        (RENDER_A, "completed", 100, "https://cdn/a.mp4", None),
        (RENDER_A["data"], "completed", 100, "https://cdn/a.mp4", None),
        (RENDER_B, "completed", 100, "https://cdn/b.mp4", None),
        ({"data": {"id": "r", "status": "pending", "progress": 5}}, "pending", 5, None, None),
        ({"id": "r", "status": "processing", "progress": 42.4}, "processing", 42, None, None),
        ({"status": "failed", "error": "out of memory"}, "failed", 0, None, "out of memory"),
        ({"data": {"status": "failed", "error": "boom"}}, "failed", 0, None, "boom"),
        ({"status": "rendering", "progress": 0.5}, "processing", 50, None, None),
        (
            {"data": {"status": "completed"}, "outputUrl": "https://cdn/c.mp4"},
            "completed",
            100,
            "https://cdn/c.mp4",
            None,
        ),
        (
            {"data": {"status": "completed", "output": {"url": "https://cdn/d.mp4"}}},
            "completed",
            100,
            "https://cdn/d.mp4",
            None,
        ),
    ],
)
def test_render_poll_shapes(payload: dict, status: str, progress: int, url: str | None, error: str | None) -> None:
    result = wire.parse_render_status(payload, "render_1")
    assert (result.status, result.progress, result.url, result.error) == (status, progress, url, error)


def test_render_poll_shape_b_carries_output_details() -> None:
    result = wire.parse_render_status(RENDER_B, "x")
    assert (result.job_id, result.duration_s, result.size_bytes) == ("x", 15.0, 1234)  # our id, not taskId
    assert wire.parse_render_status({"status": "initializing"}, "x").status == "processing"
    with pytest.raises(ApiFailure):
        wire.parse_render_status({"progress": 5}, "x")


ASKING = "preparing a question for you"
NO_CREDITS = "Insufficient credits for this operation"

ADK_TEXT = {
    "content": {"role": "model", "parts": [{"text": "Done! Click Export."}]},
    "author": "nemo_agent",
    "id": "e1",
    "invocationId": "i1",
    "timestamp": 1.0,
    "partial": False,
}
ADK_MIXED = {
    "content": {
        "parts": [
            {"text": "thinking about it", "thought": True},
            {"functionCall": {"id": "c1", "name": "generate_video_with_seedance", "args": {"prompt": "p"}}},
            {"functionResponse": {"id": "c1", "name": "generate_video_with_seedance", "response": {"ok": 1}}},
        ]
    },
    "actions": {"stateDelta": {"draft": {}}},
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", [HeartbeatEvent()]),
        ("   ", [HeartbeatEvent()]),
        ('{"type":"heartbeat"}', [HeartbeatEvent()]),
        (json.dumps(ADK_TEXT), [TextEvent(text="Done! Click Export.")]),
        (
            json.dumps(ADK_MIXED),
            [
                StepEvent(label="generating video clips"),
                StepEvent(label="generating video clips", finished=True),
            ],
        ),
        (json.dumps({**ADK_TEXT, "partial": True}), [TextEvent(text="Done! Click Export.", partial=True)]),
        ('{"type":"text","content":"Hello"}', [TextEvent(text="Hello")]),
        (
            '{"type":"tool_call","name":"edit_multitrack","args":{"a":1}}',
            [StepEvent(label="editing the timeline")],
        ),
        (
            '{"type":"tool_result","name":"edit_multitrack","result":{}}',
            [StepEvent(label="editing the timeline", finished=True)],
        ),
        ('{"error": "model overloaded"}', [StreamErrorEvent(message="model overloaded")]),
        ('{"errorCode": "QUOTA", "errorMessage": "quota hit"}', [StreamErrorEvent(message="quota hit")]),
        ('{"type":"error","message":"bad"}', [StreamErrorEvent(message="bad")]),
        ('{"type":"tool_call","name":"new_tool_v2"}', [StepEvent(label="working on the timeline")]),
        ('{"type":"tool_call","name":"ask_question","args":{"question":"  "}}', [StepEvent(label=ASKING)]),
        (
            '{"type":"tool_call","name":"ask_question","args":{"prompt":" Which? ","choices":["a",{"text":"b"}]}}',
            [QuestionEvent(question="Which?", choices=["a", "b"])],
        ),
        (
            json.dumps(
                {"content": {"parts": [{"functionCall": {"name": "ask_question", "args": {"question": "Q?"}}}]}}
            ),
            [QuestionEvent(question="Q?")],
        ),
        ('{"type":"text","content":"x","name":"ask_question"}', [TextEvent(text="x")]),
        ('{"type":"tool_call","name":"generate_music","args":{"question":"Q?"}}', [StepEvent(label="composing music")]),
        (
            '{"error": "Insufficient credits for this operation"}',
            [StreamErrorEvent(message=NO_CREDITS, reason="no_credits")],
        ),
        ('{"errorCode": 2001, "errorMessage": "quota"}', [StreamErrorEvent(message="quota", reason="no_credits")]),
        (
            '{"type":"error","code":"2001","message":"denied"}',
            [StreamErrorEvent(message="denied", reason="no_credits")],
        ),
        ('{"error": {"code": 2001, "message": "denied"}}', [StreamErrorEvent(message="denied", reason="no_credits")]),
        ('{"error": "code 2001"}', [StreamErrorEvent(message="code 2001", reason="no_credits")]),
        ('{"errorCode": 2002, "errorMessage": "quota"}', [StreamErrorEvent(message="quota")]),
        ('{"turnComplete": true}', []),
        ("not json at all", []),
        ("[1,2]", []),
    ],
)
def test_stream_events_in_both_shapes(data: str, expected: list) -> None:
    assert wire.parse_stream_event(data) == expected


# --- nothing the backend sends is trusted -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "whole", "expected"),
    [
        (None, False, None),
        ("", False, None),
        (7, False, 7),
        (-3.5, False, -3.5),
        ("12", True, 12),
        (" -4 ", True, -4),
        ("+1.5e3", False, 1500.0),
        (".5", False, 0.5),
        (1001.0, True, 1001),
        (10**15, True, 10**15),
    ],
)
def test_the_number_parser_reads_sane_numbers(value: object, whole: bool, expected: object) -> None:
    assert wire.parse_number(value, "a count", whole=whole) == expected


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        float("-inf"),
        "nan",
        "NaN",
        "inf",
        "Infinity",
        "1e999",
        "--5",
        "²",
        "١٢",  # Arabic-Indic digits: str.isdigit() says yes
        "1_000",
        "0x10",
        "5 apples",
        " ",
        True,
        [5],
        {"n": 5},
        10**16,
        -1e16,
        "9" * 50,
    ],
)
def test_the_number_parser_refuses_anything_else_with_our_error(value: object) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_number(value, "render progress")
    assert caught.value.reason is Reason.MALFORMED
    assert caught.value.message.startswith("render progress is not a usable number (")


def test_a_whole_number_wanted_refuses_a_fraction() -> None:
    with pytest.raises(ApiFailure):
        wire.parse_number(1.5, "a code", whole=True)


@pytest.mark.parametrize("code", ["--5", "²", "1.5", "", None, [1001], "1001abc", 1e20])
def test_an_odd_code_on_a_2xx_reply_is_a_malformed_reply_not_a_crash(code: object) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(200, body({"code": code, "data": {}}))
    assert caught.value.reason is Reason.MALFORMED and "code that is not a number" in caught.value.message


@pytest.mark.parametrize("code", ["--5", "²"])
def test_an_odd_code_on_an_error_status_falls_back_to_the_status(code: str) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(503, body({"code": code, "message": "down"}))
    assert caught.value.reason is Reason.UNAVAILABLE and caught.value.code == 503


@pytest.mark.parametrize("depth", [65, 200, 1500, 100_000])
def test_json_nested_too_deep_is_refused_at_any_depth(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(200, f'{{"code":0,"data":{deep}}}'.encode())
    assert caught.value.reason is Reason.MALFORMED and "nested more than 64 deep" in caught.value.message
    assert wire.parse_stream_event(f'{{"content":{{"parts":[{{"text":"x","y":{deep}}}]}}}}') == []


def test_json_nested_64_deep_is_read() -> None:
    deep = "[" * 62 + "]" * 62  # inside {"code":..,"data":..}: 63 levels in all
    assert wire.parse_envelope(200, f'{{"code":0,"data":{deep}}}'.encode()) is not None


@pytest.mark.parametrize("progress", ["nan", "NaN", float("nan"), float("inf"), "1e999", "--5", "²", True])
def test_an_unreadable_render_progress_is_a_bad_reading(progress: object) -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_render_status({"status": "processing", "progress": progress}, "r")
    assert caught.value.reason is Reason.MALFORMED and "render progress" in caught.value.message


def test_render_progress_1e999_on_the_wire_is_a_bad_reading() -> None:
    payload = wire.parse_envelope(200, b'{"success":true,"data":{"status":"processing","progress":1e999}}')
    with pytest.raises(ApiFailure, match="render progress is not a usable number"):
        wire.parse_render_status(payload, "r")


def test_infinity_in_a_draft_is_read_as_null_so_the_draft_stays_usable() -> None:
    raw = (
        b'{"code":0,"data":{"state":{"draft":{"t":[{"tt":Infinity,"sg":[{"d":1000,"volume":-Infinity}]}],'
        b'"d":NaN,"m":{"x":1e999}},"canvas_config":{"fps":Infinity}}}}'
    )
    state = wire.parse_state(wire.parse_envelope(200, raw), "s")
    assert state.draft == {"t": [{"tt": None, "sg": [{"d": 1000, "volume": None}]}], "d": None, "m": {"x": None}}
    assert state.extra == {"canvas_config": {"fps": None}}
    json.dumps(state.model_dump(), allow_nan=False)  # what export and get_state do with it


def test_numbers_that_only_describe_are_dropped_when_absurd_not_fatal() -> None:
    files = wire.parse_uploaded_files(
        {"files": [{"filename": "a.jpg", "width": "²", "height": float("inf"), "duration": "nan", "size": -1e30}]},
        ["/tmp/a.jpg"],
    )
    assert (files[0].width, files[0].height, files[0].duration, files[0].size_bytes) == (None, None, None, None)
    status = wire.parse_render_status({"status": "completed", "output": {"duration": "nan", "size": "--5"}}, "r")
    assert (status.duration_s, status.size_bytes) == (None, None)


@pytest.mark.parametrize("balance", [{"available": "nan"}, {"available": 5, "frozen": float("inf")}])
def test_an_absurd_credit_balance_is_a_malformed_reply(balance: dict) -> None:
    with pytest.raises(ApiFailure, match="credit balance is not a usable number"):
        wire.parse_balance(balance)


def test_a_huge_backend_message_is_cut_before_it_reaches_an_error() -> None:
    with pytest.raises(ApiFailure) as caught:
        wire.parse_envelope(200, body({"code": 5000, "message": "x" * 5_000_000}))
    assert len(caught.value.message) <= wire.MAX_MESSAGE_CHARS + 1


def test_a_reply_of_too_many_values_is_refused_before_it_is_parsed() -> None:
    lists = "[" + ",".join(["[]"] * (wire.MAX_JSON_VALUES + 1)) + "]"  # 2.7 MB of text, ~60 MB once parsed
    with pytest.raises(ApiFailure, match=r"too large: it holds about [0-9,]+ JSON values \(at most 900,000 are read\)"):
        wire.parse_envelope(200, f'{{"code":0,"data":{lists}}}')
    assert len(wire.parse_envelope(200, "[" + ",".join(["1"] * 800_000) + "]")) == 800_000


def test_a_render_reply_s_fields_fall_back_from_its_data_to_its_top_level() -> None:
    payload = {"progress": 40, "outputUrl": "https://cdn/top.mp4", "data": {"status": "rendering", "progress": None}}
    assert wire.parse_render_status(payload, "r").progress == 0  # data's own progress wins, even when null
    payload = {"progress": 0.4, "error": "x" * 5000, "data": {"status": "rendering"}}
    status = wire.parse_render_status(payload, "r")
    assert (status.progress, len(status.error or "")) == (40, wire.MAX_MESSAGE_CHARS + 1)


def test_the_editor_s_offered_answers_are_labels_each_once_and_capped() -> None:
    offered = [
        "beach",
        {"label": "city"},
        {"value": 3},
        "beach",
        "  forest  ",
        *[f"x{i}" for i in range(20)],
        "y" * 500,
    ]
    data = json.dumps(
        {"type": "tool_call", "name": "ask_question", "args": {"question": "q" * 5000, "options": offered}}
    )
    (event,) = wire.parse_stream_event(data)
    assert isinstance(event, QuestionEvent) and len(event.question) == wire.MAX_QUESTION_CHARS
    assert event.choices == ["beach", "city", "forest", *[f"x{i}" for i in range(5)]]  # of the first ten offered
    long = json.dumps({"type": "tool_call", "name": "ask_question", "args": {"question": "q", "answers": ["y" * 500]}})
    assert wire.parse_stream_event(long)[0].choices == ["y" * wire.MAX_CHOICE_CHARS]  # type: ignore[union-attr]
