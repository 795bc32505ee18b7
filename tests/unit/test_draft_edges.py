"""Drafts with numbers that are no numbers (NaN, infinity) still read as a timeline."""

from __future__ import annotations

from nemo_video_mcp.draft import describe_changes, timeline_summary

ODD = {
    "t": [
        {"tt": 0, "sg": [{"d": float("inf"), "m": {"name": "beach"}}]},
        {"tt": 1, "sg": [{"d": "nan", "volume": "nan", "m": {"name": "Lo-fi"}}]},
    ],
    "d": 5000,
}


def test_nan_and_infinite_durations_and_volumes_are_read_as_unknown() -> None:
    assert timeline_summary(ODD) == "Timeline (2 tracks): 1. Video: beach (0-5s) 2. BGM: Lo-fi (0-5s)"
    assert describe_changes(ODD, {**ODD, "d": 6000}) == "Duration 5s → 6s."
