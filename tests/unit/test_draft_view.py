"""The one draft reader: both backends' variants read into typed tracks and segments, hostile values as None."""

from __future__ import annotations

import math
from typing import Any

import pytest

from nemo_video_mcp.draft_view import draft_number, read_draft


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), ("35%", 35.0), (" 2.5 ", 2.5), (True, None), (math.nan, None), ("1e999", None), ("nan", None),
     ("x", None), (None, None), ([1], None), (-4, -4.0)],
)  # fmt: skip
def test_draft_numbers(value: Any, number: float | None) -> None:
    assert draft_number(value) == number


def test_the_local_fields_are_read_typed_and_bad_ones_read_as_none() -> None:
    good = {"index": 2, "fit": "smart", "look": "sepia", "crop": [0.1, 0, 0.9, 1], "role": "caption",
            "position": "bottom", "on": "1", "fade_in_ms": 500, "fade_out_ms": "1500", "loop": False}  # fmt: skip
    bad = {"index": 2.5, "fit": "stretch", "look": 3, "crop": [0.9, 0, 0.1, 1], "role": "subtitle",
           "position": "left", "on": True, "fade_in_ms": "nan", "fade_out_ms": {}, "loop": "perhaps"}  # fmt: skip
    view = read_draft({"t": [{"tt": 0, "sg": [{"m": good}, {"m": bad}]}]})
    first, second = view.tracks[0].segments
    assert (first.index, first.fit, first.look, first.crop, first.role, first.position, first.on) == (
        2, "smart", "sepia", (0.1, 0.0, 0.9, 1.0), "caption", "bottom", 1,
    )  # fmt: skip
    assert (first.fade_in_ms, first.fade_out_ms, first.loop) == (500, 1500, False)
    assert all(getattr(second, key) is None for key in bad)


def test_variants_of_both_backends() -> None:
    view = read_draft(
        {
            "d": "9000",
            "m": {"fps": "24", "aspect": 16, "unknown_wishes": ["slow motion", 7]},
            "t": [
                None,
                {"type": "7", "m": {"title": "Opening", "role": "title"}, "sg": [{"tr": {"s": 500, "duration": 2000}}]},
                {"tt": 1, "volume": 40, "sg": [{"d": 9000, "url": "https://cdn/x.mp3", "m": "junk"}]},
                {"tt": 0, "sg": "junk"},
            ],
        }
    )
    assert (view.duration_ms, view.meta.fps, view.meta.aspect, view.meta.unknown_wishes) == (
        9000, 24, None, ["slow motion"],
    )  # fmt: skip
    title, music, video = view.tracks
    assert (title.index, title.type, title.raw_type, title.label, title.text_role) == (1, 7, "7", "Opening", "title")
    assert (title.segments[0].start_ms, title.segments[0].duration_ms) == (500, 2000)
    assert (music.volume, music.segments[0].src, music.segments[0].meta) == (40, "https://cdn/x.mp3", {})
    assert video.segments == []


@pytest.mark.parametrize("draft", [None, [], "x", {"t": {"tt": 0}}, {"t": [1, "a"]}])
def test_nothing_readable_is_an_empty_view(draft: Any) -> None:
    assert read_draft(draft).tracks == []
