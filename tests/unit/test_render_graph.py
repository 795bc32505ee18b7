"""The ffmpeg command line, built without running anything: pieces, frame counts, sizes, offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemo_video_mcp.render.graph import (
    COLOUR_TAGS,
    EncoderSettings,
    Piece,
    build_command,
    build_filtergraph,
    holds_as_one_frame,
    masks_size,
    stills_list,
    timeline_list,
    timeline_pieces,
    transition_starts,
)
from nemo_video_mcp.render.plan import build_plan
from nemo_video_mcp.render.text import TextCard


def _plan(count: int = 3, **kwargs):
    kwargs.setdefault("duration_s", 12)
    return build_plan(range(count), **kwargs).with_images([f"/img/{i}.jpg" for i in range(count)])


def _stills(count: int) -> list[Path]:
    return [Path(f"/tmp/still-{i}.y4m") for i in range(count)]


TIMELINE = Path("/tmp/timeline.ffconcat")


@pytest.mark.parametrize(
    ("count", "duration", "transition_s", "transition", "pieces"),
    [
        (1, 5, 0.5, "fade", [("hold", 0, 150)]),
        (2, 4, 0.5, "fade", [("hold", 0, 60), ("transition", 1, 15), ("hold", 1, 45)]),
        (3, 12, 0.5, "wipe", [("hold", 0, 120), ("transition", 1, 15), ("hold", 1, 105), ("transition", 2, 15),
                              ("hold", 2, 105)]),
        (3, 10, 1.0, "fade", [("hold", 0, 100), ("transition", 1, 30), ("hold", 1, 70), ("transition", 2, 30),
                              ("hold", 2, 70)]),
        (3, 2, 0.5, "fade", [("hold", 0, 20), ("transition", 1, 8), ("hold", 1, 12), ("transition", 2, 8),
                             ("hold", 2, 12)]),  # 0.5 s capped at 40% of a 20-frame slot
        (2, 4, 0.5, "none", [("hold", 0, 60), ("hold", 1, 60)]),
    ],
)  # fmt: skip
def test_timeline_pieces_sum_to_the_planned_frames(count, duration, transition_s, transition, pieces):
    plan = _plan(count, duration_s=duration, transition=transition, transition_s=transition_s)
    got = timeline_pieces(plan)
    assert got == [Piece(*piece) for piece in pieces]
    assert sum(piece.frames for piece in got) == plan.total_frames == round(duration * 30)


@pytest.mark.parametrize(
    ("count", "duration", "starts"),
    [(2, 4, [2.0]), (3, 12, [4.0, 8.0]), (4, 10, [75 / 30, 150 / 30, 225 / 30]), (1, 5, [])],
)
def test_transitions_start_on_slot_boundaries(count, duration, starts):
    assert transition_starts(_plan(count, duration_s=duration)) == pytest.approx(starts)


def test_uneven_split_gives_the_spare_frames_to_the_first_images():
    plan = _plan(4, duration_s=10.0)  # 300 frames / 4
    assert [image.frames for image in plan.images] == [75, 75, 75, 75]
    plan = _plan(7, duration_s=10.0)  # 300 / 7 = 42 r 6
    assert [image.frames for image in plan.images] == [43] * 6 + [42]
    assert plan.total_frames == 300


@pytest.mark.parametrize(("aspect", "size"), [("16:9", "1920x1080"), ("9:16", "1080x1920"), ("1:1", "1080x1080")])
def test_kenburns_fades_read_the_stills_in_turn_from_one_list(aspect, size):
    plan = _plan(3, aspect=aspect, motion="kenburns")
    argv = build_command(plan, _stills(3), ffmpeg="ffmpeg", encoder=EncoderSettings(), timeline=TIMELINE)
    assert argv[argv.index("-i") - 4 : argv.index("-i") + 2] == ["-f", "concat", "-safe", "0", "-i", str(TIMELINE)]
    assert argv.count("-i") == 1
    _assert_pinned_output(argv, "360", "superfast", "23")  # every frame moves: no mbtree, the cheap search
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph.count("zoompan=") == 2 and graph.count(f"s={size}") == 2  # the main and the incoming stream
    with pytest.raises(ValueError):
        build_command(plan, _stills(3))  # no list
    assert stills_list(_stills(2)) == "ffconcat version 1.0\nfile '/tmp/still-0.y4m'\nfile '/tmp/still-1.y4m'\n"


def test_kenburns_dissolves_read_the_stills_from_the_list_and_the_masks_once_per_transition():
    plan = _plan(3, motion="kenburns", transition="dissolve")
    masks = Path("/tmp/dissolve-masks.y4m")
    argv = build_command(plan, _stills(3), ffmpeg="ffmpeg", encoder=EncoderSettings(), timeline=TIMELINE, masks=masks)
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "-i"] == [str(TIMELINE), str(masks)]
    assert argv[argv.index(str(masks)) - 3 : argv.index(str(masks)) - 1] == ["-stream_loop", "1"]  # 2 transitions
    assert argv[argv.index("-filter_complex") + 1].count("zoompan=") == 2
    assert masks_size(plan) == (960, 540)
    with pytest.raises(ValueError):
        build_command(plan, _stills(3), timeline=TIMELINE)  # a dissolve without its masks
    with pytest.raises(ValueError):
        build_command(_plan(3, motion="kenburns"), _stills(3), timeline=TIMELINE, masks=masks)  # masks for a fade
    assert masks_size(_plan(3, motion="static", transition="dissolve")) is None


def test_static_command_plays_the_timeline_list():
    argv = build_command(_plan(3, motion="static"), _stills(3), timeline=TIMELINE)
    assert argv[argv.index("-i") - 4 : argv.index("-i") + 2] == ["-f", "concat", "-safe", "0", "-i", str(TIMELINE)]
    assert argv.count("-i") == 1
    _assert_pinned_output(argv, "360")
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph == "[0:v]fps=30,tpad=stop_mode=clone:stop=-1[joined];[joined]" + COLOUR_TAGS + "[vout]"
    with pytest.raises(ValueError):
        build_command(_plan(3, motion="static"), _stills(3))  # no list


def _assert_pinned_output(argv: list[str], frames: str, preset: str = "veryfast", crf: str = "20") -> None:
    assert argv[argv.index("-frames:v") + 1] == frames
    assert argv[argv.index("-pix_fmt", argv.index("-c:v")) + 1] == "yuv420p"
    assert argv[argv.index("-c:v") : argv.index("-c:v") + 10] == [
        "-c:v", "libx264", "-preset", preset, "-crf", crf, "-tune", "stillimage", "-x264-params", "sliced-threads=1",
    ]  # fmt: skip
    assert "-colorspace" not in argv  # tagged by setparams: an output -colorspace converts every frame
    assert "+faststart" in argv and argv[-2:] == ["-f", "mp4"]
    assert argv[argv.index("-progress") + 1] == "pipe:1"


def test_static_timeline_list_has_a_hold_per_image_and_the_transitions_between():
    plan = _plan(3, motion="static")  # 120 frames each, 15-frame fades
    transitions = [Path("/tmp/t-1.y4m"), Path("/tmp/it's.y4m")]
    assert timeline_list(plan, _stills(3), transitions).splitlines() == [
        "ffconcat version 1.0",
        "file '/tmp/still-0.y4m'", "duration 4.000000",
        "file '/tmp/t-1.y4m'", "duration 0.500000",
        "file '/tmp/still-1.y4m'", "duration 3.500000",
        "file '/tmp/it'\\''s.y4m'", "duration 0.500000",
        "file '/tmp/still-2.y4m'", "duration 3.500000",
    ]  # fmt: skip


ONE_FRAME = EncoderSettings(one_frame_holds=True)


def _looks(plan, *looks: str):
    images = [image.model_copy(update={"look": look}) for image, look in zip(plan.images, looks, strict=True)]
    return plan.model_copy(update={"images": images})


def test_one_frame_holds_drop_the_constant_rate_and_the_b_frames():
    argv = build_command(_plan(3, motion="static"), _stills(3), encoder=ONE_FRAME, timeline=TIMELINE)
    graph = argv[argv.index("-filter_complex") + 1]
    assert graph == "[0:v]null[joined];[joined]" + COLOUR_TAGS + "[vout]"
    assert "-r" not in argv and "-frames:v" not in argv
    assert argv[argv.index("-fps_mode") + 1] == "vfr"
    assert argv[argv.index("-x264-params") + 1] == "sliced-threads=1:bframes=0"


def test_one_frame_holds_list_the_last_hold_again_for_its_last_frame():
    plan = _plan(2, motion="static", transition="none")  # 180 frames each
    text = timeline_list(plan, _stills(2), [], one_frame_holds=True)
    assert text.splitlines()[-4:] == [
        "file '/tmp/still-1.y4m'", "duration 5.966667", "file '/tmp/still-1.y4m'", "duration 0.033333",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("plan", "encoder", "one_frame"),
    [
        (_plan(3, motion="static"), ONE_FRAME, True),
        (_plan(3, motion="static"), EncoderSettings(), False),
        (_plan(3, motion="kenburns"), ONE_FRAME, False),
        (_plan(3, motion="static", title="Hello"), ONE_FRAME, False),  # a text fades frame by frame
        (_looks(_plan(3, motion="static"), "bw", "bw", "bw"), ONE_FRAME, True),
        (_looks(_plan(3, motion="static"), "none", "bw", "none"), ONE_FRAME, False),  # enabled by frame number
    ],
)
def test_one_frame_holds_only_where_no_filter_counts_frames(plan, encoder, one_frame):
    assert holds_as_one_frame(plan, encoder) is one_frame
    argv = build_command(plan, _stills(3), encoder=encoder, timeline=TIMELINE, texts=[])
    assert ("-fps_mode" in argv) is one_frame


def test_hard_cuts_list_only_the_holds():
    text = timeline_list(_plan(2, motion="static", transition="none"), _stills(2), [])
    assert text.count("file ") == 2 and "duration 6.000000" in text


def test_kenburns_fades_overlay_the_incoming_clips_in_yuv420p():
    """Three 120-frame slots, 15-frame fades: the main stream plays each clip after its way in (135, 120,
    105 frames: 360 in all), the incoming one the first 15 frames of clips 1 and 2 at 4 s and 8 s."""
    graph = build_filtergraph(_plan(3, motion="kenburns"))
    assert "xfade" not in graph and "yuv444p" not in graph
    assert graph.startswith("[0:v]split=2[stills][later];[stills]zoompan=")
    assert "d='if(eq(in,0),135,if(eq(in,1),120,105))'" in graph and "(frame+15)/134" in graph
    assert "[later]trim=start_frame=1,zoompan=" in graph and "d='if(eq(in,0),15,15)'" in graph
    assert "setpts='(N+if(eq(floor(N/15),0),120,225))/30/TB'" in graph
    # 16 frames long from one frame early: the 15 frames show 1/16 .. 15/16 of the way (see xfade_timing)
    assert "fade=t=in:st=3.966667:d=0.533333:alpha=1:enable='between(n,0,14)'" in graph
    assert "fade=t=in:st=7.966667:d=0.533333:alpha=1:enable='between(n,15,29)'" in graph
    assert (
        "[main][incoming]overlay=format=yuv420:eof_action=pass:"
        "enable='between(t,3.983333,4.483333)+between(t,7.983333,8.483333)'[joined]"
    ) in graph


def test_kenburns_dissolves_overlay_the_incoming_clips_through_the_masks_timed_as_they_are():
    """The masks (half size) are enlarged to the frame and given the incoming clips' times, 4 s and 8 s;
    their values become the clips' alpha, and the clips are overlaid only during their transitions."""
    graph = build_filtergraph(_plan(3, motion="kenburns", transition="dissolve"), masks_input=1)
    assert "xfade" not in graph and "yuv444p" not in graph
    assert "[later]trim=start_frame=1,zoompan=" in graph and "[clips];" in graph
    timing = "setpts='(N+if(eq(floor(N/15),0),120,225))/30/TB'"
    assert graph.count(timing) == 2  # the incoming clips and their masks
    assert f"[1:v]{timing},scale=1920:1080:flags=neighbor[masks]" in graph
    assert "[clips][masks]alphamerge[incoming]" in graph
    assert (
        "[main][incoming]overlay=format=yuv420:eof_action=pass:"
        "enable='between(t,3.983333,4.483333)+between(t,7.983333,8.483333)'[joined]"
    ) in graph
    with pytest.raises(ValueError):
        build_filtergraph(_plan(3, motion="kenburns", transition="dissolve"))


