"""An edit as changes: instruction -> changes (English and Chinese), changes -> the plan and its draft
(what changes and what is kept), and the reply that says both."""

from __future__ import annotations

from typing import Any

import pytest

from nemo_video_mcp.draft import timeline_summary
from nemo_video_mcp.models import EditOptions
from nemo_video_mcp.render.changes import (
    AddText,
    MovePhoto,
    MusicFile,
    RemoveMusic,
    RemovePhoto,
    RemoveTexts,
    Reverse,
    SetAspect,
    SetDuration,
    SetFit,
    SetFps,
    SetLook,
    SetMotion,
    SetMusic,
    SetPhotoDuration,
    SetSpeed,
    SetTitle,
    SetTransition,
    Shuffle,
    StartOver,
    SwapPhotos,
    apply_changes,
    describe_edit,
    first_plan,
    parse_edit,
)
from nemo_video_mcp.render.plan import EditPlan, plan_from_draft

PATHS = [f"/photos/p{i}.jpg" for i in range(4)]
NAMES = [f"p{i}.jpg" for i in range(4)]
SONG = MusicFile(path="/store/abc.mp3", name="lofi.mp3")


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        ("make it square", [SetAspect(aspect="1:1")]),
        ("改成方形", [SetAspect(aspect="1:1")]),
        ("竖屏", [SetAspect(aspect="9:16")]),
        ("横屏视频", [SetAspect(aspect="16:9")]),
        ("titled 'Test'", [SetTitle(text="Test")]),
        ("the title 'Hidden Peaks'", [SetTitle(text="Hidden Peaks")]),
        ('title "Alps"', [SetTitle(text="Alps")]),
        ("call it “Sommer”", [SetTitle(text="Sommer")]),
        ("titled «Été»", [SetTitle(text="Été")]),
        ("标题「阿尔卑斯」", [SetTitle(text="阿尔卑斯")]),
        ("标题改为『山』", [SetTitle(text="山")]),
        ("titled Summer Trip, 10 seconds", [SetDuration(seconds=10), SetTitle(text="Summer Trip")]),
        ("title: Our Day", [SetTitle(text="Our Day")]),
        ("the title Hidden Peaks", [SetTitle(text="Hidden Peaks")]),
        ("remove the title", [SetTitle(text=None)]),
        ("remove the title please", [SetTitle(text=None)]),
        ("去掉标题", [SetTitle(text=None)]),
        ('caption the second photo "Grandma\'s garden"', [AddText(text="Grandma's garden", role="caption", photo=2)]),
        ("caption the second photo 'Grandma's garden'", [AddText(text="Grandma's garden", role="caption", photo=2)]),
        ('add "Day 1" on the first photo', [AddText(text="Day 1", role="caption", photo=1)]),
        ("subtitle the first photo 'Hi'", [AddText(text="Hi", role="caption", photo=1)]),
        ("在第二张照片上加字幕「奶奶的花园」", [AddText(text="奶奶的花园", role="caption", photo=2)]),
        ('end with "Thanks for watching"', [AddText(text="Thanks for watching", role="end_card")]),
        ("结尾加「谢谢观看」", [AddText(text="谢谢观看", role="end_card")]),
        ("remove the captions", [RemoveTexts(role="caption")]),
        ("remove the end card", [RemoveTexts(role="end_card")]),
        ("music at 35%", [SetMusic(volume=0.35)]),
        ("35% music volume", [SetMusic(volume=0.35)]),
        ("背景音乐音量 35%", [SetMusic(volume=0.35)]),
        ("音量调到20", [SetMusic(volume=0.2)]),
        ("quieter music", [SetMusic(volume_factor=0.6)]),
        ("音量小一点", [SetMusic(volume_factor=0.6)]),
        ("add some background music", [SetMusic()]),
        ("加背景音乐", [SetMusic()]),
        ("fade the music in over 2 seconds", [SetMusic(fade_in_s=2)]),
        ("loop the music", [SetMusic(loop=True)]),
        ("remove the music", [RemoveMusic()]),
        ("don't add music", [RemoveMusic()]),
        ("去掉背景音乐", [RemoveMusic()]),
        ("remove photo 3", [RemovePhoto(photo=3)]),
        ("remove the third photo", [RemovePhoto(photo=3)]),
        ("delete the last photo", [RemovePhoto(photo=-1)]),
        ("remove photos 2 and 4", [RemovePhoto(photo=2), RemovePhoto(photo=4)]),
        ("删除第三张", [RemovePhoto(photo=3)]),
        ("move photo 3 to the start", [MovePhoto(photo=3, to=1)]),
        ("swap photos 1 and 2", [SwapPhotos(a=1, b=2)]),
        ("reverse order", [Reverse()]),
        ("倒序", [Reverse()]),
        ("shuffle them, seed 7", [Shuffle(seed=7)]),
        ("打乱顺序", [Shuffle(seed=99)]),
        ("start over", [StartOver()]),
        ("from scratch, square", [StartOver(), SetAspect(aspect="1:1")]),
        ("重新开始", [StartOver()]),
        ("make it 20 seconds", [SetDuration(seconds=20)]),
        ("一分钟", [SetDuration(seconds=60)]),
        ("十五秒", [SetDuration(seconds=15)]),
        ("2 seconds per photo", [SetPhotoDuration(seconds=2)]),
        ("每张3秒", [SetPhotoDuration(seconds=3)]),
        ("photo 2 for 5 seconds", [SetPhotoDuration(seconds=5, photo=2)]),
        ("faster", [SetSpeed(factor=0.75)]),
        ("慢一点", [SetSpeed(factor=1 / 0.75)]),
        ("60 fps", [SetFps(fps=60)]),
        ("24帧", [SetFps(fps=24)]),
        ("wipe transitions", [SetTransition(transition="wipe")]),
        ("1 second dissolves", [SetTransition(transition="dissolve", seconds=1)]),
        ("淡入淡出", [SetTransition(transition="fade")]),
        ("hard cuts", [SetTransition(transition="none")]),
        ("no motion", [SetMotion(motion="static")]),
        ("静态", [SetMotion(motion="static")]),
        ("black and white", [SetLook(look="bw")]),
        ("黑白", [SetLook(look="bw")]),
        ("sepia", [SetLook(look="sepia")]),
        ("warmer", [SetLook(look="warm")]),
        ("冷色调", [SetLook(look="cool")]),
        ("make the first photo sepia", [SetLook(look="sepia", photo=1)]),
        ("smart crop", [SetFit(fit="smart")]),
        ("fill the frame", [SetFit(fit="cover")]),
        ("黑边", [SetFit(fit="contain")]),
        (
            'a vertical 12-second video with wipe transitions titled "Alps"',
            [SetDuration(seconds=12), SetAspect(aspect="9:16"), SetTransition(transition="wipe"),
             SetTitle(text="Alps")],
        ),
    ],
)  # fmt: skip
def test_instruction_to_changes(text: str, changes: list[Any]) -> None:
    assert parse_edit(text, seed=99).changes == changes


