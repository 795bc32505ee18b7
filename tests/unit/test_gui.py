"""gui.translate_reply: GUI steps in the backend's replies become tool wording and next actions."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from nemo_video_mcp.gui import GUI_RULES, ToolName, Translation, translate_reply
from tests.sim import edits

EXPORT = ("export_video", {})
STATE = ("get_state", {})
CREDITS = ("get_credits", {})
UPLOAD = ("upload_images", {})


def generate(instruction: str) -> tuple[str, dict[str, str]]:
    return ("generate_video", {"instruction": instruction})


GUI_WORDS = ("click", "button", "panel", "drag", "tap ", "press", "hit ", "点击", "按钮", "拖拽", "拖动", "面板")

# (reply, the whole translated reply, the actions in order)
SENTENCES: list[tuple[str, str, list[tuple[str, dict[str, str]]]]] = [
    # The sentence: each phrase becomes a clause, not a word swapped.
    (
        "Click the Export button to render it, or open the timeline panel to review.",
        "Call export_video to render it, or call get_state to review the track summary.",
        [EXPORT, STATE],
    ),
    ("点击导出按钮，或打开时间线面板查看效果。", "调用 export_video，或调用 get_state 查看效果。", [EXPORT, STATE]),
    # The Export button, every phrasing.
    (
        "Click the Export button to download your video",
        "Call export_video to render and download your video",
        [EXPORT],
    ),
    ("click Export", "call export_video", [EXPORT]),
    ("press the export button", "call export_video", [EXPORT]),
    (
        "Your video is ready! Hit Export when you're happy.",
        "Your video is ready! Call export_video when you're happy.",
        [EXPORT],
    ),
    ("Press the Export button in the top right corner.", "Call export_video.", [EXPORT]),
    ("Tap Export to save it.", "Call export_video to render and download it.", [EXPORT]),
    ("Use the Export button to get your MP4.", "Call export_video to render and download your MP4.", [EXPORT]),
    ("Click on the 'Export' button.", "Call export_video.", [EXPORT]),
    ("When you are done, click the blue “Export” button.", "When you are done, call export_video.", [EXPORT]),
    ("The Export button is in the top right corner.", "The export_video tool is in the top right corner.", [EXPORT]),
    ("Click Download to save the MP4.", "Call export_video to render and download the MP4.", [EXPORT]),
    ("点击导出按钮", "调用 export_video", [EXPORT]),
    ("点击导出", "调用 export_video", [EXPORT]),
    ("你可以点击右上角的导出按钮", "你可以调用 export_video", [EXPORT]),
    ("使用“导出”按钮下载视频。", "调用 export_video 下载视频。", [EXPORT]),
    # Opening a panel: what get_state shows of it, and the edit it was opened for.
    ("Open the audio panel.", "Call get_state to see the music track.", [STATE]),
    ("Open the Music panel and pick a track.", "Call get_state to see the music track and pick a track.", [STATE]),
    (
        "Go to the Text tab to edit the title.",
        'Call get_state to see the title track, then call generate_video with the instruction "edit the title".',
        [STATE, generate("edit the title")],
    ),
    ("Open the media library to add more photos.", "Call upload_images to add more photos.", [UPLOAD]),
    ("Open the export settings.", "Call export_video.", [EXPORT]),
    ("打开面板", "调用 get_state 查看轨道摘要", [STATE]),
    ("打开音频面板", "调用 get_state 查看音乐轨道", [STATE]),
    ("打开音乐面板，选择一首歌曲。", "调用 get_state 查看音乐轨道，选择一首歌曲。", [STATE]),
    ("请打开右侧的素材库。", "请调用 upload_images。", [UPLOAD]),
    # Dragging files into the upload area: an upload.
    ("Drag and drop your photos here to get started.", "Call upload_images to get started.", [UPLOAD]),
    ("Just drop more files into the upload area.", "Just call upload_images.", [UPLOAD]),
    ("将图片拖拽到此处即可上传。", "调用 upload_images 即可上传。", [UPLOAD]),
    # A bare drag and drop, or files dropped into the editor: the way files get in.
    ("You can drag and drop.", "You can call upload_images.", [UPLOAD]),
    ("Just drag & drop!", "Call upload_images!", [UPLOAD]),
    ("Use drag and drop, then click Export.", "Call upload_images, then call export_video.", [UPLOAD, EXPORT]),
    ("You can also drag and drop files into the editor.", "You can also call upload_images.", [UPLOAD]),
    ("你也可以直接拖拽。", "你也可以直接调用 upload_images。", [UPLOAD]),
    # Drag and drop: the edit, sent as an instruction.
    (
        "Drag the clip to the start of the timeline.",
        'Call generate_video with the instruction "move the clip to the start of the timeline".',
        [generate("move the clip to the start of the timeline")],
    ),
    (
        "Use drag and drop to reorder the clips.",
        'Call generate_video with the instruction "reorder the clips".',
        [generate("reorder the clips")],
    ),
    (
        "Simply drag-and-drop your photos onto the track.",
        'Simply call generate_video with the instruction "move your photos onto the track".',
        [generate("move your photos onto the track")],
    ),
    (
        "你可以将图片拖拽到时间线上。",
        "你可以调用 generate_video（指令：“将图片移动到时间线上”）。",
        [generate("将图片移动到时间线上")],
    ),
    ("拖动片段调整顺序。", "调用 generate_video（指令：“移动片段调整顺序”）。", [generate("移动片段调整顺序")]),
    # Previewing in the timeline: the track summary (get_state shows tracks; it plays nothing).
    ("Preview in timeline.", "Call get_state to see the track summary.", [STATE]),
    (
        "Preview it in the timeline before exporting.",
        "Call get_state to see the track summary before exporting.",
        [STATE],
    ),
    ("Check the timeline to see the new order.", "Call get_state to see the new order.", [STATE]),
    ("Check it out on your timeline!", "Call get_state to see the track summary!", [STATE]),
    ("在时间线预览效果。", "调用 get_state 查看轨道摘要。", [STATE]),
    # Any other button: the closest tool, else generate_video with the button's label.
    (
        "Click the Add Music button to add background music.",
        'Call generate_video with the instruction "Add Music" to add background music.',
        [generate("Add Music")],
    ),
    ("Click Apply to confirm.", 'Call generate_video with the instruction "Apply" to confirm.', [generate("Apply")]),
    (
        "Click 'Cinematic' to apply the style.",
        'Call generate_video with the instruction "Cinematic" to apply the style.',
        [generate("Cinematic")],
    ),
    ("Click here to see the result.", "Call get_state to see the result.", [STATE]),
    ("Click the credits icon to see your balance.", "Call get_credits to see your balance.", [CREDITS]),
    ("Press the Play button to watch it.", "Call get_state to see the track summary.", [STATE]),
    ("Tap the Upload button to add photos.", "Call upload_images to add photos.", [UPLOAD]),
    ("点击添加字幕按钮，输入标题。", "调用 generate_video（指令：“添加字幕”），输入标题。", [generate("添加字幕")]),
    ("点击积分图标查看余额", "调用 get_credits 查看余额", [CREDITS]),
    # Several steps in one reply: order of appearance, duplicates once.
    (
        "You can drag and drop the photos to reorder them, then click Export.",
        'You can call generate_video with the instruction "move the photos to reorder them", then call export_video.',
        [generate("move the photos to reorder them"), EXPORT],
    ),
    (
        "You can preview the result in the timeline and then click Export.",
        "You can call get_state to see the track summary and then call export_video.",
        [STATE, EXPORT],
    ),
    ("Click Export. Then click Export again.", "Call export_video. Then call export_video again.", [EXPORT]),
    (
        "你可以将图片拖拽到时间线上，然后点击导出。",
        "你可以调用 generate_video（指令：“将图片移动到时间线上”），然后调用 export_video。",
        [generate("将图片移动到时间线上"), EXPORT],
    ),
    (
        "在时间线预览效果后，点击导出按钮即可下载视频。",
        "调用 get_state 查看轨道摘要后，调用 export_video 即可下载视频。",
        [STATE, EXPORT],
    ),
    # Mentions that point to a tool without GUI wording keep their text.
    ("You can download the video once it is rendered.", "You can download the video once it is rendered.", [EXPORT]),
    ("完成后可以导出视频。", "完成后可以导出视频。", [EXPORT]),
]

# Every reply the simulator's editor sends (tests/sim/edits.py), English and Chinese, as the agent reads it.
SIMULATOR_SENTENCES: dict[str, tuple[str, list[tuple[str, dict[str, str]]]]] = {
    "I've placed your 3 photos on the video track. Preview in timeline, or drag the clips to reorder them.": (
        "I've placed your 3 photos on the video track. Call get_state to see the track summary, "
        'or call generate_video with the instruction "move the clips to reorder them".',
        [STATE, generate("move the clips to reorder them")],
    ),
    "已将 3 张素材放到视频轨道。可在时间线预览，或拖拽片段调整顺序。": (
        "已将 3 张素材放到视频轨道。可调用 get_state 查看轨道摘要，或调用 generate_video（指令：“移动片段调整顺序”）。",
        [STATE, generate("移动片段调整顺序")],
    ),
    "Added background music at 35% volume. Open the audio panel to fine-tune it.": (
        "Added background music at 35% volume. Call get_state to see the music track, "
        'then call generate_video with the instruction "fine-tune the music".',
        [STATE, generate("fine-tune the music")],
    ),
    "已添加背景音乐（音量 35%）。打开音频面板可以微调。": (
        "已添加背景音乐（音量 35%）。调用 get_state 查看音乐轨道，再调用 generate_video（指令：“微调音乐”）。",
        [STATE, generate("微调音乐")],
    ),
    "Done! Click the Export button to download your video.": (
        "Done! Call export_video to render and download your video.",
        [EXPORT],
    ),
    "完成！点击导出按钮即可下载。": ("完成！调用 export_video 即可下载。", [EXPORT]),
    "Updated. Open the panel to review the change, then click Export when you're ready.": (
        "Updated. Call get_state to review the change, then call export_video when you're ready.",
        [STATE, EXPORT],
    ),
    "已更新。打开面板查看修改，准备好后点击导出。": (
        "已更新。调用 get_state 查看修改，准备好后调用 export_video。",
        [STATE, EXPORT],
    ),
    "Your clip is ready on the video track. Preview in timeline to watch it.": (
        "Your clip is ready on the video track. Call get_state to see the track summary.",
        [STATE],
    ),
    "视频片段已生成，已放到视频轨道。可在时间线预览。": (
        "视频片段已生成，已放到视频轨道。可调用 get_state 查看轨道摘要。",
        [STATE],
    ),
    "Which photo first?": ("Which photo first?", []),
    "请先回答：Which photo first?": ("请先回答：Which photo first?", []),
}


def simulator_replies() -> list[str]:
    """The replies of a whole simulated session: slideshow, music, title, tweak, a generated clip, a question."""
    photos = [edits.MediaRef(f"p{i}.jpg", "image", f"https://cdn/p{i}.jpg") for i in range(3)]
    draft, replies = edits.empty_draft(), []
    for turn, message in enumerate(["make a video", "add music", "add a title", "smoother"]):
        plan = edits.plan_edit(draft, photos, turn, message, "http://sim")
        draft = plan.draft
        replies += [plan.reply_en, plan.reply_zh]
    clip = edits.plan_edit(edits.empty_draft(), [], 0, "generate a beach", "http://sim")
    question = edits.question_plan(draft, "Which photo first?", [])
    return [*replies, clip.reply_en, clip.reply_zh, question.reply_en, question.reply_zh]


ALL_SENTENCES = SENTENCES + [(reply, *expected) for reply, expected in SIMULATOR_SENTENCES.items()]


@pytest.mark.parametrize(
    ("reply", "translated", "actions"), ALL_SENTENCES, ids=[case[0][:40] for case in ALL_SENTENCES]
)
def test_whole_sentences_read_well_after_translation(
    reply: str, translated: str, actions: list[tuple[str, dict[str, str]]]
) -> None:
    translation = translate_reply(reply)

    assert translation.text == translated
    assert [(action.tool, action.arguments) for action in translation.actions] == actions


@pytest.mark.parametrize("reply", simulator_replies())
def test_every_simulator_reply_has_its_translation_in_the_table(reply: str) -> None:
    assert reply in SIMULATOR_SENTENCES, "a new reply in tests/sim/edits.py: add how it should read"


@pytest.mark.parametrize(
    "reply", [case[0] for case in ALL_SENTENCES if any(word in case[0].lower() for word in GUI_WORDS)]
)
def test_no_gui_word_survives_translation(reply: str) -> None:
    translated = translate_reply(reply).text.lower()

    assert not [word for word in GUI_WORDS if word in translated], translated


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
    assert translation.text == (
        "Call get_state to see the music track. Call export_video. "
        "Then call get_state to see the title track, and call export_video."
    )


def test_generate_video_actions_differ_by_instruction() -> None:
    translation = translate_reply("Click Apply. Click 'Warm'. Click Apply.")

    assert [action.arguments["instruction"] for action in translation.actions] == ["Apply", "Warm"]


def test_actions_name_real_tools_and_say_why() -> None:
    tools = set(get_args(ToolName))
    for reply, *_ in ALL_SENTENCES:
        for action in translate_reply(reply).actions:
            assert action.tool in tools
            assert action.tool in action.reason
            assert ("instruction" in action.arguments) == (action.tool == "generate_video")


def test_rules_are_data_and_each_is_exercised_by_the_table() -> None:
    replies = [reply for reply, *_ in ALL_SENTENCES]
    for rule in GUI_RULES:
        assert isinstance(rule.pattern, re.Pattern)
        assert any(rule.pattern.search(reply) for reply in replies), rule


def test_matching_ignores_case() -> None:
    assert translate_reply("CLICK THE EXPORT BUTTON").text == "Call export_video"
    assert translate_reply("drag THE CLIP to the end").actions[0].arguments == {
        "instruction": "move THE CLIP to the end"
    }
