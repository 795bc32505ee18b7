"""Properties hypothesis broke, each pinned with the example it found (fixed in sse.py, draft.py, bodies.py).

A CR chunk then an LF chunk in the stream; "nan"/"inf" as text in a draft; a lone surrogate in a draft
string; a raw-deflate body whose first chunk is one byte.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from nemo_video_mcp import draft

from .test_properties import (
    CUTS,
    ENCODE,
    HOSTILE_DRAFTS,
    SSE_STREAMS,
    assert_chunk_boundaries_do_not_matter,
    assert_reads_back,
    cut,
    from_json,
)


@given(SSE_STREAMS, CUTS, st.integers(1, 30), st.integers(1, 60))
@example(b"data: a\r\n\ndata: b\n\n", [], 100, 100).via("a CRLF, then a lone LF: two line ends")
def test_the_sse_reader_gives_the_same_events_whatever_the_chunk_boundaries_and_line_ends(
    raw: bytes, cuts: list[int], max_line: int, max_event: int
) -> None:
    assert_chunk_boundaries_do_not_matter(raw, cuts, max_line, max_event)


@given(HOSTILE_DRAFTS)
@example({"t": [{"tt": 1, "volume": "nan"}]}).via("a BGM volume read as NaN")
@example({"t": [{"tt": 1, "volume": float("inf")}]}).via("a BGM volume of Infinity")
@example({"t": [{"tt": "inf"}]}).via("a track type of Infinity")
@example({"t": [{"tt": "nan"}]}).via("a track type of NaN")
def test_a_draft_with_nan_or_infinity_summarizes_to_one_line(draft_: dict[str, Any]) -> None:
    assert draft.timeline_summary(draft_).startswith("Timeline (")
    draft.describe_changes(draft_, {})


@given(HOSTILE_DRAFTS, st.integers(0, 2000))
@example({"t": [{"name": "\ud800"}]}, 100).via("a lone surrogate, which JSON can carry")
def test_a_draft_with_a_lone_surrogate_has_a_fingerprint_and_a_size(draft_: dict[str, Any], max_bytes: int) -> None:
    assert draft.draft_fingerprint(from_json(draft_)) == draft.draft_fingerprint(draft_)
    assert isinstance(draft.trimmed_draft(draft_, max_bytes)[0], dict)
    draft.describe_changes(draft_, {})


@given(st.binary(max_size=300), CUTS, st.integers(0, 400))
@example(b"", [1], 0).via("raw deflate whose first chunk is 1 byte")
def test_a_raw_deflate_body_reads_back_whatever_its_first_chunk(payload: bytes, cuts: list[int], limit: int) -> None:
    assert_reads_back(payload, "deflate-raw", cut(ENCODE["deflate-raw"](payload), cuts), limit)
