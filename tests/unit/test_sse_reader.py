"""Our SSE reader: every line ending, any chunk boundary, comments as heartbeats, caps that skip and count."""

from __future__ import annotations

import random

import pytest

from nemo_video_mcp.backends.sse import Comment, Event, EventReader

STREAM = [": ping", "", 'data: {"a": 1}', "", "data:", "", "event: x", "id: 7", "data: one", "data: two", "", ": ok"]
EXPECTED = [Comment(), Event('{"a": 1}'), Event(""), Event("one\ntwo"), Comment()]


def read(reader: EventReader, chunks: list[bytes]) -> list[Event | Comment]:
    items = [item for chunk in chunks for item in reader.feed(chunk)]
    return items + list(reader.close())


def cut_at_random(raw: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(raw)), k=min(len(raw) - 1, rng.randint(1, 12))))
    return [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("seed", range(40))
def test_any_line_ending_split_anywhere_reads_the_same(eol: str, seed: int) -> None:
    raw = (eol.join(STREAM) + eol).encode()
    chunks = [raw] if seed == 0 else cut_at_random(raw, random.Random(seed))
    assert read(EventReader(), chunks) == EXPECTED


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    raw = ("\r\n".join(STREAM) + "\r\n").encode()
    assert read(EventReader(), [bytes([b]) for b in raw]) == EXPECTED


def test_a_last_event_without_its_blank_line_still_counts() -> None:
    assert read(EventReader(), [b"data: last"]) == [Event("last")]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert read(EventReader(), [b"data: caf\xe9\n\n"]) == [Event("caf\ufffd")]


def test_a_line_over_the_cap_is_skipped_and_counted_never_held() -> None:
    reader = EventReader(max_line_bytes=1000, max_event_bytes=1000)
    items: list[Event | Comment] = []
    items += reader.feed(b"data: before\n\n")
    items += reader.feed(b"data: " + b"x" * 600)
    for _ in range(50):  # 50 x 600 bytes more of the same line, never held
        items += reader.feed(b"x" * 600)
        assert len(reader._line) <= reader.max_line_bytes
    items += reader.feed(b"\n\n: ping\n\ndata: after\n\n")
    items += reader.close()
    assert items == [Event("before"), Comment(), Event("after")]
    assert (reader.skipped_lines, reader.skipped_events) == (1, 1)


def test_a_long_line_in_one_chunk_is_skipped_too() -> None:
    reader = EventReader(max_line_bytes=100)
    assert read(reader, [b"data: " + b"y" * 500 + b"\n\ndata: ok\n\n"]) == [Event("ok")]
    assert (reader.skipped_lines, reader.skipped_events) == (1, 1)


def test_an_event_over_its_cap_is_skipped_whole() -> None:
    reader = EventReader(max_line_bytes=100, max_event_bytes=250)
    lines = b"".join(b"data: " + b"z" * 90 + b"\n" for _ in range(5))  # five short lines, 455 bytes of data
    assert read(reader, [lines + b"\ndata: next\n\n"]) == [Event("next")]
    assert (reader.skipped_lines, reader.skipped_events) == (0, 1)


def test_a_line_exactly_at_the_cap_is_kept() -> None:
    line = b"data: " + b"k" * 94  # 100 bytes
    assert read(EventReader(max_line_bytes=100), [line + b"\n\n"]) == [Event("k" * 94)]
