"""draft: the timeline summary line, per-track facts read tolerantly, the diff, the fingerprint."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from nemo_video_mcp.draft import (
    describe_changes,
    draft_fingerprint,
    format_seconds,
    is_exportable,
    summarize_tracks,
    timeline_duration_s,
    timeline_summary,
    trimmed_draft,
)

SEED_LINE = (
    'Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) 3. Title: "Urban Dreams" (0-3s)'
)


def seed_draft(volume: Any = 0.35) -> dict[str, Any]:
    return {
        "d": 10000,
        "m": {"width": 1080, "height": 1920},
        "t": [
            {"tt": 0, "sg": [{"d": 10000, "m": {"name": "city timelapse"}}]},
            {"tt": 1, "sg": [{"d": 10000, "m": {"name": "Lo-fi", "volume": volume}}]},
            {"tt": 7, "sg": [{"d": 3000, "m": {"text": "Urban Dreams"}}]},
        ],
    }


def test_the_seed_draft_gives_the_contract_line_exactly() -> None:
    assert timeline_summary(seed_draft()) == SEED_LINE


@pytest.mark.parametrize(
    ("draft", "expected"),
    [
        pytest.param({}, "Timeline (0 tracks): empty", id="empty"),
        pytest.param({"t": []}, "Timeline (0 tracks): empty", id="no-tracks"),
        pytest.param({"t": "garbage", "d": 5}, "Timeline (0 tracks): empty", id="t-not-a-list"),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 2500, "m": {"name": "beach"}}]}]},
            "Timeline (1 track): 1. Video: beach (0-2.5s)",
            id="singular-and-half-seconds",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 5000, "m": {"name": f"photo {n}"}} for n in (1, 2, 3)]}]},
            "Timeline (1 track): 1. Video: photo 1 + 2 more (0-15s)",
            id="several-clips-cumulative",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 4000}, {"d": 4000}]}]},
            "Timeline (1 track): 1. Video: 2 clips (0-8s)",
            id="several-unlabelled-clips",
        ),
        pytest.param(
            {"d": 6000, "t": [{"tt": 0, "sg": [{}]}]},
            "Timeline (1 track): 1. Video: untitled (0-6s)",
            id="missing-m-uses-draft-duration",
        ),
        pytest.param(
            {"t": [{"tt": 3, "d": 4000, "sg": [{"m": {"title": "sticker"}}]}]},
            "Timeline (1 track): 1. Track: sticker (0-4s)",
            id="unknown-tt-and-track-duration",
        ),
        pytest.param(
            {"t": [{"sg": [{"d": 1000}]}, {"tt": "7", "sg": [{"d": 1000, "text": "Hi"}]}]},
            'Timeline (2 tracks): 1. Track: untitled (0-1s) 2. Title: "Hi" (0-1s)',
            id="missing-tt-and-tt-as-string-and-top-level-text",
        ),
        pytest.param(
            {"t": [{"tt": 7, "m": {"title": "Opening"}, "sg": [{"d": 3000}]}]},
            'Timeline (1 track): 1. Title: "Opening" (0-3s)',
            id="label-from-the-track-m",
        ),
        pytest.param(
            {"t": [{"tt": 7, "sg": [{"d": 2000, "m": {"text": "A"}}, {"d": 2000, "m": {"text": "B"}}]}]},
            'Timeline (1 track): 1. Title: "A" + 1 more (0-4s)',
            id="several-titles",
        ),
        pytest.param(
            {"t": [{"tt": 1, "sg": [{"d": 10000, "m": {"name": "Rain"}}]}]},
            "Timeline (1 track): 1. BGM: Rain (0-10s)",
            id="bgm-without-volume",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": []}, {"tt": 0, "sg": [{"d": 1000}]}]},
            "Timeline (2 tracks): 1. Video: no clips 2. Video: untitled (0-1s)",
            id="track-without-segments",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 3333, "m": {"name": "  long\n name  "}}]}]},
            "Timeline (1 track): 1. Video: long name (0-3.33s)",
            id="whitespace-and-rounding",
        ),
        pytest.param(
            {"t": [None, 3, {"tt": 0, "sg": [None, {"d": 1000, "m": "not a dict"}]}]},
            "Timeline (1 track): 1. Video: untitled (0-1s)",
            id="junk-entries-skipped",
        ),
    ],
)
def test_timeline_summary(draft: dict[str, Any], expected: str) -> None:
    assert timeline_summary(draft) == expected


@pytest.mark.parametrize(
    ("track", "expected_volume"),
    [
        ({"tt": 1, "sg": [{"d": 1, "m": {"volume": 0.35}}]}, 35),
        ({"tt": 1, "sg": [{"d": 1, "m": {"volume": 35}}]}, 35),
        ({"tt": 1, "sg": [{"d": 1, "volume": 0.5}]}, 50),
        ({"tt": 1, "sg": [{"d": 1, "vol": 80}]}, 80),
        ({"tt": 1, "sg": [{"d": 1, "m": {"vol": "0.2"}}]}, 20),
        ({"tt": 1, "volume": 1, "sg": [{"d": 1}]}, 100),
        ({"tt": 1, "m": {"volume": 0}, "sg": [{"d": 1}]}, 0),
        ({"tt": 1, "sg": [{"d": 1, "m": {"volume": True}}]}, None),
        ({"tt": 1, "sg": [{"d": 1, "m": {"volume": -3}}]}, None),
        ({"tt": 0, "sg": [{"d": 1, "m": {"volume": 0.35}}]}, None),
    ],
)
def test_volume_on_both_scales_and_only_for_audio(track: dict[str, Any], expected_volume: int | None) -> None:
    (summary,) = summarize_tracks({"t": [track]})

    assert summary.volume_percent == expected_volume


@pytest.mark.parametrize("volume", [0.35, 35, 35.0, "35"])
def test_the_seed_line_reads_either_volume_scale(volume: Any) -> None:
    assert timeline_summary(seed_draft(volume)) == SEED_LINE


@pytest.mark.parametrize(
    ("segments", "expected_span"),
    [
        ([{"d": 2000}, {"d": 3000}], (0, 5)),
        ([{"start": 1000, "d": 2000}], (1, 3)),
        ([{"st": 4000, "d": 1000}, {"st": 0, "d": 1000}], (0, 5)),
        ([{"s": 500, "d": 500}], (0.5, 1)),
        ([{"start_ms": 2000, "d": 1000}], (2, 3)),
        ([{"m": {"start": 3000}, "d": 1000}], (3, 4)),
        ([{"tr": {"start": 1000, "duration": 2000}}], (1, 3)),
        ([{"tr": {"s": 0, "d": 1500}}], (0, 1.5)),
        ([{"d": 2000}, {"start": 5000, "d": 1000}, {"d": 1000}], (0, 7)),
        ([{"start": "1000", "duration": "2000"}], (1, 3)),
    ],
)
def test_start_keys_win_over_cumulative_durations(segments: list[dict[str, Any]], expected_span: tuple) -> None:
    (summary,) = summarize_tracks({"t": [{"tt": 0, "sg": segments}]})

    assert (summary.start_s, summary.end_s) == expected_span


def test_summarize_tracks_reports_every_field() -> None:
    tracks = summarize_tracks(seed_draft())

    assert [track.model_dump() for track in tracks] == [
        {
            "index": 1,
            "kind": "Video",
            "label": "city timelapse",
            "start_s": 0,
            "end_s": 10,
            "volume_percent": None,
            "segment_count": 1,
            "raw_type": 0,
        },
        {
            "index": 2,
            "kind": "BGM",
            "label": "Lo-fi",
            "start_s": 0,
            "end_s": 10,
            "volume_percent": 35,
            "segment_count": 1,
            "raw_type": 1,
        },
        {
            "index": 3,
            "kind": "Title",
            "label": "Urban Dreams",
            "start_s": 0,
            "end_s": 3,
            "volume_percent": None,
            "segment_count": 1,
            "raw_type": 7,
        },
    ]


@pytest.mark.parametrize(
    ("segment_m", "track_m", "segment_keys", "expected"),
    [
        ({"name": "n", "text": "t", "title": "ti"}, {}, {}, "n"),
        ({"text": "t", "title": "ti"}, {}, {}, "t"),
        ({"title": "ti"}, {}, {}, "ti"),
        ({}, {"name": "track name"}, {"name": "segment name"}, "segment name"),
        ({}, {"name": "track name"}, {}, "track name"),
        ({"name": ""}, {}, {"text": "fallback"}, "fallback"),
        ({"name": 2024}, {}, {}, "2024"),
        ({"name": "x" * 100}, {}, {}, "x" * 59 + "…"),
        ({}, {}, {}, "untitled"),
    ],
)
def test_label_sources_in_order(
    segment_m: dict[str, Any], track_m: dict[str, Any], segment_keys: dict[str, Any], expected: str
) -> None:
    draft = {"t": [{"tt": 0, "m": track_m, "sg": [{"d": 1000, "m": segment_m, **segment_keys}]}]}

    assert summarize_tracks(draft)[0].label == expected


def test_unknown_keys_are_kept_and_the_draft_is_not_mutated() -> None:
    draft = seed_draft()
    draft["x_future"] = {"nested": [1, 2]}
    draft["t"][0]["fx"] = [{"kind": "zoom"}]
    draft["t"][0]["sg"][0]["crop"] = {"l": 0.1}
    draft["t"][0]["sg"][0]["m"]["lut"] = "warm"
    frozen = copy.deepcopy(draft)

    line = timeline_summary(draft)
    summarize_tracks(draft)
    describe_changes(draft, seed_draft())
    is_exportable(draft)
    draft_fingerprint(draft)

    assert line == SEED_LINE
    assert draft == frozen


@pytest.mark.parametrize(
    ("draft", "exportable"),
    [
        (seed_draft(), True),
        ({}, False),
        ({"t": []}, False),
        ({"t": [{"tt": 0, "sg": []}, {"tt": 1}]}, False),
        ({"t": [{"tt": 0, "sg": []}, {"tt": 7, "sg": [{"m": {"text": "Hi"}}]}]}, True),
        ({"t": [{"tt": 0, "sg": "oops"}]}, False),
        ({"t": None}, False),
    ],
)
def test_is_exportable(draft: dict[str, Any], exportable: bool) -> None:
    assert is_exportable(draft) is exportable


def with_changes(**changes: Any) -> dict[str, Any]:
    draft = seed_draft()
    for path, value in changes.items():
        target = draft
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[leaf] = value
    return draft


LO_FI = {"tt": 1, "sg": [{"d": 10000, "m": {"name": "Lo-fi", "volume": 0.35}}]}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(seed_draft(), seed_draft(), "No change to the timeline.", id="no-change"),
        pytest.param(
            {"d": 10000, "t": [{"tt": 0, "sg": [{"d": 10000, "m": {"name": "city"}}]}]},
            {"d": 10000, "t": [{"tt": 0, "sg": [{"d": 10000, "m": {"name": "city"}}]}, LO_FI]},
            "Added BGM: Lo-fi (0-10s, 35%).",
            id="bgm-added",
        ),
        pytest.param(
            seed_draft(),
            {**seed_draft(), "t": seed_draft()["t"][:2]},
            'Removed Title: "Urban Dreams" (0-3s).',
            id="title-removed",
        ),
        pytest.param(
            seed_draft(),
            with_changes(d=15000, t__0__sg__0__d=15000),
            "Duration 10s → 15s.",
            id="duration",
        ),
        pytest.param(
            seed_draft(),
            with_changes(t__2__sg__0__m={"text": "City Nights"}),
            'Title text "Urban Dreams" → "City Nights".',
            id="title-text",
        ),
        pytest.param(
            seed_draft(),
            with_changes(t__1__sg__0__m={"name": "Lo-fi", "volume": 60}),
            "BGM volume 35% → 60%.",
            id="volume",
        ),
        pytest.param(
            seed_draft(),
            with_changes(t__1__sg__0__m={"name": "Lo-fi", "volume": 35}),
            "The timeline changed in details the summary does not show (e.g. effects or positions).",
            id="same-volume-other-scale",
        ),
        pytest.param(
            seed_draft(),
            with_changes(t__2__sg__0__start=2000),
            "Title 0-3s → 2-5s.",
            id="title-moved",
        ),
        pytest.param(
            {"d": 5000, "t": [{"tt": 0, "sg": [{"d": 5000, "m": {"name": "photo 1"}}]}]},
            {"d": 15000, "t": [{"tt": 0, "sg": [{"d": 5000, "m": {"name": f"photo {n}"}} for n in (1, 2, 3)]}]},
            "Video: 2 clips added (3 now); duration 5s → 15s.",
            id="segments-added",
        ),
        pytest.param(
            {},
            seed_draft(),
            "Added Video: city timelapse (0-10s); added BGM: Lo-fi (0-10s, 35%); "
            'added Title: "Urban Dreams" (0-3s); duration 0s → 10s.',
            id="from-empty",
        ),
        pytest.param(
            {"t": [{"tt": 0, "sg": [{"d": 1000, "m": {"name": "a"}}]}, {"tt": 0, "sg": [{"d": 1000}]}]},
            {"t": [{"tt": 0, "sg": [{"d": 1000, "m": {"name": "a"}}]}, {"tt": 0, "sg": [{"d": 1000, "name": "b"}]}]},
            "Video (track 2) label untitled → b.",
            id="several-tracks-of-a-kind",
        ),
    ],
)
def test_describe_changes(before: dict[str, Any], after: dict[str, Any], expected: str) -> None:
    assert describe_changes(before, after) == expected


def test_fingerprint_is_stable_across_key_order_and_changes_with_content() -> None:
    draft = seed_draft()
    reordered = {"t": draft["t"], "m": {"height": 1920, "width": 1080}, "d": 10000}

    assert draft_fingerprint(draft) == draft_fingerprint(reordered)
    assert draft_fingerprint(draft) == draft_fingerprint(copy.deepcopy(draft))
    assert draft_fingerprint(draft) != draft_fingerprint(with_changes(d=10001))
    assert draft_fingerprint(draft) != draft_fingerprint(with_changes(t__0__sg__0__m={"name": "x"}))
    assert draft_fingerprint({}) != draft_fingerprint({"t": []})
    assert len(draft_fingerprint(draft)) == 16


@pytest.mark.parametrize(
    ("draft", "seconds"),
    [(seed_draft(), 10), ({"t": [{"tt": 0, "sg": [{"d": 4000}, {"d": 2500}]}]}, 6.5), ({}, 0)],
)
def test_timeline_duration(draft: dict[str, Any], seconds: float) -> None:
    assert timeline_duration_s(draft) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"), [(10.0, "10"), (2.5, "2.5"), (0, "0"), (3.333, "3.33"), (0.05, "0.05"), (120.10, "120.1")]
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_a_huge_draft_is_cut_for_the_agent_but_keeps_its_tracks_and_keys() -> None:
    segments = [{"id": f"s{i}", "d": 1000, "m": {"name": f"photo {i}"}} for i in range(100_000)]
    draft = {"t": [{"tt": 0, "sg": segments}, {"tt": 7, "sg": [{"d": 2000, "m": {"text": "Hi"}}]}], "d": 1, "x": 1}
    cut, left_out, was_cut = trimmed_draft(draft, 256 * 1024)
    size = len(json.dumps(cut, separators=(",", ":")))
    assert was_cut and size <= 256 * 1024 and left_out > 90_000
    assert cut["x"] == 1 and [track["tt"] for track in cut["t"]] == [0, 7]
    assert cut["t"][1]["sg"] == draft["t"][1]["sg"] and cut["t"][0]["sg"][0] == segments[0]
    assert timeline_summary(draft).startswith("Timeline (2 tracks)")


def test_a_draft_that_fits_is_left_whole() -> None:
    draft = {"t": [{"tt": 0, "sg": [{"d": 1000}]}], "d": 1000}
    assert trimmed_draft(draft, 256 * 1024) == (draft, 0, False)


def test_a_draft_whose_bulk_is_not_segments_keeps_only_what_names_its_tracks() -> None:
    draft = {"t": [{"id": "v", "tt": 0, "sg": [{"d": 1}]}], "blob": "x" * 500_000}
    cut, _, was_cut = trimmed_draft(draft, 1024)
    assert was_cut and cut == {"t": [{"id": "v", "tt": 0}]}


def test_the_local_engines_texts_and_music_show_as_the_cloud_seeds_lines() -> None:
    draft = {
        "d": 12000,
        "t": [
            {"tt": 0, "m": {"name": "Images"}, "sg": [{"start": 0, "d": 4000, "m": {"name": "a.jpg"}}]},
            {"tt": 1, "m": {"name": "BGM"}, "sg": [{"start": 0, "d": 12000, "m": {"name": "Lo-fi", "volume": 0.35}}]},
            {"tt": 7, "m": {"name": "Title", "role": "title"}, "sg": [{"start": 0, "d": 3000, "m": {"text": "Alps"}}]},
            {"tt": 7, "m": {"role": "caption"}, "sg": [{"start": 0, "d": 4000, "m": {"text": "Day 1", "on": 0}}]},
            {"tt": 7, "sg": [{"start": 9000, "d": 3000, "m": {"text": "Bye", "role": "end_card"}}]},
        ],
    }
    assert timeline_summary(draft) == (
        'Timeline (5 tracks): 1. Video: a.jpg (0-4s) 2. BGM: Lo-fi (0-12s, 35%) 3. Title: "Alps" (0-3s) '
        '4. Text: "Day 1" (0-4s) 5. Text: "Bye" (9-12s)'
    )
    changed = copy.deepcopy(draft)
    changed["t"][3]["sg"][0]["m"]["text"] = "Day one"
    assert describe_changes(draft, changed) == 'Text (track 4) text "Day 1" → "Day one".'
