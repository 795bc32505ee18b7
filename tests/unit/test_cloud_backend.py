"""The cloud backend against mocked HTTP: tokens, sessions, retries, headers, uploads, streams, renders."""

from __future__ import annotations

import asyncio
import json
import re
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from pytest_httpx import HTTPXMock, IteratorStream

from nemo_video_mcp.backends.base import RenderIdTakenError, StreamCutError
from nemo_video_mcp.backends.cloud import CloudBackend, auth
from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import (
    AnonymousTokenLimitError,
    BackendFileTooLargeError,
    BackendRequestError,
    BackendUnavailableError,
    BackendUnsupportedFileError,
    BadResponseError,
    ExportBlockedError,
    LockBusyError,
    MissingClientIdError,
    NemoError,
    NoCreditsError,
    RateLimitedError,
    SessionLostError,
    TokenRejectedError,
    TokenRenewalRefusedError,
)
from nemo_video_mcp.models import EditOptions, HeartbeatEvent, MediaFile, StepEvent, TextEvent
from nemo_video_mcp.notices import collecting
from nemo_video_mcp.store import Store

from .conftest import API, WEB

TOKEN_1 = "nmv_usr_firsttoken123"
TOKEN_2 = "nmv_usr_secondtoken456"
SID = "1234567890123456789"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomavc1" + b"\x00\x00\x00\x10mdatMP4DATA!"
"""The first bytes of an MP4 (an `ftyp` box, then `mdat`): downloads are checked to look like a video."""


def token_reply(token: str = TOKEN_1) -> dict:
    return {
        "code": 0,
        "data": {"token": token, "user_id": "anon_42", "expires_at": "2099-01-01T00:00:00Z", "credits": 100},
    }


def session_reply(sid: str = SID) -> dict:
    return {"code": 0, "data": {"task_id": "task_1", "session_id": sid, "user_id": "anon_42"}}


def state_reply(draft: dict) -> dict:
    return {"code": 0, "data": {"session_id": SID, "state": {"draft": draft}}}


@pytest.fixture
def backend(settings: Settings, store: Store) -> Iterator[CloudBackend]:
    yield CloudBackend(settings, store)


def add_login(httpx_mock: HTTPXMock, token: str = TOKEN_1, sid: str = SID) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/api/auth/anonymous-token", json=token_reply(token))
    httpx_mock.add_response(
        method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent", json=session_reply(sid), is_optional=True
    )


async def test_every_call_carries_bearer_and_skill_headers(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json=state_reply({}))
    await backend.get_state()
    token_request, session_request, state_request = httpx_mock.get_requests()
    assert "authorization" not in token_request.headers
    assert re.fullmatch(r"[0-9a-f-]{36}", token_request.headers["x-client-id"])
    for request in (session_request, state_request):
        assert request.headers["authorization"] == f"Bearer {TOKEN_1}"
    for request in httpx_mock.get_requests():
        assert request.headers["x-skill-source"] == "image-to-video-online-ai"
        assert request.headers["x-skill-version"]
        assert request.headers["x-skill-platform"] in ("clawhub", "cursor", "unknown")
    assert json.loads(session_request.content) == {"task_name": "project"}


async def test_token_and_session_survive_a_restart(httpx_mock: HTTPXMock, settings: Settings, store: Store) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json=state_reply({}), is_reusable=True)
    await CloudBackend(settings, store).get_state()
    await CloudBackend(settings, Store(settings.cache_dir)).get_state()  # a new process, same cache
    paths = [r.url.path for r in httpx_mock.get_requests()]
    assert paths.count("/api/auth/anonymous-token") == 1
    assert paths.count("/api/tasks/me/with-session/nemo_agent") == 1
    for path in settings.cache_dir.rglob("*.json"):
        assert path.stat().st_mode & 0o777 == 0o600
        assert TOKEN_1 not in path.name
    assert settings.cache_dir.stat().st_mode & 0o777 == 0o700


async def test_client_id_is_created_once_and_kept(httpx_mock: HTTPXMock, backend: CloudBackend, store: Store) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", json={"code": 0, "data": {"available": 1}})
    await backend.get_credits()
    sent = httpx_mock.get_requests()[0].headers["x-client-id"]
    assert store.client_id() == sent