@pytest.mark.parametrize(
    ("text", "wishes"),
    [
        ("a 10-second video in slow motion with voiceover", ["slow motion", "voiceover"]),
        ("add a logo and stickers", ["logo", "stickers"]),
        ("加配音和水印", ["配音", "水印"]),
        ("make it square", []),
    ],
)
def test_unknown_wishes_are_the_words_that_matched(text: str, wishes: list[str]) -> None:
    edit = parse_edit(text)
    assert edit.unknown_wishes == wishes
    assert not any(isinstance(change, SetMotion) for change in edit.changes)  # "slow motion" is not motion


def test_options_come_after_the_text_and_win() -> None:
    edit = parse_edit("vertical, title 'From text'", EditOptions(aspect="1:1", title="From options"))
    plan = apply_changes(first_plan("", 3, EditOptions()), edit).plan
    assert (plan.aspect, plan.title) == ("1:1", "From options")


def test_a_shuffle_without_a_seed_gets_one_and_records_it() -> None:
    (shuffle,) = parse_edit("shuffle").changes
    assert isinstance(shuffle, Shuffle) and 0 <= shuffle.seed < 2**31
    plan = apply_changes(first_plan("", 6, EditOptions()), parse_edit("shuffle", seed=5)).plan
    again = apply_changes(first_plan("", 6, EditOptions()), parse_edit("shuffle", seed=5)).plan
    assert plan.shuffle_seed == 5 and plan_from_draft(plan.to_draft()).shuffle_seed == 5
    assert [i.index for i in plan.images] == [i.index for i in again.images] != list(range(6))


