"""The cloud backend over real loopback sockets: a backend that never answers, a closed port, the call budget.

The simulator's `stall_paths` switch accepts a request and never sends a byte back, which is what a
hung backend or gateway looks like from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nemo_video_mcp.backends.base import StreamCutError
from nemo_video_mcp.backends.cloud import BUDGET_MARGIN_S, DEFAULT_TIMEOUT, CloudBackend, edits, transport
from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import BackendUnavailableError, NemoError, RateLimitedError
from nemo_video_mcp.models import EditOptions
from nemo_video_mcp.store import Store
from tests.sim import RunningSimulator, SimConfig, run_simulator

TOKEN = SecretStr("nmv_usr_silentbackend1")
GUARD_S = 15.0
"""A broken implementation waits its full 60 s timeouts (and retries): fail long before that."""

Read = Callable[[CloudBackend], Awaitable[Any]]
READS: dict[str, Read] = {"get_credits": lambda b: b.get_credits(), "get_state": lambda b: b.get_state()}


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSimulator]:
    with run_simulator() as sim:
        yield sim


@pytest.fixture
def sim(running: RunningSimulator) -> RunningSimulator:
    running.world.reset(SimConfig())
    return running


def backend_at(
    base_url: str, settings: Settings, store: Store, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT, **changes: Any
) -> CloudBackend:
    """A cloud backend talking to `base_url`, with `changes` to the settings."""
    return CloudBackend(settings.model_copy(update={"api_base": base_url, **changes}), store, timeout=timeout)


async def failure_of(read: Awaitable[Any], budget_s: float | None = None) -> tuple[NemoError, float]:
    """Run `read` (inside a call budget, if given); return the error it raised and how long it took."""
    started = time.monotonic()
    with pytest.raises(NemoError) as caught:
        if budget_s is None:
            await asyncio.wait_for(read, GUARD_S)
        else:
            with call_budget(budget_s):
                await asyncio.wait_for(read, GUARD_S)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize("name", READS)
async def test_a_silent_backend_is_given_up_on_within_the_budget(
    sim: RunningSimulator, settings: Settings, store: Store, name: str
) -> None:
    sim.configure(stall_paths=["/api/"])
    backend = backend_at(sim.base_url, settings, store)
    error, elapsed = await failure_of(READS[name](backend), budget_s=2)
    assert isinstance(error, BackendUnavailableError)
    assert 1.0 < elapsed < 3.0
    text = error.agent_message
    assert "connected to 127.0.0.1, but the backend sent no answer within" in text and "no byte received" in text
    assert error.next_step == (
        "Check the network (NEMO_API_BASE) and call the tool again in a minute; "
        "or set NEMO_BACKEND=local to render offline."
    )
    assert len(sim.world.requests_to("/api/auth/anonymous-token")) == 1
    await backend.aclose()


async def test_a_retry_that_does_not_fit_in_the_budget_is_not_sent(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    sim.configure(stall_paths=["/api/state/"])  # the token and the session come back at once
    backend = backend_at(sim.base_url, settings, store)
    error, elapsed = await failure_of(backend.get_state(), budget_s=2)
    assert isinstance(error, BackendUnavailableError) and elapsed < 3.0
    assert "(no byte received) (tried once; a retry did not fit" in error.message
    assert len(sim.world.requests_to("/api/state/")) == 1
    await backend.aclose()


async def test_a_back_off_that_does_not_fit_is_skipped_and_the_cause_reported_at_once(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    sim.configure(fail_next_n=10)
    backend = backend_at(sim.base_url, settings, store, token=TOKEN, wait_scale=1.0)
    error, elapsed = await failure_of(backend.get_credits(), budget_s=2.5)  # the first back-off is 2 s or more
    assert isinstance(error, BackendUnavailableError) and elapsed < 1.0
    assert "answered HTTP 503 (tried once; a retry did not fit" in error.message
    assert len(sim.world.requests_to("/api/credits/")) == 1
    await backend.aclose()


async def test_a_rate_limit_wait_that_does_not_fit_is_not_waited(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    sim.configure(rate_limit_once=True)
    backend = backend_at(sim.base_url, settings, store, token=TOKEN, wait_scale=1.0)
    error, elapsed = await failure_of(backend.get_credits(), budget_s=5)  # the wait would be 30 s
    assert isinstance(error, RateLimitedError) and elapsed < 1.0
    assert "(30 s) did not fit in this call's time budget" in error.message
    assert re.fullmatch(
        r"Call the tool again after \d\d:\d\d:\d\d UTC \(in about 30 s\), not before; .*", error.next_step
    )
    assert len(sim.world.requests_to("/api/credits/")) == 1
    await backend.aclose()


async def test_a_retry_after_header_that_does_not_fit_fails_at_once_saying_when(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    sim.configure(rate_limit_once=True, retry_after_s=45)
    backend = backend_at(sim.base_url, settings, store, token=TOKEN, wait_scale=1.0)
    error, elapsed = await failure_of(backend.get_credits(), budget_s=20)  # 30 s would not fit either
    assert isinstance(error, RateLimitedError) and elapsed < 1.0
    assert "(in about 45 s)" in error.next_step
    await backend.aclose()


async def test_a_retry_after_header_that_fits_is_waited_for(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    backend = backend_at(sim.base_url, settings, store, wait_scale=1.0)
    await backend.get_credits()  # signed in
    sim.configure(rate_limit_once=True, retry_after_s=1)
    started = time.monotonic()
    with call_budget(5):  # the default 30 s would not fit: only the header's 1 s does
        await backend.get_credits()
    assert 0.9 <= time.monotonic() - started < 3.0
    assert len(sim.world.requests_to("/api/credits/")) == 3
    await backend.aclose()


def test_a_read_timeout_names_the_limit_waited_for_not_how_late_the_loop_noticed() -> None:
    """On a loaded machine a 0.3 s read timeout surfaces after 0.4 s or more (connecting, scheduling):
    the message names the 0.3 s asked for, which the agent can act on; a deadline names the time taken."""
    attempt = transport._Attempt("api.test", started=time.monotonic() - 0.7)
    attempt.connected = True
    failure = attempt.failure(httpx.ReadTimeout("timed out"), httpx.Timeout(0.3))
    assert "sent no answer within 0.3 s (no byte received)" in str(failure)
    failure = attempt.failure(TimeoutError(), httpx.Timeout(0.3))
    assert "sent no answer within 0.7 s (no byte received)" in str(failure)


async def test_outside_a_call_the_configured_timeouts_and_every_retry_apply(
    sim: RunningSimulator, settings: Settings, store: Store
) -> None:
    sim.configure(stall_paths=["/api/"])
    backend = backend_at(sim.base_url, settings, store, token=TOKEN, timeout=httpx.Timeout(0.3))
    error, elapsed = await failure_of(backend.get_credits())
    # Four 0.3 s waits and the backoffs between them; the default timeouts (30 s/60 s) would take minutes.
    # The upper bound leaves room for a loaded machine (4.0 s was once missed at load 5).
    assert isinstance(error, BackendUnavailableError) and 4 * 0.3 <= elapsed < 10.0, elapsed
    assert "sent no answer within 0.3 s (no byte received) (tried 4 times)" in error.message
    assert len(sim.world.requests_to("/api/credits/")) == 4
    await backend.aclose()


async def test_a_refused_connection_says_so(settings: Settings, store: Store) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before use: nothing listens there
    backend = backend_at(f"http://127.0.0.1:{port}", settings, store)
    error, elapsed = await failure_of(backend.get_credits(), budget_s=2)
    assert elapsed < 1.0
    assert "could not connect to 127.0.0.1 (connection refused)" in error.agent_message
    await backend.aclose()


async def test_a_request_is_not_sent_when_the_budget_is_already_used_up(settings: Settings, store: Store) -> None:
    backend = backend_at("http://127.0.0.1:9", settings, store, token=TOKEN)  # nothing may be asked at all
    error, elapsed = await failure_of(backend.get_credits(), budget_s=BUDGET_MARGIN_S)
    assert elapsed < 0.1
    assert "the request was not sent: the call budget (NEMO_CALL_BUDGET_S) was used up" in error.agent_message
    await backend.aclose()


async def test_an_edit_stream_that_sends_nothing_says_so_not_cut(
    sim: RunningSimulator, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(edits, "STREAM_TIMEOUT", httpx.Timeout(30.0, read=0.5))
    sim.configure(stall_paths=["/run_sse"])
    backend = backend_at(sim.base_url, settings, store)
    started = time.monotonic()
    with pytest.raises(StreamCutError) as caught:  # a job the server owns: no call budget
        _ = [e async for e in backend.edit("make a video", EditOptions())]
    assert time.monotonic() - started >= 0.5
    found = re.fullmatch(r"the editor accepted the request but sent nothing for ([\d.]+) s", caught.value.reason)
    assert found and float(found[1]) >= 0.5, caught.value.reason
    await backend.aclose()


@contextlib.asynccontextmanager
async def trickling_server(interval_s: float) -> AsyncIterator[str]:
    """A loopback HTTP server that answers headers, then one byte of body every `interval_s`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            for _ in range(1000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(interval_s)

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()


async def test_an_answer_that_trickles_in_is_cut_at_the_end_of_the_budget(settings: Settings, store: Store) -> None:
    async with trickling_server(interval_s=0.2) as base_url:
        backend = backend_at(base_url, settings, store, token=TOKEN)
        error, elapsed = await failure_of(backend.get_credits(), budget_s=2)  # no single read waits 0.2 s
        await backend.aclose()
    assert elapsed < 3.0
    assert re.search(r"the answer from 127.0.0.1 stopped mid-way after \d+ bytes \(the call budget ran out", str(error))


def test_the_simulator_holds_a_stalled_request_for_stall_s_then_answers_504(sim: RunningSimulator) -> None:
    sim.configure(stall_paths=["/"], stall_s=0.3)
    started = time.monotonic()
    reply = httpx.get(f"{sim.base_url}/api/credits/balance/simple", timeout=5)
    assert reply.status_code == 504 and reply.content == b"" and time.monotonic() - started >= 0.3
    assert httpx.get(f"{sim.base_url}/_sim/config", timeout=5).status_code == 200  # controls never stall