@pytest.mark.parametrize(
    ("transition", "moved", "placed"),
    [
        ("slide", "[main]split=2[under][pushed];[under][pushed]overlay=x='-(", "[left][incoming]overlay=x='W-("),
        (
            "wipe",
            "[incoming]split=2[under][shifted];[under][shifted]overlay=x='-(W-(",
            "[main][revealed]overlay=x='W-(",
        ),
    ],
)
def test_kenburns_slides_and_wipes_overlay_the_incoming_clips_at_even_steps(transition, moved, placed):
    graph = build_filtergraph(_plan(3, transition=transition))  # fades at 4 s and 8 s, 15 frames each
    assert "xfade" not in graph and "yuv444p" not in graph and "yuva420p" not in graph
    assert moved in graph and placed in graph
    assert "between(t,3.983333,4.483333)*2*round((round(t*30)-120+1)/16*W/2)" in graph
    assert "between(t,7.983333,8.483333)*2*round((round(t*30)-240+1)/16*W/2)" in graph


def test_kenburns_without_transitions_is_one_zoompan():
    graph = build_filtergraph(_plan(3, transition="none"))
    assert "xfade" not in graph and "split" not in graph and "overlay" not in graph
    assert graph.startswith("[0:v]zoompan=") and "d='if(eq(in,0),120,if(eq(in,1),120,120))'" in graph
    assert "setpts=N/30/TB[joined]" in graph