def alps() -> EditPlan:
    return first_plan('a vertical 12-second video with wipe transitions titled "Alps"', 4, EditOptions()).with_images(
        PATHS, NAMES
    )


def edited(plan: EditPlan, text: str, music: MusicFile | None = SONG) -> tuple[EditPlan, str]:
    """One follow-up as the local backend does it: the saved draft read back, the edit applied."""
    current = plan_from_draft(plan.to_draft()).with_images(PATHS, NAMES)
    applied = apply_changes(current, parse_edit(text, seed=3), music=music)
    after = applied.plan.with_images(PATHS, NAMES)
    return after, describe_edit(current, after, applied.notes)


def settings(plan: EditPlan) -> dict[str, Any]:
    return {
        "duration": plan.duration_s,
        "aspect": plan.aspect,
        "transition": plan.transition,
        "motion": plan.motion,
        "fit": plan.fit,
        "fps": plan.fps,
        "title": plan.title,
        "photos": [image.index for image in plan.images],
        "texts": [(t.role, t.text, t.on) for t in plan.texts if t.role != "title"],
        "music": (plan.music_name, plan.music_volume) if plan.music_path else None,
        "looks": [image.look for image in plan.images],
    }


@pytest.mark.parametrize(
    ("text", "changed", "reply"),
    [
        ("make it square", {"aspect": "1:1"}, 'Aspect 9:16 → 1:1; kept: 12 s, wipe, title "Alps".'),
        ("方形", {"aspect": "1:1"}, 'Aspect 9:16 → 1:1; kept: 12 s, wipe, title "Alps".'),
        ("titled 'Test'", {"title": "Test"}, 'Title "Alps" → "Test"; kept: 12 s, 9:16, wipe.'),
        ("remove the title", {"title": None}, 'Removed title "Alps"; kept: 12 s, 9:16, wipe.'),
        (
            'caption the second photo "Garden"',
            {"texts": [("caption", "Garden", 1)]},
            'Added caption "Garden" (3-6s); kept: 12 s, 9:16, wipe, title "Alps".',
        ),
        (
            "music at 35%",
            {"music": ("lofi.mp3", 0.35)},
            'Added music lofi.mp3 at 35%; kept: 12 s, 9:16, wipe, title "Alps".',
        ),
        (
            "remove photo 3",
            {"photos": [0, 1, 3], "duration": 9, "looks": ["none"] * 3},
            'Removed photo 3 (p2.jpg); duration 12 s → 9 s; kept: 9:16, wipe, title "Alps".',
        ),
        (
            "remove photos 2 and 4",
            {"photos": [0, 2], "duration": 6, "looks": ["none"] * 2},
            'Removed photo 2 (p1.jpg); removed photo 4 (p3.jpg); duration 12 s → 6 s; kept: 9:16, wipe, title "Alps".',
        ),
        (
            "reverse order",
            {"photos": [3, 2, 1, 0]},
            'Order now p3.jpg, p2.jpg, p1.jpg, p0.jpg; kept: 12 s, 9:16, wipe, title "Alps".',
        ),
        ("20 seconds", {"duration": 20}, 'Duration 12 s → 20 s; kept: 9:16, wipe, title "Alps".'),
        ("faster", {"duration": 9}, 'Duration 12 s → 9 s; kept: 9:16, wipe, title "Alps".'),
        (
            "photo 2 for 5 seconds",
            {"duration": 14},
            'Photo 2 3 s → 5 s; duration 12 s → 14 s; kept: 9:16, wipe, title "Alps".',
        ),
        ("60 fps", {"fps": 60}, 'Frame rate 30 fps → 60 fps; kept: 12 s, 9:16, wipe, title "Alps".'),
        ("黑白", {"looks": ["bw"] * 4}, 'Added look black-and-white; kept: 12 s, 9:16, wipe, title "Alps".'),
        ("淡入淡出", {"transition": "fade"}, 'Transitions wipe → fade; kept: 12 s, 9:16, title "Alps".'),
        ("static", {"motion": "static"}, 'Motion ken burns → static; kept: 12 s, 9:16, wipe, title "Alps".'),
        ("smart crop", {"fit": "smart"}, 'Framing auto → smart; kept: 12 s, 9:16, wipe, title "Alps".'),
        (
            "a 10-second video in slow motion with voiceover",
            {"duration": 10},
            'Duration 12 s → 10 s; kept: 9:16, wipe, title "Alps". Not supported offline: slow motion; voiceover.',
        ),
        (
            "remove photo 9",
            {},
            'Nothing changed; kept: 12 s, 9:16, wipe, title "Alps". There is no photo 9 (the timeline has 4).',
        ),
        (
            "music at 35%",
            {},
            'Nothing changed; kept: 12 s, 9:16, wipe, title "Alps". Not supported offline: music (no music file was'
            " given: pass music_path, or upload an audio file).",
        ),
    ],
)
def test_a_follow_up_changes_only_what_it_names(text: str, changed: dict[str, Any], reply: str) -> None:
    before = alps()
    after, said = edited(before, text, music=None if "Nothing" in reply and "music" in text else SONG)
    expected = {**settings(before), **changed}
    assert settings(after) == expected
    assert said == reply


