"""The backend simulator, exercised over real loopback HTTP exactly as a client would see it."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from nemo_video_mcp.render.probe import probe_video
from tests.sim import RunningSimulator, SimConfig, hostile, run_simulator
from tests.sim.config import parse_setting
from tests.sim.edits import MediaRef, plan_edit

SKILL_HEADERS = {"X-Skill-Source": "nemo-video", "X-Skill-Version": "0.1.0", "X-Skill-Platform": "unknown"}
SSE = {"Accept": "text/event-stream"}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    with run_simulator() as sim:
        yield sim


@pytest.fixture
def sim(running: RunningSimulator) -> RunningSimulator:
    running.world.reset(SimConfig())
    return running


@pytest.fixture
def http(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=10) as client:
        yield client


# --- helpers ----------------------------------------------------------------------------------


def token_for(http: httpx.Client, client_id: str = "client-1") -> str:
    reply = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": client_id})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["token"]


class Account:
    """A client id, its token and one session, with the calls a real client makes."""

    def __init__(self, http: httpx.Client, client_id: str = "client-1", language: str | None = None) -> None:
        self.http = http
        self.client_id = client_id
        self.token = token_for(http, client_id)
        body: dict[str, Any] = {"task_name": "project"}
        if language:
            body["language"] = language
        data = self.post("/api/tasks/me/with-session/nemo_agent", json=body).json()["data"]
        self.session_id, self.task_id = data["session_id"], data["task_id"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Client-Id": self.client_id, **SKILL_HEADERS}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def run_body(self, message: str) -> dict[str, Any]:
        return {
            "app_name": "nemo_agent",
            "user_id": "me",
            "session_id": self.session_id,
            "new_message": {"parts": [{"text": message}]},
        }

    def edit_raw(self, message: str) -> bytes:
        """The raw bytes of one /run_sse stream."""
        with self.http.stream(
            "POST", "/run_sse", json=self.run_body(message), headers={**self.headers, **SSE}
        ) as reply:
            assert reply.status_code == 200, reply.read()
            assert reply.headers["content-type"].startswith("text/event-stream")
            return b"".join(reply.iter_raw())

    def edit(self, message: str) -> list[dict[str, Any]]:
        return data_events(self.edit_raw(message))

    def upload(self, *files: tuple[str, bytes]) -> httpx.Response:
        return self.post(
            f"/api/upload-video/nemo_agent/me/{self.session_id}",
            files=[("files", (name, content)) for name, content in files],
        )

    def state(self) -> dict[str, Any]:
        reply = self.get(f"/api/state/nemo_agent/me/{self.session_id}/latest")
        assert reply.status_code == 200, reply.text
        return reply.json()["data"]["state"]

    def balance(self) -> dict[str, Any]:
        return self.get("/api/credits/balance/simple").json()["data"]

    def start_render(self, render_id: str, draft: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        body = {
            "id": render_id,
            "sessionId": self.session_id,
            "draft": self.state()["draft"] if draft is None else draft,
            "output": {"format": "mp4", "quality": "high"},
        }
        return self.post("/api/render/proxy/lambda", json=body, **kwargs)


def data_events(raw: bytes) -> list[dict[str, Any]]:
    """Every non-empty `data:` payload of an SSE body, parsed."""
    events = []
    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        if line.startswith(b"data:") and line[5:].strip():
            events.append(json.loads(line[5:]))
    return events


def adk_parts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [part for e in events for part in (e.get("content") or {}).get("parts", [])]


def user_text(events: list[dict[str, Any]]) -> str:
    final = [e for e in events if not e.get("partial")]
    return "".join(p["text"] for p in adk_parts(final) if "text" in p and not p.get("thought"))


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def with_draft(http: httpx.Client, images: int = 2, client_id: str = "client-1") -> Account:
    account = Account(http, client_id)
    account.upload(*[(f"photo{i}.png", png(32 + i, 16)) for i in range(images)])
    account.edit("make a slideshow")
    return account


# --- auth and sessions ------------------------------------------------------------------------


def test_anonymous_token_has_the_contract_shape(http: httpx.Client) -> None:
    reply = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c-1"})
    data = reply.json()["data"]
    assert reply.json()["code"] == 0
    assert data["token"].startswith("nmv_usr_") and data["user_id"].startswith("anon_")
    assert data["credits"] == 100
    expires = time.mktime(time.strptime(data["expires_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(expires - (time.time() + 7 * 24 * 3600)) < 60


def test_missing_client_id_is_http_400(http: httpx.Client) -> None:
    reply = http.post("/api/auth/anonymous-token")
    assert reply.status_code == 400 and reply.json()["code"] == 400


def test_one_token_per_client_id_unless_the_limit_is_off(sim: RunningSimulator, http: httpx.Client) -> None:
    token_for(http, "same")
    again = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "same"})
    assert again.status_code == 429 and again.json()["code"] == 429
    sim.config.enforce_token_limit = False
    assert token_for(http, "same")


def test_expired_tokens_answer_1001_once_and_a_new_token_keeps_the_session(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    account = Account(http, "keeper")
    sim.config.expire_tokens = True
    expired = account.get("/api/credits/balance/simple")
    assert expired.status_code == 200 and expired.json()["code"] == 1001
    assert sim.config.expire_tokens is False
    assert account.get("/api/credits/balance/simple").json()["code"] == 1001  # stays invalid
    account.token = token_for(http, "keeper")  # same client id: allowed after a fault expiry
    assert account.state()["draft"]["t"] == []


def test_bad_token_is_1001_or_http_401(sim: RunningSimulator, http: httpx.Client) -> None:
    assert http.get("/api/credits/balance/simple").json() == {"code": 1001, "message": "invalid token"}
    sim.config.error_style = "http_status"
    sim.config.auth_error_code = 1011
    reply = http.get("/api/credits/balance/simple", headers={"Authorization": "Bearer nmv_usr_nope"})
    assert reply.status_code == 401 and reply.json()["code"] == 1011


def test_session_ids_are_long_numeric_strings(http: httpx.Client) -> None:
    account = Account(http, language="en")
    assert account.session_id.isdigit() and len(account.session_id) >= 18
    assert account.task_id.startswith("task_")


def test_drop_sessions_answers_1002(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.config.drop_sessions = True
    reply = account.get(f"/api/state/nemo_agent/me/{account.session_id}/latest")
    assert reply.json()["code"] == 1002
    sim.config.error_style = "http_status"
    assert account.get(f"/api/state/nemo_agent/me/{account.session_id}/latest").status_code == 404


def test_success_envelope_for_business_endpoints(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.envelope = "success"
    reply = http.post("/api/auth/anonymous-token", headers={"X-Client-Id": "s"})
    assert reply.json()["success"] is True and reply.json()["data"]["token"].startswith("nmv_usr_")
    error = http.get("/api/credits/balance/simple").json()
    assert error["success"] is False and error["code"] == 1001 and error["error"]


def test_secret_token_is_issued_verbatim(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.secret_token = "nmv_usr_SECRET-canary-0001"
    account = Account(http)
    assert account.token == "nmv_usr_SECRET-canary-0001"
    assert account.balance()["available"] == 100


def test_claim_token(http: httpx.Client) -> None:
    account = Account(http)
    reply = account.post("/api/auth/claim-token", json={"task_id": account.task_id, "session_id": account.session_id})
    data = reply.json()["data"]
    assert data["claim_token"].startswith("clm_") and data["expires_in"] == 604800
    wrong = account.post("/api/auth/claim-token", json={"task_id": "task_x", "session_id": account.session_id})
    assert wrong.json()["code"] == 1002


def test_a_registered_token_is_accepted_as_is_and_never_issued(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(registered_token="nmv_usr_REGISTERED-0001")
    registered = {"Authorization": "Bearer nmv_usr_REGISTERED-0001"}
    balance = http.get("/api/credits/balance/simple", headers=registered).json()["data"]
    assert balance == {"available": 100, "frozen": 0, "total": 100}
    session = http.post("/api/tasks/me/with-session/nemo_agent", json={}, headers=registered).json()["data"]
    assert session["user_id"].startswith("usr_")
    assert http.get("/api/credits/balance/simple", headers=registered).json()["code"] == 0  # the same user
    assert len(sim.world.users) == 1
    assert token_for(http) != "nmv_usr_REGISTERED-0001"
    sim.configure(registered_token=None)
    other = {"Authorization": "Bearer nmv_usr_REGISTERED-0002"}
    assert http.get("/api/credits/balance/simple", headers=other).json()["code"] == 1001


# --- uploads ----------------------------------------------------------------------------------


def test_multipart_upload_records_the_exact_bytes(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    image, clip = png(64, 48), b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 3
    reply = account.upload(("a.png", image), ("b.mp4", clip))
    files = reply.json()["data"]["files"]
    assert reply.json()["data"]["session_state_applied"] is True
    assert [(f["filename"], f["file_type"]) for f in files] == [("a.png", "image"), ("b.mp4", "video")]
    assert (files[0]["width"], files[0]["height"]) == (64, 48)
    assert files[1]["duration"] and files[1]["fps"]
    kept = sim.world.uploads
    assert [u.content for u in kept] == [image, clip]
    assert [u.sha256 for u in kept] == [hashlib.sha256(image).hexdigest(), hashlib.sha256(clip).hexdigest()]
    assert files[0]["hash"] == kept[0].sha256 and kept[0].size == len(image)
    assert http.get(files[0]["cdn_url"]).content == image
    recorded = sim.world.requests_to("/api/upload-video")[0]
    assert [u["sha256"] for u in recorded.uploads] == [u.sha256 for u in kept]
    assert [i["filename"] for i in account.state()["video_infos"]] == ["a.png", "b.mp4"]


def test_type_is_read_from_content_when_the_name_has_no_extension(http: httpx.Client) -> None:
    account = Account(http)
    files = account.upload(("noext", png(8, 8)), ("song", b"ID3\x03" + bytes(64))).json()["data"]["files"]
    assert [f["file_type"] for f in files] == ["image", "audio"]


def test_upload_by_url(http: httpx.Client) -> None:
    account = Account(http)
    body = {"urls": ["https://example.test/media/clip.mov?sig=1"], "source_type": "url"}
    files = account.post(f"/api/upload-video/nemo_agent/me/{account.session_id}", json=body).json()["data"]["files"]
    assert files[0]["filename"] == "clip.mov" and files[0]["file_type"] == "video"


def test_upload_errors_4001_and_4002(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    assert account.upload(("notes.txt", b"hello")).json()["code"] == 4001
    sim.config.max_upload_bytes = 1000
    assert account.upload(("big.png", bytes(1001))).json()["code"] == 4002
    sim.config.error_style = "http_status"
    assert account.upload(("big.png", bytes(1001))).status_code == 413
    assert sim.world.uploads == []


# --- /run_sse: body, framing, shapes ----------------------------------------------------------


def test_run_sse_rejects_anything_but_the_exact_body(http: httpx.Client) -> None:
    account = Account(http)
    extra = {**account.run_body("hi"), "streaming": True}
    reply = account.post("/run_sse", json=extra, headers=SSE)
    assert reply.status_code == 422 and reply.json()["detail"][0]["loc"] == ["streaming"]
    no_accept = account.post("/run_sse", json=account.run_body("hi"), headers={"Accept": "application/json"})
    assert no_accept.status_code == 406


def test_default_stream_is_adk_with_lf_and_comment_heartbeats(http: httpx.Client) -> None:
    raw = with_draft(http).edit_raw("add music")
    assert b"\r\n" not in raw
    assert b"\n: ping\n\n" in raw or raw.startswith(b": ping\n\n")
    assert b"event:" not in raw and b"id:" not in raw.replace(b'"id":', b"")
    events = data_events(raw)
    for event in events:
        assert {"content", "author", "id", "invocationId", "timestamp"} <= event.keys()
    names = [p["functionCall"]["name"] for p in adk_parts(events) if "functionCall" in p]
    assert names == ["generate_music", "edit_multitrack"]
    responses = [p["functionResponse"] for p in adk_parts(events) if "functionResponse" in p]
    assert [r["name"] for r in responses] == names
    assert any(p.get("thought") for p in adk_parts(events))
    assert events[-1]["turnComplete"] is True
    assert "open the audio panel" in user_text(events).lower()


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({"line_ending": "crlf"}, b"\r\n: ping\r\n\r\n"),
        ({"heartbeat": "empty_data"}, b"\ndata:\n\n"),
        ({"heartbeat": "empty_data", "line_ending": "crlf"}, b"\r\ndata:\r\n\r\n"),
        ({"heartbeat": "typed"}, b'\ndata: {"type":"heartbeat"}\n\n'),
    ],
)
def test_heartbeat_and_line_ending_framing(
    sim: RunningSimulator, http: httpx.Client, switches: dict[str, Any], expected: bytes
) -> None:
    sim.configure(**switches)
    raw = Account(http).edit_raw("make a video")
    assert expected in raw
    if switches.get("line_ending") == "crlf":
        assert raw.count(b"\n") == raw.count(b"\r\n")
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n")[:-1]:
        assert block.startswith((b"data:", b": ping")), block


def test_typed_event_shape(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(event_shape="typed", heartbeat="typed")
    events = with_draft(http).edit("add music")
    kinds = [e["type"] for e in events]
    assert kinds[0] == "tool_call" and "heartbeat" in kinds and kinds[-1] == "text"
    calls = [e for e in events if e["type"] == "tool_call"]
    assert [c["name"] for c in calls] == ["generate_music", "edit_multitrack"] and "args" in calls[0]
    assert [e["name"] for e in events if e["type"] == "tool_result"] == ["generate_music", "edit_multitrack"]
    assert all("content" not in e for e in events if e["type"] != "text")


def test_partial_text_chunks_then_the_full_text(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.partial_text = True
    events = Account(http).edit("make a video")
    partial = [p["text"] for e in events if e.get("partial") for p in adk_parts([e])]
    assert len(partial) >= 2
    assert "".join(partial) == user_text(events)


def test_no_text_replies_end_with_the_last_tool_result(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.reply_text = "none"
    account = with_draft(http)
    events = account.edit("add music")
    assert user_text(events) == ""
    assert "functionResponse" in adk_parts([events[-1]])[0] and events[-1]["turnComplete"] is True
    assert [t["tt"] for t in account.state()["draft"]["t"]] == [0, 1]


def test_mixed_replies_leave_every_third_edit_silent(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(reply_text="mixed", initial_credits=1000)
    account = with_draft(http)
    assert [bool(user_text(account.edit(m))) for m in ("add music", "add a title", "fade")] == [True, False, True]
    assert [t["tt"] for t in account.state()["draft"]["t"]] == [0, 1, 7]


def test_chinese_replies_follow_the_session_language(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.initial_credits = 1000
    account = Account(http, language="zh-CN")
    account.upload(("a.png", png(8, 8)))
    for message in ("做个视频", "加音乐"):
        account.edit(message)
    assert "点击导出" in user_text(account.edit("加标题"))


# --- edits: draft growth and credits ----------------------------------------------------------


def test_each_edit_grows_the_draft_and_keeps_unknown_keys(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.initial_credits = 1000
    account = Account(http)
    account.upload(("one.png", png(10, 10)), ("two.png", png(12, 10)), ("three.png", png(14, 10)))
    texts, track_types = [], []
    for message in ("make a slideshow", "add some music", 'add the title "Summer 2024"', "add transitions"):
        texts.append(user_text(account.edit(message)))
        track_types.append([t["tt"] for t in account.state()["draft"]["t"]])
    assert track_types == [[0], [0, 1], [0, 1, 7], [0, 1, 7]]
    draft = account.state()["draft"]
    video, bgm, title = draft["t"]
    assert [s["m"]["name"] for s in video["sg"]] == ["one.png", "two.png", "three.png"]
    assert all(s["fx"]["transition"] == "fade" and s["x_future"] == 1 for s in video["sg"])
    assert bgm["sg"][0]["volume"] == 0.35 and bgm["sg"][0]["d"] == 9000
    assert title["sg"][0]["m"]["text"] == "Summer 2024"
    assert draft["d"] == 9000 and draft["x_future"] == 1 and "fx" in draft
    assert "drag" in texts[0].lower() and "Export button" in texts[2] and "open the panel" in texts[3].lower()
    assert account.balance() == {"available": 800, "frozen": 0, "total": 800}


def test_generation_without_uploads_costs_a_clip(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    events = account.edit("generate a city timelapse")
    calls = [p["functionCall"] for p in adk_parts(events) if "functionCall" in p]
    assert calls[0]["name"] == "generate_video_with_seedance"
    assert calls[0]["id"] in events[1]["longRunningToolIds"]
    assert account.state()["generated_media"][0]["prompt"] == "generate a city timelapse"
    assert account.balance() == {"available": 0, "frozen": 0, "total": 0}
    assert sim.world.stats()["sessions"][account.session_id] == {"edits_requested": 1, "edits_applied": 1}


def test_a_question_turn_asks_applies_nothing_and_its_answer_leads_the_next_turn(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    account = Account(http)
    account.upload(("beach.png", png(32, 16)), ("city.png", png(33, 16)), ("forest.png", png(34, 16)))
    sim.configure(ask_question=True)
    asked = account.edit("make a slideshow")
    calls = [p["functionCall"] for p in adk_parts(asked) if "functionCall" in p]
    assert calls == [
        {
            "id": calls[0]["id"],
            "name": "ask_question",
            "args": {"question": "Which photo should open the video?", "options": ["beach", "city", "forest"]},
        }
    ]
    assert user_text(asked) == "Which photo should open the video?"
    assert sim.config.ask_question is False  # one-shot
    assert account.state()["draft"]["t"] == [] and account.balance()["available"] == 100
    assert sim.world.stats()["sessions"][account.session_id] == {"edits_requested": 1, "edits_applied": 0}

    answered = account.edit("city")
    assert not [p for p in adk_parts(answered) if p.get("functionCall", {}).get("name") == "ask_question"]
    assert user_text(answered).startswith('You answered "city". ')
    names = [s["m"]["name"] for s in account.state()["draft"]["t"][0]["sg"]]
    assert names == ["city.png", "beach.png", "forest.png"]
    assert account.balance()["available"] == 50

    account.edit("add music")  # a turn after the answered one is an ordinary turn
    assert not sim.world.sessions[account.session_id].open_question


def test_a_question_turn_without_options_asks_only_the_question(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    sim.configure(ask_question=True, question_options=[], question_text="What mood?", event_shape="typed")
    events = account.edit("add music")
    (call,) = [e for e in events if e.get("type") == "tool_call"]
    assert call["name"] == "ask_question" and call["args"] == {"question": "What mood?"}


def test_credits_are_frozen_while_the_edit_runs(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(heartbeats_per_gap=4, heartbeat_interval_s=0.1)
    account = with_draft(http)
    with http.stream(
        "POST", "/run_sse", json=account.run_body("add music"), headers={**account.headers, **SSE}
    ) as reply:
        chunks = reply.iter_raw()
        next(chunks)
        assert account.balance() == {"available": 0, "frozen": 50, "total": 50}
        b"".join(chunks)
    assert account.balance() == {"available": 0, "frozen": 0, "total": 0}


def test_no_credits_is_2001(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    account.edit("add music")  # 100 - 50 - 50 = 0
    reply = account.post("/run_sse", json=account.run_body("add a title"), headers=SSE)
    assert reply.json()["code"] == 2001
    sim.configure(initial_credits=500, credits_zero=True)
    other = Account(http, "rich")
    assert other.balance()["available"] == 0
    assert other.post("/run_sse", json=other.run_body("x"), headers=SSE).json()["code"] == 2001


# --- stream faults ----------------------------------------------------------------------------


def test_cut_stream_after_apply_drops_the_connection_but_keeps_the_edit(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    sim.config.cut_stream = True
    account = Account(http)
    account.upload(("a.png", png(8, 8)))
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/run_sse", json=account.run_body("go"), headers={**account.headers, **SSE}) as r,
    ):
        for chunk in r.iter_raw():
            received += chunk
    assert b"functionResponse" in received and b"turnComplete" not in received
    assert [t["tt"] for t in account.state()["draft"]["t"]] == [0]
    assert account.balance()["available"] == 50


def test_cut_stream_before_apply_loses_the_edit_and_refunds(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.cut_stream_before_apply = True
    account = Account(http)
    account.upload(("a.png", png(8, 8)))
    with pytest.raises(httpx.RemoteProtocolError):
        account.edit_raw("go")
    assert account.state()["draft"]["t"] == []
    assert account.balance() == {"available": 100, "frozen": 0, "total": 100}


def test_cut_before_apply_with_late_apply_lands_later(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(cut_stream_before_apply=True, late_apply_s=0.2)
    account = Account(http)
    account.upload(("a.png", png(8, 8)))
    with pytest.raises(httpx.RemoteProtocolError):
        account.edit_raw("go")
    assert account.state()["draft"]["t"] == []
    time.sleep(0.4)
    assert [t["tt"] for t in account.state()["draft"]["t"]] == [0]


def test_heartbeats_only_then_a_clean_close(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(heartbeats_only=0.3, heartbeat_interval_s=0.05)
    account = Account(http)
    started = time.monotonic()
    raw = account.edit_raw("go")
    assert time.monotonic() - started >= 0.3
    assert raw.count(b": ping\n\n") >= 4 and raw.replace(b": ping\n\n", b"") == b""
    assert account.state()["draft"]["t"] == []


def test_stream_error_mid_stream(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.config.stream_error = "agent crashed"
    account = Account(http)
    events = account.edit("go")
    assert events[-1] == {"error": "agent crashed"}
    assert account.state()["draft"]["t"] == [] and account.balance()["available"] == 100


@pytest.mark.parametrize("how", ["session_404", "detail_404"])
def test_run_sse_session_not_found_as_http_404(sim: RunningSimulator, http: httpx.Client, how: str) -> None:
    account = Account(http)
    if how == "session_404":
        sim.config.session_404 = True
    else:
        sim.configure(run_sse_missing_session="detail_404", drop_sessions=True)
    reply = account.post("/run_sse", json=account.run_body("go"), headers=SSE)
    assert reply.status_code == 404 and reply.json() == {"detail": "Session not found"}
    assert account.get(f"/api/state/nemo_agent/me/{account.session_id}/latest").json()["code"] == 1002


def test_client_that_leaves_mid_stream_still_gets_the_edit(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(heartbeats_per_gap=5, heartbeat_interval_s=0.05)
    account = Account(http)
    account.upload(("a.png", png(8, 8)))
    with http.stream("POST", "/run_sse", json=account.run_body("go"), headers={**account.headers, **SSE}) as r:
        next(r.iter_raw())
    deadline = time.monotonic() + 3
    while not account.state()["draft"]["t"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [t["tt"] for t in account.state()["draft"]["t"]] == [0]


# --- transport faults -------------------------------------------------------------------------


def test_rate_limit_once(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.configure(rate_limit_once=True, retry_after_s=30)
    limited = account.get("/api/credits/balance/simple")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "30"
    assert account.get("/api/credits/balance/simple").status_code == 200


def test_fail_next_n_gives_html_503s(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.config.fail_next_n = 2
    statuses = [account.get("/api/credits/balance/simple").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in sim.world.requests_to("/api/credits")] == [503, 503, 200]


def test_malformed_json_next(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.config.malformed_json_next = True
    broken = account.get("/api/credits/balance/simple")
    with pytest.raises(ValueError):
        broken.json()
    assert account.get("/api/credits/balance/simple").json()["code"] == 0


# --- renders ----------------------------------------------------------------------------------


def test_render_lifecycle_shape_a(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    start = account.start_render("render_a1")
    assert start.json() == {"success": True, "data": {"id": "render_a1", "status": "pending", "progress": 5}}
    polls = [account.get("/api/render/proxy/lambda/render_a1").json() for _ in range(3)]
    assert [p["data"]["status"] for p in polls] == ["processing", "processing", "completed"]
    progress = [p["data"]["progress"] for p in polls]
    assert progress == sorted(progress) and progress[-1] == 100
    done = polls[-1]["data"]
    assert {"id", "status", "progress", "outputUrl", "createdAt", "completedAt"} <= done.keys()
    assert done["outputUrl"] == f"{sim.base_url}/api/render/proxy/render_a1/download"
    assert http.get(done["outputUrl"]).json()["code"] == 1001  # needs Bearer
    video = account.get(done["outputUrl"])
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    assert sim.world.renders_started == {account.session_id: 1}
    assert sim.world.requests_to("/api/render/proxy/lambda", "POST")[0].body_json["sessionId"] == account.session_id


def test_a_rendered_video_is_a_real_mp4_as_long_as_its_draft(
    sim: RunningSimulator, http: httpx.Client, tmp_path: Path
) -> None:
    sim.configure(render_polls=1)
    account = with_draft(http, images=3)
    for render_id in ("render_v1", "render_v2"):
        account.start_render(render_id)
        account.get(f"/api/render/proxy/lambda/{render_id}")
        (tmp_path / f"{render_id}.mp4").write_bytes(account.get(f"/api/render/proxy/{render_id}/download").content)
    info = probe_video(tmp_path / "render_v1.mp4")
    assert info.codec == "h264" and info.duration_s == 9.0
    assert (tmp_path / "render_v1.mp4").read_bytes() != (tmp_path / "render_v2.mp4").read_bytes()


def test_render_shape_b_bare_and_open_cdn_url(sim: RunningSimulator, http: httpx.Client) -> None:
    sim.configure(render_poll_shape="B", render_envelope="bare", output_url="cdn", render_polls=1)
    account = with_draft(http)
    assert account.start_render("render_b1").json() == {"id": "render_b1", "status": "pending", "progress": 5}
    done = account.get("/api/render/proxy/lambda/render_b1").json()
    assert done["taskId"] == "render_b1" and done["status"] == "completed"
    assert done["output"]["duration"] == 6.0 and done["output"]["url"].endswith("/cdn/renders/render_b1.mp4")
    assert len(http.get(done["output"]["url"]).content) == done["output"]["size"]


def test_render_failure_slowness_and_time_mode(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    sim.configure(slow_render=True, slow_render_polls=6, fail_render=True)
    account.start_render("render_f")
    statuses = [account.get("/api/render/proxy/lambda/render_f").json()["data"]["status"] for _ in range(7)]
    assert statuses == ["processing"] * 5 + ["failed"] * 2
    assert account.get("/api/render/proxy/lambda/render_f").json()["data"]["error"]
    sim.configure(slow_render=False, fail_render=False, render_seconds=0.2)
    account.start_render("render_t")
    assert account.get("/api/render/proxy/lambda/render_t").json()["data"]["status"] == "processing"
    time.sleep(0.25)
    assert account.get("/api/render/proxy/lambda/render_t").json()["data"]["status"] == "completed"


def test_render_cancel_and_unknown_id(http: httpx.Client) -> None:
    account = with_draft(http)
    account.start_render("render_c")
    cancelled = account.post("/api/render/proxy/lambda/render_c/cancel")
    assert cancelled.json()["data"]["status"] == "cancelled"
    assert account.get("/api/render/proxy/lambda/render_c").json()["data"]["status"] == "cancelled"
    assert account.get("/api/render/proxy/render_c/download").status_code == 409
    assert account.get("/api/render/proxy/lambda/render_nope").status_code == 404


def test_cdn_refuses_render_downloads_but_the_bearer_download_gives_them(
    sim: RunningSimulator, http: httpx.Client
) -> None:
    sim.configure(output_url="cdn", render_polls=1, cdn_refuses=True)
    account = with_draft(http)
    account.start_render("render_r")
    url = account.get("/api/render/proxy/lambda/render_r").json()["data"]["outputUrl"]
    assert url.endswith("/cdn/renders/render_r.mp4")
    assert http.get(url).status_code == 403 and http.get(url).status_code == 403
    assert sim.world.cdn_refused == {"render_r": 2}
    video = account.get("/api/render/proxy/render_r/download")
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    sim.configure(cdn_refuses=False)
    assert http.get(url).content == video.content


@pytest.mark.parametrize("end", ["completed", "failed", "cancelled"])
def test_a_render_holds_credits_until_it_ends(sim: RunningSimulator, http: httpx.Client, end: str) -> None:
    sim.configure(render_frozen_credits=30, render_polls=2, fail_render=end == "failed")
    account = with_draft(http)  # 50 of the 100 credits spent on the edit
    account.start_render("render_h")
    assert account.balance() == {"available": 20, "frozen": 30, "total": 50}
    if end == "cancelled":
        account.post("/api/render/proxy/lambda/render_h/cancel")
    else:
        statuses = [account.get("/api/render/proxy/lambda/render_h").json()["data"]["status"] for _ in range(2)]
        assert statuses == ["processing", end]
    assert account.balance() == {"available": 50, "frozen": 0, "total": 50}
    account.post("/api/render/proxy/lambda/render_h/cancel")  # nothing is released twice
    assert account.balance() == {"available": 50, "frozen": 0, "total": 50}


def test_duplicate_render_id(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    account.start_render("render_d")
    soft = account.start_render("render_d")
    assert soft.status_code == 200 and soft.json() == {"success": False, "error": "duplicate id"}
    sim.config.error_style = "http_status"
    assert account.start_render("render_d").status_code == 409
    sim.config.duplicate_id_once = True
    assert account.start_render("render_fresh").status_code == 409
    assert account.start_render("render_fresh").json()["success"] is True
    assert sim.world.renders_started == {account.session_id: 2}
    assert sim.world.render_attempts == {account.session_id: 5}


def test_render_refuses_empty_drafts_and_non_skill_traffic(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    empty = account.start_render("render_e", draft={"t": [{"tt": 0, "sg": []}]})
    assert empty.status_code == 200 and empty.json()["success"] is False
    account = with_draft(http, client_id="client-2")
    bare = {"Authorization": f"Bearer {account.token}"}
    body = {"id": "r1", "sessionId": account.session_id, "draft": account.state()["draft"]}
    assert http.post("/api/render/proxy/lambda", json=body, headers=bare).status_code == 402
    sim.config.export_402 = True
    assert account.start_render("render_x").status_code == 402
    assert sim.world.renders_started == {}


# --- controls, recording, pieces --------------------------------------------------------------


def test_sim_control_endpoints(sim: RunningSimulator, http: httpx.Client) -> None:
    assert http.get("/_sim/config").json()["event_shape"] == "adk"
    assert http.post("/_sim/config", json={"event_shape": "typed"}).json()["event_shape"] == "typed"
    assert sim.config.event_shape == "typed"
    assert http.post("/_sim/config", json={"event_shape": "xml"}).status_code == 400
    assert http.post("/_sim/config", json={"nope": 1}).status_code == 400
    account = with_draft(http)
    recorded = http.get("/_sim/requests").json()
    assert {"x-skill-source", "x-skill-version", "x-skill-platform", "x-client-id"} <= recorded[-1]["headers"].keys()
    assert all(not r["path"].startswith("/_sim") for r in recorded)
    stats = http.get("/_sim/stats").json()
    assert stats["tokens_issued"] == 1 and stats["sessions"][account.session_id]["edits_applied"] == 1
    assert http.post("/_sim/reset", json={"render_polls": 2}).json()["config"]["event_shape"] == "adk"
    assert sim.config.render_polls == 2 and http.get("/_sim/stats").json()["tokens_issued"] == 0


def test_run_simulator_accepts_switches() -> None:
    with run_simulator(SimConfig(event_shape="typed"), line_ending="crlf") as other:
        assert other.config.event_shape == "typed" and other.config.line_ending == "crlf"
        assert other.base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{other.base_url}/_sim/config").json()["line_ending"] == "crlf"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{other.base_url}/_sim/config")


def test_parse_setting() -> None:
    assert parse_setting("fail_next_n=3") == ("fail_next_n", 3)
    assert parse_setting("cut_stream=true") == ("cut_stream", True)
    assert parse_setting("secret_token=nmv_usr_x") == ("secret_token", "nmv_usr_x")
    assert parse_setting("late_apply_s=null") == ("late_apply_s", None)
    with pytest.raises(ValueError):
        parse_setting("cut_stream")


def test_plan_edit_does_not_mutate_the_draft() -> None:
    media = [MediaRef("a.png", "image", "http://x/a.png")]
    first = plan_edit({"t": []}, media, 0, "go", "http://x")
    before = json.dumps(first.draft, sort_keys=True)
    second = plan_edit(first.draft, media, 1, "music", "http://x")
    assert json.dumps(first.draft, sort_keys=True) == before
    assert [t["tt"] for t in second.draft["t"]] == [0, 1]


# --- hostile replies ----------------------------------------------------------------------------


def raw_head(account: Account, path: str, size: int) -> tuple[httpx.Headers, bytes]:
    """The first `size` raw bytes of a reply (it may never end), and its headers."""
    with account.http.stream("GET", path, headers=account.headers) as reply:
        head = b""
        for chunk in reply.iter_raw():
            head += chunk
            if len(head) >= size:
                break
        return reply.headers, head


def state_path(account: Account) -> str:
    return f"/api/state/nemo_agent/me/{account.session_id}/latest"


def test_state_gzip_bomb_inflates_from_a_little_to_a_lot(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.configure(state_gzip_bomb=True)
    headers, head = raw_head(account, state_path(account), 64 * 1024)
    assert headers["content-encoding"] == "gzip"
    inflated = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(head)
    assert len(inflated) > 30 * len(head) and inflated == bytes(len(inflated))


def test_state_endless_starts_like_a_state_and_goes_on(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.configure(state_endless=True)
    _, head = raw_head(account, state_path(account), 5 * 1024 * 1024)
    assert head.startswith(b'{"code":0,"data":{') and len(head) >= 5 * 1024 * 1024
    assert head.count(b'"sg":') > 50_000


def test_sse_huge_line_is_one_valid_event_line_and_the_edit_lands(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    account.upload(("a.png", png(8, 8)))
    sim.configure(sse_huge_line_mb=3)
    raw = account.edit_raw("make a video")
    (huge,) = [line for line in raw.split(b"\n") if len(line) > 1024 * 1024]
    assert 3 * 1024 * 1024 - 100 < len(huge) <= 3 * 1024 * 1024 + 100
    event = json.loads(huge[len(b"data: ") :])
    assert event["content"]["parts"][0]["text"].startswith("The video is ready")
    assert account.state()["draft"]["t"]


@pytest.mark.parametrize(("mode", "raw"), [("nan", b'"progress": "nan"'), ("1e999", b'"progress": 1e999')])
def test_render_progress_can_be_spoilt_for_a_number_of_polls(
    sim: RunningSimulator, http: httpx.Client, mode: str, raw: bytes
) -> None:
    account = with_draft(http)
    account.start_render("render_p")
    sim.configure(render_progress=mode, render_progress_polls=2)
    polls = [account.get("/api/render/proxy/lambda/render_p").content for _ in range(3)]
    assert [raw in poll for poll in polls] == [True, True, False]
    assert sim.config.render_progress_polls == 0


def test_draft_infinity_writes_infinity_into_the_state(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    sim.configure(draft_infinity=True)
    text = account.get(state_path(account)).text
    assert '"tt": Infinity' in text and '"volume": Infinity' in text and '"d": -Infinity' in text


@pytest.mark.parametrize("code", ["--5", "²"])
def test_odd_code_replaces_every_code(sim: RunningSimulator, http: httpx.Client, code: str) -> None:
    account = Account(http)
    sim.configure(odd_code=code)
    assert account.get("/api/credits/balance/simple").json()["code"] == code
    assert http.get("/api/credits/balance/simple").json()["code"] == code  # errors too


def test_deep_json_in_the_envelope_and_in_the_stream(sim: RunningSimulator, http: httpx.Client) -> None:
    account = with_draft(http)
    sim.configure(deep_json="envelope", deep_json_depth=1500)
    text = account.get("/api/credits/balance/simple").text
    assert '"deep":' + "[" * 1500 + "]" * 1500 + "}" in text
    sim.configure(deep_json="sse")
    raw = account.edit_raw("add a title")
    deep = [line for line in raw.split(b"\n") if b"[" * 1500 in line]
    assert len(deep) == 1 and hostile.DEEP_TEXT.encode() in deep[0]
    assert user_text(data_events(raw.replace(deep[0], b""))), "the normal reply follows"


def test_big_draft_replaces_the_state_draft(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http)
    sim.configure(big_draft_segments=1000)
    draft = account.state()["draft"]
    assert len(draft["t"][0]["sg"]) == 1000 and draft["d"] == 3_000_000


def test_reject_tokens_rejects_each_new_token_too(sim: RunningSimulator, http: httpx.Client) -> None:
    account = Account(http, "rejected")
    sim.configure(reject_tokens=True)
    for _ in range(3):
        assert account.get("/api/credits/balance/simple").json()["code"] == 1001
        account.token = token_for(http, "rejected")  # still issued: the rejected ones do not count
    sim.configure(reject_tokens=False)
    assert account.get("/api/credits/balance/simple").json()["code"] == 0
