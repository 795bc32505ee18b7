"""gui.translate_reply: GUI steps in the backend's replies become tool wording and next actions."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from nemo_video_mcp.gui import GUI_RULES, ToolName, Translation, translate_reply

EXPORT = ("export_video", {})
STATE = ("get_state", {})
CREDITS = ("get_credits", {})
UPLOAD = ("upload_images", {})


def generate(instruction: str) -> tuple[str, dict[str, str]]:
    return ("generate_video", {"instruction": instruction})


ENGLISH_GUI_WORDS = ("click", "button", "panel", "drag", "tap ", "press", "hit ")
CHINESE_GUI_WORDS = ("点击", "按钮", "拖拽", "拖动", "面板")

# (reply, expected actions in order, substrings that must be gone, substrings that must be there)
CASES: list[tuple[str, list[tuple[str, dict[str, str]]], tuple[str, ...], tuple[str, ...]]] = [
    # The Export button, every phrasing.
    (
        "Click the Export button to download your video",
        [EXPORT],
        ENGLISH_GUI_WORDS,
        ("Call export_video to render and download your video",),
    ),
    ("Your video is ready! Hit Export when you're happy.", [EXPORT], ("Hit",), ("Call export_video when",)),
    ("Press the Export button in the top right corner.", [EXPORT], ("corner", "Press"), ("Call export_video.",)),
    ("Tap Export to save it.", [EXPORT], ("Tap",), ("export_video",)),
    ("Use the Export button to get your MP4.", [EXPORT], ("button",), ("Call export_video",)),
    ("Click on the 'Export' button.", [EXPORT], ("'Export'", "button"), ("Call export_video.",)),
    ("When you are done, click the blue “Export” button.", [EXPORT], ("“", "button"), ("call export_video.",)),
    ("The Export button is in the top right corner.", [EXPORT], ("button",), ("export_video",)),
    ("Click Download to save the MP4.", [EXPORT], ("Click",), ("Call export_video to render and download the MP4.",)),
    ("点击导出按钮", [EXPORT], (*CHINESE_GUI_WORDS, "导出按钮"), ("调用 export_video",)),
    ("你可以点击右上角的导出按钮", [EXPORT], (*CHINESE_GUI_WORDS, "右上角"), ("你可以调用 export_video",)),
    ("使用“导出”按钮下载视频。", [EXPORT], CHINESE_GUI_WORDS, ("调用 export_video 下载视频。",)),
    # Opening a panel: the state (or the tool the panel is about).
    ("Open the Music panel and pick a track.", [STATE], ENGLISH_GUI_WORDS, ("Call get_state and pick a track.",)),
    ("Go to the Text tab to edit the title.", [STATE], ("tab",), ("Call get_state",)),
    ("Open the media library to add more photos.", [UPLOAD], ("library", "Open"), ("upload_images",)),
    ("Open the export settings.", [EXPORT], ("Open",), ("Call export_video.",)),
    ("打开音乐面板，选择一首歌曲。", [STATE], (*CHINESE_GUI_WORDS, "打开"), ("调用 get_state，选择一首歌曲。",)),
    ("请打开右侧的素材库。", [UPLOAD], ("打开", "素材库"), ("请调用 upload_images。",)),
    # Drag and drop: the edit, sent as an instruction.
    (
        "Drag the clip to the start of the timeline.",
        [generate("move the clip to the start of the timeline")],
        ENGLISH_GUI_WORDS,
        ('Call generate_video with the instruction "move the clip to the start of the timeline".',),
    ),
    (
        "Use drag and drop to reorder the clips.",
        [generate("reorder the clips")],
        ENGLISH_GUI_WORDS,
        ("reorder the clips",),
    ),
    (
        "Simply drag-and-drop your photos onto the track.",
        [generate("move your photos onto the track")],
        ENGLISH_GUI_WORDS,
        ("Simply call generate_video",),
    ),
    (
        "你可以将图片拖拽到时间线上。",
        [generate("将图片移动到时间线上")],
        CHINESE_GUI_WORDS,
        ("你可以调用 generate_video（指令：“将图片移动到时间线上”）。",),
    ),
    ("拖动片段调整顺序。", [generate("移动片段调整顺序")], CHINESE_GUI_WORDS, ("generate_video",)),
    # Previewing in the timeline: the track summary.
    (
        "Preview it in the timeline before exporting.",
        [STATE],
        ("Preview it", "in the timeline"),
        ("Call get_state to see the track summary before exporting.",),
    ),
    ("Check the timeline to see the new order.", [STATE], ("Check the timeline",), ("get_state",)),
    ("在时间线预览效果。", [STATE], ("在时间线预览",), ("调用 get_state 查看轨道摘要。",)),
    # Any other button: the closest tool, else generate_video with the button's label.
    (
        "Click the Add Music button to add background music.",
        [generate("Add Music")],
        ENGLISH_GUI_WORDS,
        ('Call generate_video with the instruction "Add Music" to add background music.',),
    ),
    ("Click Apply to confirm.", [generate("Apply")], ENGLISH_GUI_WORDS, ("Call generate_video",)),
    ("Click 'Cinematic' to apply the style.", [generate("Cinematic")], ("'Cinematic'", "Click"), ()),
    ("Click here to see the result.", [STATE], ENGLISH_GUI_WORDS, ("Call get_state to see the result.",)),
    ("Click the credits icon to see your balance.", [CREDITS], ("icon", "Click"), ("Call get_credits",)),
    ("Press the Play button to watch it.", [STATE], ENGLISH_GUI_WORDS, ("Call get_state to watch it.",)),
    ("Tap the Upload button to add photos.", [UPLOAD], ENGLISH_GUI_WORDS, ("Call upload_images",)),
    ("点击添加字幕按钮，输入标题。", [generate("添加字幕")], CHINESE_GUI_WORDS, ("输入标题",)),
    ("点击积分图标查看余额", [CREDITS], CHINESE_GUI_WORDS, ("调用 get_credits 查看余额",)),
    # Several steps: order of appearance, duplicates once.
    (
        "You can drag and drop the photos to reorder them, then click Export.",
        [generate("move the photos to reorder them"), EXPORT],
        ENGLISH_GUI_WORDS,
        ("then call export_video.",),
    ),
    (
        "You can preview the result in the timeline and then click Export.",
        [STATE, EXPORT],
        ENGLISH_GUI_WORDS,
        ("You can call get_state to see the track summary and then call export_video.",),
    ),
    ("Click Export. Then click Export again.", [EXPORT], ENGLISH_GUI_WORDS, ("Call export_video. Then call",)),
    (
        "I've placed your 3 photos on the video track. Preview in timeline, or drag the clips to reorder them.",
        [STATE, generate("move the clips to reorder them")],
        ENGLISH_GUI_WORDS,
        ("Call get_state to see the track summary, or call generate_video",),
    ),
    ("Check it out on your timeline!", [STATE], ENGLISH_GUI_WORDS, ("Call get_state to see the track summary!",)),
    (
        "你可以将图片拖拽到时间线上，然后点击导出。",
        [generate("将图片移动到时间线上"), EXPORT],
        CHINESE_GUI_WORDS,
        ("，然后调用 export_video。",),
    ),
    (
        "在时间线预览效果后，点击导出按钮即可下载视频。",
        [STATE, EXPORT],
        CHINESE_GUI_WORDS,
        ("调用 get_state 查看轨道摘要后，调用 export_video 即可下载视频。",),
    ),
    # Mentions that point to a tool without GUI wording keep their text.
    ("You can download the video once it is rendered.", [EXPORT], (), ("You can download the video",)),
    ("完成后可以导出视频。", [EXPORT], (), ("完成后可以导出视频。",)),
]


@pytest.mark.parametrize(("reply", "actions", "forbidden", "required"), CASES, ids=[case[0][:40] for case in CASES])
def test_translate_reply(
    reply: str,
    actions: list[tuple[str, dict[str, str]]],
    forbidden: tuple[str, ...],
    required: tuple[str, ...],
) -> None:
    translation = translate_reply(reply)

    assert [(action.tool, action.arguments) for action in translation.actions] == actions
    for text in forbidden:
        assert text.lower() not in translation.text.lower(), translation.text
    for text in required:
        assert text in translation.text, translation.text
    assert all(action.reason and action.reason.isascii() for action in translation.actions)


@pytest.mark.parametrize(
    "reply",
    [
        "I added a warm filter and a title. Let me know what else to change!",
        "Your 15-second slideshow is ready: 5 photos with crossfades and Lo-fi music at 35%.",
        "I used a click sound effect on each cut.",
        "I'll use 'Lo-fi' as the background music.",
        "The beat drops at 0:30, so the photos change there.",
        "I'm open to suggestions for the title.",
        "What mood would you like: calm or energetic?",
        "我已经为你添加了暖色滤镜和标题。",
        "视频时长为15秒，包含5张照片。",
        "",
    ],
)
def test_text_without_gui_steps_passes_unchanged(reply: str) -> None:
    assert translate_reply(reply) == Translation(text=reply, actions=[])


def test_duplicates_are_listed_once_in_order_of_first_appearance() -> None:
    translation = translate_reply(
        "Open the Music panel. Click Export. Then open the Text panel, and press the Export button."
    )

    assert [action.tool for action in translation.actions] == ["get_state", "export_video"]
    assert translation.text == "Call get_state. Call export_video. Then call get_state, and call export_video."


def test_generate_video_actions_differ_by_instruction() -> None:
    translation = translate_reply("Click Apply. Click 'Warm'. Click Apply.")

    assert [action.arguments["instruction"] for action in translation.actions] == ["Apply", "Warm"]


def test_actions_name_real_tools_and_say_why() -> None:
    tools = set(get_args(ToolName))
    for reply, *_ in CASES:
        for action in translate_reply(reply).actions:
            assert action.tool in tools
            assert action.tool in action.reason
            assert ("instruction" in action.arguments) == (action.tool == "generate_video")


def test_rules_are_data_and_each_is_exercised_by_the_table() -> None:
    replies = [reply for reply, *_ in CASES]
    for rule in GUI_RULES:
        assert isinstance(rule.pattern, re.Pattern)
        assert rule.pattern.flags & re.IGNORECASE
        assert any(rule.pattern.search(reply) for reply in replies), rule


def test_matching_ignores_case() -> None:
    assert translate_reply("CLICK THE EXPORT BUTTON").text == "Call export_video"
    assert translate_reply("drag THE CLIP to the end").actions[0].arguments == {
        "instruction": "move THE CLIP to the end"
    }


# (reply, the whole translated reply, the actions in order)
SENTENCES: list[tuple[str, str, list[tuple[str, dict[str, str]]]]] = [
    (
        "Click the Export button to render it, or open the timeline panel to review.",
        "Call export_video to render it, or call get_state to review.",
        [EXPORT, STATE],
    ),
    ("点击导出按钮，或打开时间线面板查看效果。", "调用 export_video，或调用 get_state 查看效果。", [EXPORT, STATE]),
]


@pytest.mark.parametrize(("reply", "translated", "actions"), SENTENCES, ids=[case[0][:40] for case in SENTENCES])
def test_whole_sentences_read_well_after_translation(
    reply: str, translated: str, actions: list[tuple[str, dict[str, str]]]
) -> None:
    translation = translate_reply(reply)

    assert translation.text == translated
    assert [(action.tool, action.arguments) for action in translation.actions] == actions