def test_five_follow_ups_keep_every_choice_and_the_summary_shows_them() -> None:
    plan = alps()
    for text in ["make it square", "titled 'Test'", 'caption the second photo "Day 2"', "music at 35%"]:
        plan, _ = edited(plan, text)
    plan, said = edited(plan, "remove photo 3")
    assert (
        said == 'Removed photo 3 (p2.jpg); duration 12 s → 9 s; kept: 1:1, wipe, title "Test", music lofi.mp3 at 35%.'
    )
    assert timeline_summary(plan.to_draft()) == (
        'Timeline (4 tracks): 1. Video: p0.jpg + 2 more (0-9s) 2. BGM: lofi.mp3 (0-9s, 35%) 3. Title: "Test" (0-4s) '
        '4. Text: "Day 2" (3-6s)'
    )


def test_a_caption_follows_its_photo_and_goes_with_it() -> None:
    plan, _ = edited(alps(), 'caption the second photo "Garden"')
    moved, _ = edited(plan, "move photo 2 to the end")
    (caption,) = [t for t in moved.texts if t.role == "caption"]
    assert (caption.start_frame, caption.end_frame) == (moved.images[-1].start_frame, moved.total_frames)
    gone, said = edited(plan, "remove photo 2")
    assert [t.role for t in gone.texts] == ["title"]
    assert said.startswith('Removed photo 2 (p1.jpg); duration 12 s → 9 s; removed caption "Garden" (3-6s)')


def test_the_end_card_sits_over_the_last_seconds_and_texts_survive_a_frame_rate_change() -> None:
    plan, _ = edited(alps(), 'end with "Thanks for watching"')
    plan, _ = edited(plan, "24 fps")
    end_card = plan.texts[-1]
    assert (end_card.role, end_card.end_frame, end_card.frames) == ("end_card", plan.total_frames, 72)
    assert plan.title_frames == 4 * 24 and plan.total_frames == 12 * 24


@pytest.mark.parametrize(
    ("text", "volume"), [("quieter music", 0.21), ("louder music", 0.58), ("music at 100%", 1.0), ("音量 0%", 0.0)]
)
def test_the_music_volume_moves_from_where_it_is(text: str, volume: float) -> None:
    plan, _ = edited(alps(), "music at 35%")
    plan, said = edited(plan, text)
    assert plan.music_volume == pytest.approx(volume)
    assert said.startswith(f"Music volume 35% → {round(volume * 100)}%")


def test_the_first_photo_alone_gets_a_look() -> None:
    plan, said = edited(alps(), "make the first photo sepia")
    assert [image.look for image in plan.images] == ["sepia", "none", "none", "none"]
    assert said == 'Photo 1 look none → sepia; kept: 12 s, 9:16, wipe, title "Alps".'
    assert plan_from_draft(plan.to_draft()).images[0].look == "sepia"


def test_a_transition_with_no_frames_is_hard_cuts() -> None:
    plan, said = edited(alps(), "0 second wipes")
    assert (plan.transition, plan.transition_frames) == ("none", 0)
    assert said.startswith("Transitions wipe → hard cuts")