async def test_nemo_token_is_used_as_is(httpx_mock: HTTPXMock, settings: Settings, store: Store) -> None:
    settings = settings.model_copy(update={"token": SecretStr("nmv_usr_fromenv999")})
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", json={"code": 0, "data": {"available": 5}})
    credits = await CloudBackend(settings, store).get_credits()
    assert credits.anonymous is False and credits.register_url is None
    assert httpx_mock.get_requests()[0].headers["authorization"] == "Bearer nmv_usr_fromenv999"


@pytest.mark.parametrize("rejection", [{"code": 1001, "message": "expired"}, {"code": 1011, "message": "bad"}])
async def test_rejected_token_is_renewed_once(httpx_mock: HTTPXMock, backend: CloudBackend, rejection: dict) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/state/nemo_agent/me/{SID}/latest"
    httpx_mock.add_response(url=url, json=rejection)
    httpx_mock.add_response(method="POST", url=f"{API}/api/auth/anonymous-token", json=token_reply(TOKEN_2))
    httpx_mock.add_response(url=url, json=state_reply({"t": []}))
    state = await backend.get_state()
    assert state.draft == {"t": []}
    assert httpx_mock.get_requests()[-1].headers["authorization"] == f"Bearer {TOKEN_2}"


async def test_token_rejected_twice_is_an_error(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/credits/balance/simple"
    httpx_mock.add_response(url=url, status_code=401, json={"detail": "Unauthorized"}, is_reusable=True)
    httpx_mock.add_response(method="POST", url=f"{API}/api/auth/anonymous-token", json=token_reply(TOKEN_2))
    with pytest.raises(TokenRenewalRefusedError) as caught:
        await backend.get_credits()
    assert_names_the_ways_out(caught.value)


async def test_a_rejected_nemo_token_is_not_renewed_and_says_to_set_a_fresh_one(
    httpx_mock: HTTPXMock, settings: Settings, store: Store
) -> None:
    settings = settings.model_copy(update={"token": SecretStr("nmv_usr_fromenv999")})
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", json={"code": 1001, "message": "expired"})
    with pytest.raises(TokenRejectedError) as caught:
        await CloudBackend(settings, store).get_credits()
    assert type(caught.value) is TokenRejectedError
    assert caught.value.next_step == (
        "NEMO_TOKEN is invalid or expired: set a fresh token in the server's environment, or unset it."
    )
    assert len(httpx_mock.get_requests()) == 1 and "nmv_usr_fromenv999" not in caught.value.agent_message


TOKEN_URL = f"{API}/api/auth/anonymous-token"
CREDITS_URL = f"{API}/api/credits/balance/simple"


def token_requests(httpx_mock: HTTPXMock) -> int:
    return sum(1 for r in httpx_mock.get_requests() if r.url.path == "/api/auth/anonymous-token")


def assert_names_the_ways_out(error: TokenRenewalRefusedError) -> None:
    assert "keeps rejecting new tokens" in error.message
    for way_out in ("Set NEMO_TOKEN", f"register at {WEB}", "wait 10 minutes", "nemo-video-mcp doctor"):
        assert way_out in error.next_step, error.next_step


async def test_a_backend_that_rejects_every_new_token_is_told_once_and_not_asked_again(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json=token_reply(TOKEN_2), is_reusable=True)
    httpx_mock.add_response(url=CREDITS_URL, json={"code": 1001, "message": "invalid token"}, is_reusable=True)
    for _ in range(3):
        with pytest.raises(TokenRenewalRefusedError) as caught:
            await backend.get_credits()
        assert_names_the_ways_out(caught.value)
    assert token_requests(httpx_mock) == 2  # the first token, and one renewal: none on the later calls
    assert [r.url.path for r in httpx_mock.get_requests()].count("/api/credits/balance/simple") == 4


async def test_renewals_resume_after_the_pause(
    httpx_mock: HTTPXMock, backend: CloudBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json=token_reply(TOKEN_2), is_reusable=True)
    httpx_mock.add_response(url=CREDITS_URL, json={"code": 1001, "message": "invalid token"})
    httpx_mock.add_response(url=CREDITS_URL, json={"code": 1001, "message": "invalid token"})
    with pytest.raises(TokenRenewalRefusedError):
        await backend.get_credits()
    monkeypatch.setattr(auth, "TOKEN_REFUSAL_PAUSE_S", 0.0)
    httpx_mock.add_response(url=CREDITS_URL, json={"code": 1001, "message": "expired"})
    httpx_mock.add_response(url=CREDITS_URL, json={"code": 0, "data": {"available": 7}})
    assert (await backend.get_credits()).available == 7
    assert token_requests(httpx_mock) == 3


async def test_a_token_endpoint_that_answers_1001_is_not_asked_on_every_call(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json={"code": 1001, "message": "no"}, is_reusable=True)
    for _ in range(3):
        with pytest.raises(TokenRenewalRefusedError) as caught:
            await backend.get_credits()
        assert_names_the_ways_out(caught.value)
    assert token_requests(httpx_mock) == 1


async def test_an_edit_whose_new_token_is_rejected_too_is_told_the_same(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json=token_reply(TOKEN_2))
    httpx_mock.add_response(
        method="POST", url=f"{API}/run_sse", json={"code": 1001, "message": "bad"}, is_reusable=True
    )
    with pytest.raises(TokenRenewalRefusedError):
        _ = [e async for e in backend.edit("x", EditOptions())]
    with pytest.raises(TokenRenewalRefusedError):
        _ = [e async for e in backend.edit("x", EditOptions())]
    assert token_requests(httpx_mock) == 2


async def test_a_token_lock_held_by_another_process_is_waited_for_within_the_budget(
    httpx_mock: HTTPXMock, backend: CloudBackend, settings: Settings
) -> None:
    other_process = Store(settings.cache_dir).profile(f"cloud {settings.api_base}")
    async with other_process.locked_async("auth"):
        started = time.monotonic()
        with call_budget(1.5), pytest.raises(LockBusyError) as caught:
            await backend.get_credits()
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.5
    assert "another nemo-video-mcp process sharing its cache, is getting a NemoVideo token" in caught.value.message
    assert caught.value.next_step.startswith("Call the tool again in a minute.")
    assert str(settings.cache_dir) in caught.value.next_step
    assert not httpx_mock.get_requests()


async def test_a_session_lock_held_by_another_request_is_waited_for_within_the_budget(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    httpx_mock.add_response(method="POST", url=TOKEN_URL, json=token_reply())
    session_asked = asyncio.Event()

    async def slow_session(request: httpx.Request) -> httpx.Response:
        session_asked.set()
        await asyncio.sleep(30)
        return httpx.Response(200, json=session_reply())

    httpx_mock.add_callback(slow_session, method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent")
    first = asyncio.ensure_future(backend.session_id())
    await session_asked.wait()
    try:
        started = time.monotonic()
        with call_budget(1.5), pytest.raises(LockBusyError, match="is setting up the editing session"):
            await backend.session_id()
        assert time.monotonic() - started < 1.5
    finally:
        first.cancel()


async def test_lost_session_is_replaced_and_the_agent_told(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json={"code": 1002, "message": "gone"})
    httpx_mock.add_response(method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent", json=session_reply("999"))
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/999/latest", json=state_reply({}))
    with collecting() as notices:
        await backend.get_state()
    assert httpx_mock.get_requests()[-1].url.path == "/api/state/nemo_agent/me/999/latest"
    assert len(notices) == 1 and "starts afresh" in notices[0]
    assert await backend.session_id() == "999"


async def test_a_replaced_session_gets_the_uploads_that_still_exist(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    kept, gone = tmp_path / "kept.png", tmp_path / "gone.png"
    for image in (kept, gone):
        Image.new("RGB", (8, 8)).save(image)
    files = [{"filename": p.name, "file_type": "image", "cdn_url": f"https://cdn/{p.name}"} for p in (kept, gone)]
    httpx_mock.add_response(
        method="POST", url=f"{API}/api/upload-video/nemo_agent/me/{SID}", json={"code": 0, "data": {"files": files}}
    )
    media = [MediaFile(path=p, kind="image", format="png", mime_type="image/png", size_bytes=108) for p in (kept, gone)]
    await backend.upload(media, [])
    gone.unlink()
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json={"code": 1002, "message": "gone"})
    httpx_mock.add_response(method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent", json=session_reply("999"))
    httpx_mock.add_response(
        method="POST", url=f"{API}/api/upload-video/nemo_agent/me/999", json={"code": 0, "data": {"files": files[:1]}}
    )
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/999/latest", json=state_reply({}))
    with collecting() as notices:
        await backend.get_state()
    restored = httpx_mock.get_requests()[-2]
    assert b'filename="kept.png"' in restored.content and b"gone.png" not in restored.content
    assert "1 earlier upload(s) were sent again" in notices[0]


async def test_a_session_lost_again_at_once_is_reported_not_replaced_again(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    gone = {"code": 1002, "message": "gone"}
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json=gone)
    httpx_mock.add_response(method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent", json=session_reply("999"))
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/999/latest", json=gone)
    with pytest.raises(SessionLostError) as caught:
        await backend.get_state()
    assert caught.value.next_step == "Call the tool again; a new session will be created (the timeline starts afresh)."
    sessions = [r for r in httpx_mock.get_requests() if r.url.path == "/api/tasks/me/with-session/nemo_agent"]
    assert len(sessions) == 2  # the first, and one replacement


async def test_rate_limit_retried_once_then_reported(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/credits/balance/simple"
    httpx_mock.add_response(url=url, status_code=429, json={"code": 429, "message": "slow"})
    httpx_mock.add_response(url=url, json={"code": 0, "data": {"available": 7, "frozen": 3}})
    credits = await backend.get_credits()
    assert (credits.available, credits.total) == (7, 10)
    httpx_mock.add_response(url=url, status_code=429, json={"code": 429}, is_reusable=True)
    with pytest.raises(RateLimitedError) as caught:
        await backend.get_credits()
    assert "refused a retry 30 s later" in caught.value.message
    assert caught.value.next_step == "Wait a few minutes before calling the tool again; do not loop on it."


async def test_missing_client_id_gets_a_new_id_and_one_retry(
    httpx_mock: HTTPXMock, backend: CloudBackend, settings: Settings, store: Store
) -> None:
    url = f"{API}/api/auth/anonymous-token"
    httpx_mock.add_response(method="POST", url=url, status_code=400, json={"message": "X-Client-Id required"})
    httpx_mock.add_response(method="POST", url=url, json=token_reply())
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", json={"code": 0, "data": {"available": 1}})
    await backend.get_credits()
    first, second = (r.headers["x-client-id"] for r in httpx_mock.get_requests()[:2])
    assert first != second
    httpx_mock.reset()
    fresh_cache = Store(settings.cache_dir.parent / "fresh-cache")
    httpx_mock.add_response(method="POST", url=url, status_code=400, json={"message": "client id"}, is_reusable=True)
    with pytest.raises(MissingClientIdError) as caught:
        await CloudBackend(settings, fresh_cache).get_credits()
    assert caught.value.next_step == (
        "Delete client.json in the cache directory (or set NEMO_CLIENT_ID to a UUID) and call the tool again."
    )


@pytest.mark.parametrize(
    ("reply", "status", "error", "next_step_says"),
    [
        ({"code": 2001, "message": "no credits"}, 200, NoCreditsError, f"{WEB}?bind=anon_42"),
        ({"code": 4001, "message": "bad type"}, 200, BackendUnsupportedFileError, "jpg"),
        ({"code": 4002, "message": "too big"}, 200, BackendFileTooLargeError, "under 200 MB"),
        ({"message": "free plan"}, 402, ExportBlockedError, "register or upgrade"),
        ({"code": 402, "message": "free plan"}, 200, ExportBlockedError, "register or upgrade"),
        ({"message": "down"}, 503, BackendUnavailableError, "NEMO_BACKEND=local"),
    ],
)
async def test_error_codes_become_actionable_errors(
    httpx_mock: HTTPXMock, backend: CloudBackend, reply: dict, status: int, error: type[NemoError], next_step_says: str
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/render/proxy/lambda",
        status_code=status,
        json=reply,
        is_reusable=True,
    )
    with pytest.raises(error) as caught:
        await backend.start_render("render_x", {"t": [{"tt": 0, "sg": [{}]}]})
    assert next_step_says in caught.value.next_step
    assert TOKEN_1 not in caught.value.agent_message


async def test_malformed_json_is_a_clear_error(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", content=b"{oops")
    with pytest.raises(BadResponseError) as caught:
        await backend.get_credits()
    assert "cannot read" in caught.value.agent_message


async def test_timeouts_on_reads_are_retried_then_reported(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/credits/balance/simple"
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=url)
    httpx_mock.add_response(url=url, json={"code": 0, "data": {"available": 3}})
    assert (await backend.get_credits()).available == 3
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=url, is_reusable=True)
    with pytest.raises(BackendUnavailableError) as caught:
        await backend.get_credits()
    assert "connected to api.test, but the backend sent no answer within" in caught.value.agent_message
    assert "(no byte received) (tried 4 times)" in caught.value.agent_message


@pytest.mark.parametrize(
    ("failure", "must_say"),
    [
        (httpx.ReadTimeout("slow"), "stopped mid-way after 10 bytes (nothing more came for 60 s)"),
        (httpx.RemoteProtocolError("peer closed"), "stopped mid-way after 10 bytes (the connection closed"),
    ],
)
async def test_an_answer_cut_short_says_how_much_arrived(
    httpx_mock: HTTPXMock, backend: CloudBackend, failure: httpx.TransportError, must_say: str
) -> None:
    add_login(httpx_mock)

    def cut_short() -> Iterator[bytes]:
        yield b'{"code": 0'
        raise failure

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=IteratorStream(cut_short()))

    httpx_mock.add_callback(reply, url=f"{API}/api/credits/balance/simple", is_reusable=True)
    with pytest.raises(BackendUnavailableError) as caught:
        await backend.get_credits()
    assert f"the answer from api.test {must_say}" in caught.value.agent_message
    assert TOKEN_1 not in caught.value.agent_message


async def test_a_connection_closed_before_any_answer_says_so(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    httpx_mock.add_exception(httpx.RemoteProtocolError("Server disconnected without sending a response."))
    with pytest.raises(BackendUnavailableError) as caught:
        await backend.get_credits()
    assert "connected to api.test, but it closed the connection without an answer" in caught.value.agent_message


async def test_upload_is_multipart_files_and_the_url_form(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/upload-video/nemo_agent/me/{SID}",
        json={"code": 0, "data": {"files": [{"filename": "a.png", "file_type": "image", "cdn_url": "https://cdn/a"}]}},
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/upload-video/nemo_agent/me/{SID}",
        json={"code": 0, "data": {"files": [{"filename": "b.jpg", "file_type": "image", "cdn_url": "https://cdn/b"}]}},
    )
    media = MediaFile(path=image, kind="image", format="png", mime_type="image/png", size_bytes=108)
    uploaded = await backend.upload([media], ["https://example.com/b.jpg"])
    assert [u.url for u in uploaded] == ["https://cdn/a", "https://cdn/b"]
    assert [u.size_bytes for u in uploaded] == [108, None]
    multipart, by_url = httpx_mock.get_requests()[-2:]
    assert multipart.headers["content-type"].startswith("multipart/form-data")
    assert b'name="files"; filename="a.png"' in multipart.content
    assert image.read_bytes() in multipart.content
    assert json.loads(by_url.content) == {"urls": ["https://example.com/b.jpg"], "source_type": "url"}
    assert [u.source for u in backend.uploads()] == [str(image), "https://example.com/b.jpg"]


class CountingBackend(httpx.AsyncBaseTransport):
    """Answers login and upload, reading each upload body chunk by chunk and keeping none of it."""

    def __init__(self) -> None:
        self.upload_bytes = 0
        self.largest_chunk = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/auth/anonymous-token":
            return json_response(token_reply())
        if path.startswith("/api/tasks/"):
            return json_response(session_reply())
        assert path.startswith("/api/upload-video/"), path
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            self.upload_bytes += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        files = [{"filename": "big.png", "file_type": "image", "cdn_url": "https://cdn/big"}]
        return json_response({"code": 0, "data": {"files": files}})


def json_response(doc: dict) -> httpx.Response:
    """A reply as a transport gives it: a body still to be streamed."""
    return httpx.Response(
        200, headers={"content-type": "application/json"}, stream=httpx.ByteStream(json.dumps(doc).encode())
    )


async def test_a_large_upload_is_streamed_from_disk_not_read_into_memory(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    size = 64 * 1024 * 1024
    image = tmp_path / "big.png"
    with image.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.truncate(size)  # sparse: 64 MB on the file system, next to nothing on disk
    counting = CountingBackend()
    backend = CloudBackend(settings, store, transport=counting)
    media = MediaFile(path=image, kind="image", format="png", mime_type="image/png", size_bytes=size)
    tracemalloc.start()
    try:
        (uploaded,) = await backend.upload([media], [])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await backend.aclose()
    assert uploaded.url == "https://cdn/big" and uploaded.size_bytes == size
    assert counting.upload_bytes > size  # the whole file, and the multipart framing
    assert 64 * 1024 < counting.largest_chunk <= 1024 * 1024  # joined pieces: 64 KB writes ran at half curl's speed
    assert peak < 8 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB held while uploading a 64 MB file"


def sse(*events: object, line_end: str = "\n") -> list[bytes]:
    chunks = []
    for event in events:
        text = event if isinstance(event, str) else f"data: {json.dumps(event)}"
        chunks.append((text + line_end + line_end).encode())
    return chunks


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
async def test_edit_streams_events_in_both_shapes(httpx_mock: HTTPXMock, backend: CloudBackend, line_end: str) -> None:
    """Every heartbeat form is a heartbeat, the `: ping` comment included; LF, CRLF and CR lines."""
    add_login(httpx_mock)
    chunks = sse(
        ": ping",
        "data:",
        {"type": "heartbeat"},
        {"content": {"parts": [{"functionCall": {"name": "edit_multitrack", "args": {}}}]}},
        {"type": "text", "content": "Half way."},
        {"content": {"parts": [{"text": "Done! Click the Export button."}]}, "turnComplete": True},
        line_end=line_end,
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(chunks),
        headers={"content-type": "text/event-stream"},
    )
    events = [e async for e in backend.edit("make a video", EditOptions())]
    assert [type(e) for e in events] == [HeartbeatEvent] * 3 + [StepEvent, TextEvent, TextEvent]
    request = httpx_mock.get_requests()[-1]
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content) == {
        "app_name": "nemo_agent",
        "user_id": "me",
        "session_id": SID,
        "new_message": {"parts": [{"text": "make a video"}]},
    }


def add_stream(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(sse({"type": "text", "content": "ok"})),
        headers={"content-type": "text/event-stream"},
    )


def sent_edit_text(httpx_mock: HTTPXMock) -> str:
    """The text of the one edit request, checked to be the contract's body exactly."""
    (request,) = [r for r in httpx_mock.get_requests() if r.url.path == "/run_sse"]
    body = json.loads(request.content)
    assert body.keys() == {"app_name", "user_id", "session_id", "new_message"}
    (part,) = body["new_message"]["parts"]
    assert part.keys() == {"text"}
    return part["text"]


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        (EditOptions(duration_s=12), "total duration 12 seconds"),
        (EditOptions(aspect="9:16"), "aspect ratio 9:16"),
        (EditOptions(transition="dissolve"), "transitions: dissolve"),
        (EditOptions(motion="static"), "motion: static"),
        (EditOptions(title="Summer 2024"), 'title text "Summer 2024"'),
        (EditOptions(fit="contain"), "black bars around photos"),
    ],
    ids=lambda value: next(iter(value.model_dump(exclude_none=True)), "") if isinstance(value, EditOptions) else "",
)
async def test_each_generate_video_option_is_spelled_out_in_the_edit_text(
    httpx_mock: HTTPXMock, backend: CloudBackend, options: EditOptions, setting: str
) -> None:
    """The body has only a text part (docs/backend.md): an explicit option must reach the backend's agent there."""
    add_login(httpx_mock)
    add_stream(httpx_mock)
    _ = [e async for e in backend.edit("make a video", options)]
    assert sent_edit_text(httpx_mock) == f"make a video\n\n(Settings: {setting}.)"


async def test_all_options_at_once_are_each_spelled_out(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    add_stream(httpx_mock)
    options = EditOptions(duration_s=7.5, aspect="1:1", transition="wipe", motion="kenburns", title="Hi", fit="cover")
    _ = [e async for e in backend.edit("go", options)]
    assert sent_edit_text(httpx_mock) == (
        "go\n\n(Settings: total duration 7.5 seconds; aspect ratio 1:1; transitions: wipe; motion: kenburns; "
        'title text "Hi"; crop photos to fill the frame.)'
    )


async def test_the_music_option_is_uploaded_first_and_named_in_the_edit_text(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    song = tmp_path / "song.mp3"
    song.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 30)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/upload-video/nemo_agent/me/{SID}",
        json={
            "code": 0,
            "data": {"files": [{"filename": "bg_1.mp3", "file_type": "audio", "cdn_url": "https://cdn/m"}]},
        },
    )
    add_stream(httpx_mock)
    _ = [e async for e in backend.edit("go", EditOptions(music_path=str(song)))]
    upload, edit = [r for r in httpx_mock.get_requests() if r.method == "POST"][-2:]
    assert upload.url.path.startswith("/api/upload-video/") and b'filename="song.mp3"' in upload.content
    assert edit.url.path == "/run_sse"
    assert sent_edit_text(httpx_mock) == "go\n\n(Settings: use the uploaded audio bg_1.mp3 as background music.)"


async def test_cut_stream_raises_stream_cut_and_is_not_resent(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)

    def cut() -> Iterator[bytes]:
        yield b'data: {"type":"tool_call","name":"edit_multitrack","args":{}}\n\n'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    httpx_mock.add_response(
        method="POST", url=f"{API}/run_sse", stream=IteratorStream(cut()), headers={"content-type": "text/event-stream"}
    )
    with pytest.raises(StreamCutError) as caught:
        _ = [e async for e in backend.edit("x", EditOptions())]
    assert caught.value.reason.startswith("the answer from api.test stopped mid-way after 63 bytes")
    assert [r.url.path for r in httpx_mock.get_requests()].count("/run_sse") == 1


def silent_stream() -> Iterator[bytes]:
    raise httpx.ReadTimeout("no byte")
    yield b""  # pragma: no cover


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"exception": httpx.ReadTimeout("no headers")}, "the editor accepted the request but sent nothing for"),
        ({"stream": IteratorStream(silent_stream())}, "the editor accepted the request but sent nothing for"),
        ({"stream": IteratorStream([])}, "the editor accepted the request but closed the stream without sending"),
        ({"stream": IteratorStream(sse(": ping", ": ping"))}, "the stream closed with heartbeats only"),
    ],
    ids=["no-headers", "headers-then-silence", "empty-stream", "heartbeats-only"],
)
async def test_an_edit_stream_that_sent_nothing_is_told_apart_from_one_cut(
    httpx_mock: HTTPXMock, backend: CloudBackend, answer: dict, reason: str
) -> None:
    add_login(httpx_mock)
    url = f"{API}/run_sse"
    if "exception" in answer:
        httpx_mock.add_exception(answer["exception"], method="POST", url=url)
    else:
        httpx_mock.add_response(
            method="POST", url=url, stream=answer["stream"], headers={"content-type": "text/event-stream"}
        )
    with pytest.raises(StreamCutError) as caught:
        _ = [e async for e in backend.edit("x", EditOptions())]
    assert caught.value.reason.startswith(reason), caught.value.reason


async def test_session_404_on_run_sse_gets_a_new_session(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(method="POST", url=f"{API}/run_sse", status_code=404, json={"detail": "Session not found"})
    httpx_mock.add_response(method="POST", url=f"{API}/api/tasks/me/with-session/nemo_agent", json=session_reply("777"))
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(sse({"type": "text", "content": "ok"})),
        headers={"content-type": "text/event-stream"},
    )
    with collecting() as notices:
        events = [e async for e in backend.edit("x", EditOptions())]
    assert events == [TextEvent(text="ok")]
    assert json.loads(httpx_mock.get_requests()[-1].content)["session_id"] == "777"
    assert "starts afresh" in notices[0]


async def test_render_duplicate_id_of_our_own_job_is_not_started_twice(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST", url=f"{API}/api/render/proxy/lambda", json={"success": False, "error": "duplicate id"}
    )
    httpx_mock.add_response(
        url=f"{API}/api/render/proxy/lambda/render_1",
        json={"success": True, "data": {"id": "render_1", "status": "processing", "progress": 40}},
    )
    status = await backend.start_render("render_1", {"t": [{"tt": 0, "sg": [{}]}]})
    assert (status.job_id, status.status) == ("render_1", "processing")


async def test_render_duplicate_id_of_someone_else_is_reported_for_a_new_id(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/render/proxy/lambda"
    httpx_mock.add_response(method="POST", url=url, json={"success": False, "error": "duplicate id"})
    httpx_mock.add_response(url=f"{url}/render_1", status_code=404, json={"detail": "Not Found"})
    with pytest.raises(RenderIdTakenError):
        await backend.start_render("render_1", {"t": []})
    start = json.loads(httpx_mock.get_requests()[-2].content)
    assert start["id"] == "render_1" and start["sessionId"] == SID
    assert start["output"] == {"format": "mp4", "quality": "high"}


async def test_a_404_outside_renders_is_a_clear_error_not_a_crash(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", status_code=404, json={"detail": "Not Found"})
    with pytest.raises(BackendRequestError) as caught:
        await backend.get_credits()
    assert "Not Found" in caught.value.message
    assert caught.value.next_step == (
        "Call get_state to check the project, then retry once; if it repeats, report the code."
    )


async def test_code_400_off_the_token_endpoint_is_not_a_client_id_problem(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST", url=f"{API}/api/render/proxy/lambda", json={"code": 400, "message": "invalid draft"}
    )
    with pytest.raises(BackendRequestError) as caught:
        await backend.start_render("render_9", {"t": []})
    assert caught.value.code == 400 and "invalid draft" in caught.value.message


async def test_a_malformed_state_reply_is_a_bad_response_error(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/state/nemo_agent/me/{SID}/latest", json={"code": 0, "data": [1, 2]})
    with pytest.raises(BadResponseError):
        await backend.get_state()


async def test_anonymous_token_limit_names_the_ways_out(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    url = f"{API}/api/auth/anonymous-token"
    httpx_mock.add_response(method="POST", url=url, status_code=429, json={"code": 429}, is_reusable=True)
    with pytest.raises(AnonymousTokenLimitError) as caught:
        await backend.get_credits()
    assert "NEMO_TOKEN" in caught.value.agent_message and "NEMO_BACKEND=local" in caught.value.agent_message
    assert len(httpx_mock.get_requests()) == 2


async def test_private_video_url_is_fetched_with_the_token(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/render/proxy/render_1/download"
    httpx_mock.add_response(url=url, content=MP4)
    target = await backend.download_render("render_1", url, tmp_path / "videos" / "v.mp4")
    assert target.read_bytes() == MP4 and backend.url_needs_auth(url)
    assert httpx_mock.get_requests()[-1].headers["authorization"] == f"Bearer {TOKEN_1}"
    assert [p.name for p in (tmp_path / "videos").iterdir()] == ["v.mp4"]


async def test_a_cdn_url_gets_no_token_and_a_dead_one_falls_back_to_the_proxy_download(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url="https://cdn.test/v.mp4", status_code=403)
    httpx_mock.add_response(url=f"{API}/api/render/proxy/render_2/download", content=MP4 + b"FROMPROXY")
    target = await backend.download_render("render_2", "https://cdn.test/v.mp4", tmp_path / "videos" / "v.mp4")
    assert target.read_bytes() == MP4 + b"FROMPROXY"
    cdn_request = next(r for r in httpx_mock.get_requests() if r.url.host == "cdn.test")
    assert "authorization" not in cdn_request.headers
    assert not backend.url_needs_auth("https://cdn.test/v.mp4")
    assert sorted(p.name for p in (tmp_path / "videos").iterdir()) == ["v.mp4"]


async def test_an_undownloadable_video_is_a_clear_error_and_leaves_no_partial_file(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/render/proxy/render_3/download", status_code=500, is_reusable=True)
    with pytest.raises(BackendUnavailableError) as caught:
        await backend.download_render("render_3", None, tmp_path / "videos" / "v.mp4")
    assert "could not be downloaded" in caught.value.agent_message
    assert list((tmp_path / "videos").iterdir()) == []  # the folder exists, the partial file does not


@pytest.mark.parametrize(("status", "body"), [(502, b"<html>Bad Gateway</html>"), (200, b"not json")])
async def test_a_gateway_error_on_run_sse_is_treated_as_a_cut_not_a_refusal(
    httpx_mock: HTTPXMock, backend: CloudBackend, status: int, body: bytes
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(method="POST", url=f"{API}/run_sse", status_code=status, content=body)
    with pytest.raises(StreamCutError):
        _ = [e async for e in backend.edit("x", EditOptions())]
    assert [r.url.path for r in httpx_mock.get_requests()].count("/run_sse") == 1
