"""Every backend body is read within bounds: decoded-size caps, gzip bombs, endless bodies, SSE line caps.

The cloud backend against mocked HTTP (pytest-httpx), so each hostile body is exact; memory is
measured with tracemalloc around the read.
"""

from __future__ import annotations

import json
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from nemo_video_mcp.backends import bodies
from nemo_video_mcp.backends.base import StreamCutError
from nemo_video_mcp.backends.cloud import CloudBackend
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import BackendUnavailableError, BadResponseError, ReplyTooLargeError
from nemo_video_mcp.models import EditOptions, HeartbeatEvent, StepEvent, TextEvent
from nemo_video_mcp.notices import collecting
from nemo_video_mcp.store import Store

from .conftest import API
from .test_cloud_backend import MP4, SID, add_login, sse, state_reply

STATE_URL = f"{API}/api/state/nemo_agent/me/{SID}/latest"
MB = 1024 * 1024


@pytest.fixture
def backend(settings: Settings, store: Store) -> CloudBackend:
    return CloudBackend(settings, store)


def compressed(size: int, wbits: int, byte: bytes = b"\0") -> bytes:
    """`size` copies of `byte`, compressed a megabyte at a time (never whole in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = byte * MB
    out = [compressor.compress(block) for _ in range(size // MB)]
    return b"".join(out) + compressor.flush()


def gzipped(payload: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(payload) + compressor.flush()


async def test_a_gzip_bomb_stops_at_the_decoded_cap_with_little_memory(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    bomb = compressed(256 * MB, zlib.MAX_WBITS | 16)
    assert len(bomb) < MB
    httpx_mock.add_response(url=STATE_URL, stream=IteratorStream([bomb]), headers={"content-encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(ReplyTooLargeError) as caught:
            await backend.get_state()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < bodies.MAX_JSON_BYTES + 4 * MB, f"peak {peak / MB:.0f} MB"
    assert "reply to the state request was larger than 16 MB (decoded)" in caught.value.message
    assert caught.value.next_step.startswith("Retry the tool once; if it happens again the backend is misbehaving")


@pytest.mark.parametrize(
    "encode",
    [
        gzipped,
        lambda raw: zlib.compress(raw),  # deflate as the RFC says: zlib-wrapped
        lambda raw: zlib.compress(raw)[2:-4],  # deflate as some servers send it: raw
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
async def test_compressed_replies_are_decoded(httpx_mock: HTTPXMock, backend: CloudBackend, encode) -> None:
    add_login(httpx_mock)
    draft = {"t": [{"tt": 0, "sg": [{"d": 1000, "m": {"name": f"p{i}"}} for i in range(5000)]}]}
    encoding = "gzip" if encode is gzipped else "deflate"
    raw = json.dumps(state_reply(draft)).encode()
    httpx_mock.add_response(url=STATE_URL, content=encode(raw), headers={"content-encoding": encoding})
    assert (await backend.get_state()).draft == draft
    assert httpx_mock.get_requests()[-1].headers["accept-encoding"] == "gzip, deflate"


async def test_an_encoding_we_did_not_ask_for_is_refused(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=STATE_URL, content=b"\x8b\x02\x80{}\x03", headers={"content-encoding": "br"})
    with pytest.raises(BadResponseError) as caught:
        await backend.get_state()
    assert "'br' encoding" in caught.value.message


async def test_corrupt_gzip_is_a_bad_response(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    corrupt = IteratorStream([b"\x1f\x8bnot gzip at all"])
    httpx_mock.add_response(url=STATE_URL, stream=corrupt, headers={"content-encoding": "gzip"})
    with pytest.raises(BadResponseError, match="gzip compression of the reply to the state request is corrupt"):
        await backend.get_state()


async def test_a_body_that_never_ends_stops_at_the_cap(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"code":0,"data":{"state":{"draft":{"t":['
        while True:
            sent += 1
            yield b'{"tt":0,"sg":[]},' * 4000

    httpx_mock.add_response(url=STATE_URL, stream=IteratorStream(endless()))
    with pytest.raises(ReplyTooLargeError):
        await backend.get_state()
    assert sent * 4000 * 17 < bodies.MAX_JSON_BYTES + MB  # it read to the cap, and no further


async def test_a_declared_length_over_the_cap_is_refused_unread(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    pulled = []

    def body() -> Iterator[bytes]:
        pulled.append(1)
        yield b"{}"

    httpx_mock.add_response(url=STATE_URL, stream=IteratorStream(body()), headers={"content-length": str(17 * MB)})
    with pytest.raises(ReplyTooLargeError):
        await backend.get_state()
    assert not pulled


async def test_the_cap_is_a_setting_of_the_backend(httpx_mock: HTTPXMock, settings: Settings, store: Store) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=STATE_URL, json=state_reply({"t": [], "pad": "x" * 5000}))
    with pytest.raises(ReplyTooLargeError, match="larger than 4 KB"):
        await CloudBackend(settings, store, max_reply_bytes=4096).get_state()


@pytest.mark.parametrize("where", ["envelope", "draft string"])
async def test_json_nested_1500_deep_is_our_error_not_a_recursion_error(
    httpx_mock: HTTPXMock, backend: CloudBackend, where: str
) -> None:
    add_login(httpx_mock)
    deep = "[" * 1500 + "]" * 1500
    if where == "envelope":
        httpx_mock.add_response(url=STATE_URL, content=f'{{"code":0,"data":{deep}}}'.encode())
        with pytest.raises(BadResponseError, match="nested more than 64 deep"):
            await backend.get_state()
    else:  # a draft sent as a JSON string: read as no draft (as any unreadable draft string is)
        httpx_mock.add_response(url=STATE_URL, json={"code": 0, "data": {"state": {"draft": deep}}})
        assert (await backend.get_state()).draft == {}


# --- downloads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "called"),
    [
        (b"<html><body>Please log in</body></html>", "a web page"),
        (b"OK", "bytes of another kind"),
        (b"", "an empty file"),
    ],
)
async def test_a_download_that_is_not_a_video_is_refused_and_leaves_nothing(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path, body: bytes, called: str
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/render/proxy/r1/download", content=body)
    with pytest.raises(BackendUnavailableError, match=rf"api\.test sent {called}, not a video"):
        await backend.download_render("r1", None, tmp_path / "v" / "r1.mp4")
    assert list((tmp_path / "v").iterdir()) == []


async def test_a_download_over_its_cap_stops_and_leaves_nothing(
    httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "MAX_VIDEO_BYTES", 2 * MB)
    add_login(httpx_mock)
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)  # a video's head, then 64 MB of zeros
    parts = [compressor.compress(MP4)] + [compressor.compress(bytes(MB)) for _ in range(64)] + [compressor.flush()]
    httpx_mock.add_response(
        url=f"{API}/api/render/proxy/r2/download",
        stream=IteratorStream([b"".join(parts)]),
        headers={"content-encoding": "gzip"},
    )
    with pytest.raises(BackendUnavailableError, match=r"api\.test sent more than"):
        await backend.download_render("r2", None, tmp_path / "v" / "r2.mp4")
    assert list((tmp_path / "v").iterdir()) == []


async def test_a_gzipped_video_is_written_decoded(httpx_mock: HTTPXMock, backend: CloudBackend, tmp_path: Path) -> None:
    add_login(httpx_mock)
    video = MP4 + bytes(range(256)) * 4000
    httpx_mock.add_response(
        url=f"{API}/api/render/proxy/r3/download", content=gzipped(video), headers={"content-encoding": "gzip"}
    )
    target = await backend.download_render("r3", None, tmp_path / "v" / "r3.mp4")
    assert target.read_bytes() == video


# --- the edit stream -----------------------------------------------------------------------------


def huge_line_stream(size: int) -> Iterator[bytes]:
    yield from sse({"content": {"parts": [{"functionCall": {"name": "edit_multitrack", "args": {}}}]}})
    yield b'data: {"content":{"parts":[{"text":"'
    for _ in range(size // MB):
        yield b"y" * MB
    yield b'"}]}}\n\n'
    yield from sse({"content": {"parts": [{"text": "Short and readable."}]}})


async def test_an_sse_line_over_the_cap_is_skipped_counted_and_told(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(huge_line_stream(20 * MB)),
        headers={"content-type": "text/event-stream"},
    )
    tracemalloc.start()
    try:
        with collecting() as notices:
            events = [e async for e in backend.edit("x", EditOptions())]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(e) for e in events] == [StepEvent, TextEvent]
    assert events[1].text == "Short and readable."
    assert peak < 8 * MB, f"peak {peak / MB:.0f} MB"
    assert any("1 message(s) too large to read (over 1 MB)" in n for n in notices), notices


async def test_a_stream_whose_only_reply_was_too_large_is_not_heartbeats_only(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)

    def stream() -> Iterator[bytes]:
        yield b": ping\n\n"
        yield b"data: " + b"z" * (2 * MB) + b"\n\n"

    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(stream()),
        headers={"content-type": "text/event-stream"},
    )
    events = [e async for e in backend.edit("x", EditOptions())]
    assert events == [HeartbeatEvent()]


async def test_an_sse_event_nested_1500_deep_is_skipped(httpx_mock: HTTPXMock, backend: CloudBackend) -> None:
    add_login(httpx_mock)
    deep = "[" * 1500 + "]" * 1500
    chunks = [f'data: {{"content":{{"parts":[{{"text":"deep","x":{deep}}}]}}}}\n\n'.encode()]
    chunks += sse({"content": {"parts": [{"text": "Done."}]}})
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(chunks),
        headers={"content-type": "text/event-stream"},
    )
    events = [e async for e in backend.edit("x", EditOptions())]
    assert events == [TextEvent(text="Done.")]


async def test_an_unreadable_stream_encoding_is_a_cut_not_a_refusal(
    httpx_mock: HTTPXMock, backend: CloudBackend
) -> None:
    add_login(httpx_mock)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        content=b"data: x\n\n",
        headers={"content-type": "text/event-stream", "content-encoding": "zstd"},
    )
    with pytest.raises(StreamCutError, match="'zstd' encoding"):
        _ = [e async for e in backend.edit("x", EditOptions())]
