"""The plan: free text and options -> frames, and the short-key draft round trip."""

from __future__ import annotations

import pytest

from nemo_video_mcp.errors import InputError, NothingToExportError
from nemo_video_mcp.models import EditOptions
from nemo_video_mcp.render.changes import first_plan
from nemo_video_mcp.render.plan import (
    TRACK_AUDIO,
    TRACK_TITLE,
    TRACK_VIDEO,
    build_plan,
    describe_plan,
    plan_from_draft,
)

NO_OPTIONS = EditOptions()


@pytest.mark.parametrize(
    ("text", "count", "duration", "aspect", "transition", "motion", "title"),
    [
        ('a vertical 12-second video with ken burns motion and the title "Hidden Peaks"', 3, 12, "9:16", "fade",
         "kenburns", "Hidden Peaks"),
        ("15 seconds, square, dissolve transitions, static", 4, 15, "1:1", "dissolve", "static", None),
        ("a 20s landscape slideshow with slide transitions and zoom", 5, 20, "16:9", "slide", "kenburns", None),
        ("a 12 second tiktok with wipes", 2, 12, "9:16", "wipe", "kenburns", None),
        ("portrait reels, hard cuts, no motion", 4, 12, "9:16", "none", "static", None),
        ("widescreen, crossfades, titled Summer Trip, 10 seconds", 3, 10, "16:9", "fade", "kenburns", "Summer Trip"),
        ("title: Our Day, 9:16", 2, 6, "9:16", "fade", "kenburns", "Our Day"),
        ("make a video with the caption \u201cSommer \u2600\u201d", 1, 5, "16:9", "none", "kenburns", "Sommer \u2600"),
        ("2 seconds per photo, 1:1", 5, 10, "1:1", "fade", "kenburns", None),
        ("a one minute video", 3, 60, "16:9", "fade", "kenburns", None),
        ("", 30, 60, "16:9", "fade", "kenburns", None),  # default clamped to 60 s
        ("", 1, 5, "16:9", "none", "kenburns", None),  # default at least 5 s; one image has no transition
    ],
)  # fmt: skip
def test_instruction_is_parsed(text, count, duration, aspect, transition, motion, title):
    plan = first_plan(text, count, NO_OPTIONS)
    assert plan.duration_s == pytest.approx(duration)
    assert (plan.aspect, plan.transition, plan.motion, plan.title) == (aspect, transition, motion, title)
    assert len(plan.images) == count


def test_vertical_hidden_peaks_has_exact_frames_and_size():
    plan = first_plan('a vertical 12-second video with ken burns motion and the title "Hidden Peaks"', 3, NO_OPTIONS)
    assert plan.size == (1080, 1920)
    assert plan.total_frames == 360
    assert [image.frames for image in plan.images] == [120, 120, 120]
    assert [image.start_frame for image in plan.images] == [0, 120, 240]
    assert plan.transition_frames == 15
    assert plan.title_frames == 120


def test_transition_length_is_parsed_and_not_taken_for_the_duration():
    plan = first_plan("a 9 second video with 1 second wipes", 3, NO_OPTIONS)
    assert plan.duration_s == 9
    assert (plan.transition, plan.transition_frames) == ("wipe", 30)


def test_transition_never_takes_more_than_40_percent_of_a_slot():
    plan = first_plan("3 seconds, 5 second fades", 3, NO_OPTIONS)
    assert plan.transition_frames == 30 * 2 // 5


def test_reverse_order():
    plan = first_plan("reverse order please", 3, NO_OPTIONS)
    assert [image.index for image in plan.images] == [2, 1, 0]


def test_options_win_over_text():
    options = EditOptions(duration_s=8, aspect="1:1", transition="wipe", motion="static", title="From options")
    plan = first_plan('vertical 20 seconds, dissolve, ken burns, title "From text"', 2, options)
    assert (plan.duration_s, plan.aspect, plan.transition, plan.motion, plan.title) == (
        8, "1:1", "wipe", "static", "From options",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "wishes"),
    [
        ("a 10 second video, add slow motion", ["slow motion"]),
        ("a 10-second video in slow motion with voiceover", ["slow motion", "voiceover"]),
        ("with a voice-over and a watermark", ["voice-over", "watermark"]),
        ("add subtitles", ["subtitles"]),
        ("10秒，慢动作，加配音", ["慢动作", "配音"]),
    ],
)
def test_unsupported_wishes_are_short_and_nothing_else_is_read_from_them(text, wishes):
    plan = first_plan(text, 2, NO_OPTIONS)
    assert plan.unknown_wishes == wishes
    assert plan.motion == "kenburns" and plan.duration_s == pytest.approx(10 if "10" in text else 6)


def test_music_without_a_file_is_an_unknown_wish_but_not_with_one():
    assert any("music" in w for w in first_plan("with music", 2, NO_OPTIONS).unknown_wishes)
    plan = first_plan("with music", 2, EditOptions(music_path="/tmp/song.mp3"))
    assert plan.unknown_wishes == []
    assert plan.music_path == "/tmp/song.mp3"