def test_each_text_is_overlaid_on_its_frames_only_with_fades():
    plan = _plan(2, duration_s=6)
    title = TextCard(path=Path("/tmp/title.png"), x=100, y=800, width=400, height=120, start_frame=0, frames=120)
    caption = TextCard(path=Path("/tmp/text.png"), x=50, y=900, width=300, height=60, start_frame=90, frames=60)
    argv = build_command(plan, _stills(2), texts=[title, caption], timeline=TIMELINE)
    graph = argv[argv.index("-filter_complex") + 1]
    assert argv[argv.index("/tmp/title.png") - 3 :][:4] == ["-framerate", "30", "-i", "/tmp/title.png"]
    assert "[1:v]format=yuva420p,loop=loop=119:size=1:start=0,setpts=(N+0)/30/TB" in graph
    assert "fade=t=in:st=0.000:d=0.400:alpha=1,fade=t=out:st=3.600:d=0.400:alpha=1[text0]" in graph
    assert "[joined][text0]overlay=x=100:y=800:eof_action=pass:format=yuv420[shown0]" in graph
    assert "[2:v]format=yuva420p,loop=loop=59:size=1:start=0,setpts=(N+90)/30/TB" in graph  # from 3 s
    assert "fade=t=in:st=3.000:d=0.400:alpha=1,fade=t=out:st=4.600:d=0.400:alpha=1[text1]" in graph
    assert "[shown0][text1]overlay=x=50:y=900:eof_action=pass:format=yuv420[shown1];[shown1]" + COLOUR_TAGS in graph


def test_music_is_looped_trimmed_and_faded_to_the_exact_length():
    plan = _plan(2, duration_s=7, music_path="/m/song.mp3", music_volume=0.4)
    argv = build_command(plan, _stills(2), timeline=TIMELINE)
    assert argv[argv.index("/m/song.mp3") - 3 : argv.index("/m/song.mp3")] == ["-stream_loop", "-1", "-i"]
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[1:a]atrim=0:7.000000,asetpts=PTS-STARTPTS,volume=0.400,afade=t=out:st=5.500000:d=1.500000[aout]" in graph
    assert argv[argv.index("[aout]") - 1] == "-map" and "aac" in argv


def test_stills_must_match_the_plan():
    with pytest.raises(ValueError):
        build_command(_plan(3), _stills(2))
    with pytest.raises(ValueError):
        timeline_list(_plan(3, motion="static"), _stills(2), [])
