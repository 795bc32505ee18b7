"""Every wire variant the contract lists, read by the one parser."""

from __future__ import annotations

import json

import pytest

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.models import HeartbeatEvent, StreamErrorEvent, TextEvent, ToolCallEvent, ToolResultEvent


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
                ToolCallEvent(name="generate_video_with_seedance", args={"prompt": "p"}),
                ToolResultEvent(name="generate_video_with_seedance"),
            ],
        ),
        (json.dumps({**ADK_TEXT, "partial": True}), [TextEvent(text="Done! Click Export.", partial=True)]),
        ('{"type":"text","content":"Hello"}', [TextEvent(text="Hello")]),
        (
            '{"type":"tool_call","name":"edit_multitrack","args":{"a":1}}',
            [ToolCallEvent(name="edit_multitrack", args={"a": 1})],
        ),
        ('{"type":"tool_result","name":"edit_multitrack","result":{}}', [ToolResultEvent(name="edit_multitrack")]),
        ('{"error": "model overloaded"}', [StreamErrorEvent(message="model overloaded")]),
        ('{"errorCode": "QUOTA", "errorMessage": "quota hit"}', [StreamErrorEvent(message="quota hit", code="QUOTA")]),
        ('{"type":"error","message":"bad"}', [StreamErrorEvent(message="bad")]),
        ('{"turnComplete": true}', []),
        ("not json at all", []),
        ("[1,2]", []),
    ],
)
def test_stream_events_in_both_shapes(data: str, expected: list) -> None:
    assert wire.parse_stream_event(data) == expected