def test_known_wishes_are_not_reported():
    text = 'a vertical 12-second video with ken burns motion and the title "Hidden Peaks", reverse order'
    assert first_plan(text, 3, NO_OPTIONS).unknown_wishes == []


def test_no_images_is_an_input_error():
    with pytest.raises(InputError):
        first_plan("anything", 0, NO_OPTIONS)


def test_draft_has_the_short_key_tracks():
    plan = build_plan(
        [1, 0], duration_s=4, aspect="9:16", title="Hi", music_path="/m/song.mp3", music_volume=0.5,
        unknown_wishes=["sepia"],
    ).with_images(["/img/a.jpg", "/img/b.png"])  # fmt: skip
    draft = plan.to_draft()
    assert draft["d"] == 4000
    assert draft["m"]["width"] == 1080 and draft["m"]["height"] == 1920 and draft["m"]["fps"] == 30
    video, music, title = draft["t"]
    assert video["tt"] == TRACK_VIDEO and title["tt"] == TRACK_TITLE and music["tt"] == TRACK_AUDIO
    assert [(s["start"], s["d"], s["m"]["name"]) for s in video["sg"]] == [(0, 2000, "b.png"), (2000, 2000, "a.jpg")]
    assert video["sg"][0]["m"]["src"] == "file:///img/b.png"
    assert title["sg"][0]["m"]["text"] == "Hi"
    assert music["sg"][0]["m"]["volume"] == 0.5


@pytest.mark.parametrize(
    "text",
    [
        'a vertical 12-second video with ken burns motion and the title "Hidden Peaks"',
        "7 seconds square hard cuts static",
        "11 s, 0.3 s dissolves, reverse order",
        "vertical, crop to fill",
        "square with black bars",
    ],
)
def test_draft_round_trip(text):
    plan = first_plan(text, 3, NO_OPTIONS).with_images(["/a.jpg", "/b.jpg", "/c.jpg"])
    assert plan_from_draft(plan.to_draft()) == plan


def test_draft_is_read_tolerantly():
    draft = {
        "t": [
            {"tt": 0, "sg": [{"d": 1500, "m": {"title": "one", "url": "file:///x/one.jpg"}}, {"d": 1500, "m": {}}]},
            {"tt": 1, "sg": [{"d": 3000, "volume": 35, "m": {"path": "/x/song.mp3"}}]},
            {"tt": 7, "sg": [{"m": {"name": "Hello"}}]},
            {"tt": 99, "unknown": True},
        ],
        "m": {"width": 1080, "height": 1080},
    }
    plan = plan_from_draft(draft)
    assert plan.aspect == "1:1"
    assert [(i.start_frame, i.frames, i.name, i.path) for i in plan.images] == [
        (0, 45, "one", "/x/one.jpg"), (45, 45, "image 2", None),
    ]  # fmt: skip
    assert (plan.music_path, plan.music_volume, plan.title) == ("/x/song.mp3", 0.35, "Hello")
    assert plan.fit is None  # a draft without a fit: auto, chosen per photo by its shape


@pytest.mark.parametrize(
    ("text", "fit"),
    [
        ("a vertical video", None),  # none asked: auto, by each photo's shape
        ("vertical, fill the frame", "cover"),
        ("crop to fill, 9:16", "cover"),
        ("keep black bars please", "contain"),
        ("letterboxed 16:9", "contain"),
        ("no black bars", None),
        ("with a blurred background", "blur"),
    ],
)
def test_fit_is_parsed(text, fit):
    plan = first_plan(text, 2, NO_OPTIONS)
    assert plan.fit == fit
    assert plan.unknown_wishes == []  # "blurred background" is something the engine does
    assert plan_from_draft(plan.with_images(["/a.jpg", "/b.jpg"]).to_draft()).fit == fit


@pytest.mark.parametrize("draft", [{}, {"t": []}, {"t": [{"tt": 0, "sg": []}]}, {"t": "nonsense"}])
def test_empty_draft_has_nothing_to_export(draft):
    with pytest.raises(NothingToExportError):
        plan_from_draft(draft)


def test_description_lists_the_plan_and_what_is_not_supported():
    plan = first_plan('vertical 12 s, title "Hidden Peaks", add slow motion', 3, NO_OPTIONS)
    text = describe_plan(plan)
    assert "12 s vertical" in text and "1080x1920" in text and '"Hidden Peaks"' in text
    assert "Framing: auto (smart where a photo's shape is far from the frame's, else blur)." in text
    assert text.endswith("Not supported offline: slow motion.")


def test_fit_option_wins_over_the_text():
    plan = first_plan("fill the frame", 2, EditOptions(fit="contain"))
    assert plan.fit == "contain"
