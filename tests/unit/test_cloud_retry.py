"""The cloud backend's one retry policy: bounded, jittered, honouring Retry-After, within the call budget,
and never sending an edit again once it may have started."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from nemo_video_mcp.backends.base import StreamCutError
from nemo_video_mcp.backends.cloud import CloudBackend
from nemo_video_mcp.backends.cloud.retry import (
    BACKOFF_BASE_S,
    BACKOFF_JITTER,
    TRANSIENT_RETRIES,
    backoff_s,
    retry_after_s,
)
from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import BackendUnavailableError, RateLimitedError
from nemo_video_mcp.models import EditOptions, MediaFile, TextEvent
from nemo_video_mcp.store import Store

from .conftest import API
from .test_cloud_backend import SID, add_login, sse

CREDITS_URL = f"{API}/api/credits/balance/simple"
RUN_SSE = f"{API}/run_sse"
CREDITS = {"code": 0, "data": {"available": 7}}
SCALE = 0.05
"""Waits run at a twentieth of their length here: the default 429 wait takes 1.5 s, a 2 s Retry-After 0.1 s."""
EARLY = 0.9
"""A timer may fire a hair early."""


@pytest.fixture
def backend(settings: Settings, store: Store) -> Iterator[CloudBackend]:
    yield CloudBackend(settings.model_copy(update={"wait_scale": SCALE}), store)


def sent_at(httpx_mock: HTTPXMock, url: str, replies: list[httpx.Response]) -> list[float]:
    """Answer `url` with `replies` in turn; the returned list fills with when each request came."""
    times: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return replies[min(len(times), len(replies)) - 1]

    httpx_mock.add_callback(answer, url=url, is_reusable=True)
    return times


def requests_to(httpx_mock: HTTPXMock, path: str) -> int:
    return sum(1 for r in httpx_mock.get_requests() if r.url.path == path)


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# --- Reading Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), ("", None), ("soon", None), ("nan", None), ("inf", None)],
)
def test_retry_after_in_seconds(value: str, seconds: float | None) -> None:
    assert retry_after_s(httpx.Headers({"Retry-After": value})) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    header = httpx.Headers({"Retry-After": email.utils.formatdate(now + 90, usegmt=True)})
    assert retry_after_s(header, now=now) == 90.0
    past = httpx.Headers({"Retry-After": email.utils.formatdate(now - 90, usegmt=True)})
    assert retry_after_s(past, now=now) == 0.0
    assert retry_after_s(httpx.Headers()) is None


def test_back_off_doubles_and_its_jitter_stays_within_bounds() -> None:
    for retry in range(1, TRANSIENT_RETRIES + 1):
        base = BACKOFF_BASE_S * 2 ** (retry - 1)
        assert backoff_s(retry, rand=lambda: 0.0) == base
        assert backoff_s(retry, rand=lambda: 0.999999) == pytest.approx(base * (1 + BACKOFF_JITTER), rel=1e-5)
        samples = [backoff_s(retry) for _ in range(200)]
        assert all(base <= s < base * (1 + BACKOFF_JITTER) for s in samples)
        assert len(set(samples)) > 100  # jittered: two clients do not retry in step


# --- Retry-After honoured -----------------------------------------------------------------------------


async def test_a_429_waits_the_seconds_retry_after_names(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={"code": 429})
    times = sent_at(httpx_mock, CREDITS_URL, [limited, httpx.Response(200, json=CREDITS)])
    assert (await backend.get_credits()).available == 7
    assert len(times) == 2
    assert 2 * SCALE * EARLY <= times[1] - times[0] < 30 * SCALE * 0.5  # Retry-After, not the default 30 s


async def test_a_429_waits_until_the_http_date_retry_after_names(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    limited = httpx.Response(429, headers={"Retry-After": http_date(5.5)}, json={"code": 429})
    times = sent_at(httpx_mock, CREDITS_URL, [limited, httpx.Response(200, json=CREDITS)])
    assert (await backend.get_credits()).available == 7
    assert 4 * SCALE <= times[1] - times[0] < 30 * SCALE * 0.5  # the date has whole seconds: 4.5 to 5.5 s


async def test_a_429_without_retry_after_waits_the_contracts_30_s(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    limited = httpx.Response(429, json={"code": 429})
    times = sent_at(httpx_mock, CREDITS_URL, [limited, httpx.Response(200, json=CREDITS)])
    await backend.get_credits()
    assert 30 * SCALE * EARLY <= times[1] - times[0] < 30 * SCALE + 0.5


async def test_a_503_retry_after_replaces_the_back_off_on_a_read(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    down = httpx.Response(503, headers={"Retry-After": "10"}, json={"message": "maintenance"})
    times = sent_at(httpx_mock, CREDITS_URL, [down, httpx.Response(200, json=CREDITS)])
    await backend.get_credits()
    assert 10 * SCALE * EARLY <= times[1] - times[0] < 10 * SCALE + 0.3  # the first back-off: 2 to 3 s


async def test_a_retry_after_beyond_the_budget_fails_at_once_saying_when(
    httpx_mock: HTTPXMock, settings: Settings, store: Store
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=CREDITS_URL, status_code=429, headers={"Retry-After": "120"}, json={"code": 429})
    backend = CloudBackend(settings.model_copy(update={"wait_scale": 1.0}), store)
    started = time.monotonic()
    with call_budget(10), pytest.raises(RateLimitedError) as caught:
        await backend.get_credits()
    assert time.monotonic() - started < 1.0
    error = caught.value
    assert "(120 s) did not fit in this call's time budget, so no retry was sent" in error.message
    found = re.fullmatch(
        r"Call the tool again after (\d\d):(\d\d):(\d\d) UTC \(in about 120 s\), not before; do not loop on it\.",
        error.next_step,
    )
    assert found, error.next_step
    expected = time.gmtime(time.time() + 120)
    told = int(found[1]) * 3600 + int(found[2]) * 60 + int(found[3])
    assert abs(told - (expected.tm_hour * 3600 + expected.tm_min * 60 + expected.tm_sec)) % 86400 <= 2
    assert requests_to(httpx_mock, "/api/credits/balance/simple") == 1


async def test_a_retry_after_of_an_hour_is_not_waited_even_outside_a_call(
    httpx_mock: HTTPXMock, settings: Settings, store: Store
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=CREDITS_URL, status_code=429, headers={"Retry-After": "3600"}, json={"code": 429})
    backend = CloudBackend(settings.model_copy(update={"wait_scale": 1.0}), store)
    started = time.monotonic()
    with pytest.raises(RateLimitedError) as caught:
        await backend.get_credits()
    assert time.monotonic() - started < 1.0
    assert "asked to wait 3600 s, longer than this server waits" in caught.value.message
    assert "(in about 3600 s)" in caught.value.next_step
    assert requests_to(httpx_mock, "/api/credits/balance/simple") == 1


# --- Attempts bounded, idempotent calls only ------------------------------------------------------------


async def test_a_read_is_sent_at_most_four_times(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=CREDITS_URL, status_code=503, json={"message": "down"}, is_reusable=True)
    with pytest.raises(BackendUnavailableError) as caught:
        await backend.get_credits()
    assert requests_to(httpx_mock, "/api/credits/balance/simple") == 1 + TRANSIENT_RETRIES
    assert "the backend answered HTTP 503 (tried 4 times)" in caught.value.message


async def test_a_rate_limit_is_retried_once_per_call(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        url=CREDITS_URL, status_code=429, headers={"Retry-After": "1"}, json={"code": 429}, is_reusable=True
    )
    with pytest.raises(RateLimitedError) as caught:
        await backend.get_credits()
    assert requests_to(httpx_mock, "/api/credits/balance/simple") == 2
    assert "refused a retry 1.0 s later" in caught.value.message
    assert "(in about 1.0 s)" in caught.value.next_step


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(503, json={"message": "down"}), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed")],
    ids=["503", "read-timeout", "closed"],
)
async def test_an_upload_is_never_sent_twice(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path, failure: httpx.Response | Exception
) -> None:
    add_login(httpx_mock)
    url = f"{API}/api/upload-video/nemo_agent/me/{SID}"
    if isinstance(failure, httpx.Response):
        httpx_mock.add_response(method="POST", url=url, status_code=failure.status_code, json={"message": "down"})
    else:
        httpx_mock.add_exception(failure, method="POST", url=url)
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    media = MediaFile(path=image, kind="image", format="png", mime_type="image/png", size_bytes=108)
    with pytest.raises(BackendUnavailableError):
        await backend.upload([media], [])
    assert requests_to(httpx_mock, f"/api/upload-video/nemo_agent/me/{SID}") == 1


# --- POST /run_sse: never sent again once it may have started ----------------------------------------------


def cut_after_one_event() -> Iterator[bytes]:
    yield b'data: {"type":"text","content":"working"}\n\n'
    raise httpx.RemoteProtocolError("peer closed connection")


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 503, "headers": {"Retry-After": "0"}, "json": {"message": "down"}},
        {"status_code": 502, "content": b"<html>Bad Gateway</html>"},
        {"status_code": 500, "json": {"code": 500, "message": "oops"}},
        {"exception": httpx.ReadTimeout("no headers")},
        {"exception": httpx.RemoteProtocolError("closed before any answer")},
        {"stream": cut_after_one_event},
    ],
    ids=["503-retry-after-0", "502", "500", "read-timeout", "closed", "cut-mid-stream"],
)
async def test_an_edit_that_may_have_started_is_never_sent_again(
    httpx_mock: HTTPXMock, backend: CloudBackend, answer: dict
) -> None:
    add_login(httpx_mock)
    if "exception" in answer:
        httpx_mock.add_exception(answer["exception"], method="POST", url=RUN_SSE, is_reusable=True)
    elif "stream" in answer:
        httpx_mock.add_callback(
            lambda request: httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=IteratorStream(answer["stream"]())
            ),
            method="POST",
            url=RUN_SSE,
            is_reusable=True,
        )
    else:
        httpx_mock.add_response(method="POST", url=RUN_SSE, is_reusable=True, **answer)
    with pytest.raises(StreamCutError):
        _ = [e async for e in backend.edit("make a video", EditOptions())]
    assert requests_to(httpx_mock, "/run_sse") == 1


async def test_an_edit_refused_with_429_is_sent_once_more_after_retry_after(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    """A 429 comes before the edit started, so sending it again cannot charge twice (docs/backend.md)."""
    add_login(httpx_mock)
    limited = httpx.Response(429, headers={"Retry-After": "1"}, json={"code": 429})
    stream = httpx.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=IteratorStream(sse({"type": "text", "content": "ok"})),
    )
    times = sent_at(httpx_mock, RUN_SSE, [limited, stream])
    events = [e async for e in backend.edit("make a video", EditOptions())]
    assert events == [TextEvent(text="ok")]
    assert len(times) == 2 and 1 * SCALE * EARLY <= times[1] - times[0] < 30 * SCALE * 0.5


async def test_an_edit_rate_limited_twice_is_not_sent_a_third_time(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST", url=RUN_SSE, status_code=429, headers={"Retry-After": "0"}, json={"code": 429}, is_reusable=True
    )
    with pytest.raises(RateLimitedError):
        _ = [e async for e in backend.edit("make a video", EditOptions())]
    assert requests_to(httpx_mock, "/run_sse") == 2
