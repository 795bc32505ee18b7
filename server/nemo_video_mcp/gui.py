"""Turn the backend's GUI-minded replies ("click the Export button", "点击导出") into tool calls.

The backend's agent writes for a person in front of NemoVideo's editor; our agent has tools instead.
`translate_reply` replaces each GUI phrase (the verb and its object) with a whole clause naming the
tool, and lists the tools it points to. The phrases are data (`GUI_RULES`, `TARGET_TOOLS`), tried in
order; English and Chinese; case-insensitive. What follows a step get_state stands for ("to review",
"to fine-tune it") decides its clause (`FOLLOW_UPS`, `TOPICS`): get_state shows tracks, it neither
plays them nor edits them. Each pattern is compiled when first used, not at import: compiling all ~40
took ~20 ms of the server's start-up, before any reply had been read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

ToolName = Literal["export_video", "get_state", "generate_video", "upload_images", "get_credits", "get_job"]

TOOL_PURPOSES: dict[ToolName, str] = {
    "export_video": "export_video renders the video and returns a download link",
    "get_state": "get_state shows the tracks on the timeline",
    "generate_video": "generate_video sends the change to the editor as an instruction",
    "upload_images": "upload_images adds photos or other media to the project",
    "get_credits": "get_credits shows the credit balance",
    "get_job": "get_job follows an edit or a render still running on the server",
}


@functools.cache
def _regex(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


class NextAction(BaseModel):
    """A tool the reply points to, in place of a GUI step."""

    tool: ToolName
    reason: str = Field(description="Why, in a few words.")
    arguments: dict[str, str] = Field(default_factory=dict, description='e.g. {"instruction": "..."}')


class Translation(BaseModel):
    """The reply with GUI wording replaced by tool wording, and the tools it points to."""

    text: str
    actions: list[NextAction] = Field(description="Deduplicated, in order of appearance.")


@dataclass(frozen=True)
class GuiRule:
    """One kind of GUI phrase.

    `tool` is the default; with `by_target`, the `target` group is first looked up in `TARGET_TOOLS`.
    For generate_video, the `target` group (GUI verbs reworded) becomes the instruction.
    `replacement` is a template over `{call}`; None keeps the phrase and only adds the action.
    """

    step: str
    source: str
    tool: ToolName
    replacement: str | None = "{call}"
    by_target: bool = False
    chinese: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return _regex(self.source)


def _rule(
    step: str,
    pattern: str,
    tool: ToolName,
    *,
    replacement: str | None = "{call}",
    by_target: bool = False,
    chinese: bool = False,
) -> GuiRule:
    return GuiRule(step, pattern, tool, replacement, by_target, chinese)


# --- Pattern pieces -----------------------------------------------------------------------------

_QUOTE = r"[\"'“”‘’「」『』]?"
_OPEN_QUOTE = r"[\"'“‘「『]"
_CLOSE_QUOTE = r"[\"'”’」』]"
_ADJECTIVE = (
    r"(?:(?:(?:top|bottom|upper|lower)[- ]?(?:right|left)?(?:[- ]hand)?|right|left|blue|green|red|purple|orange"
    r"|big|large|small|main|primary|highlighted)\s+)?"
)
_WHERE = (
    r"(?:\s+(?:in|at|on)\s+the\s+(?:(?:top|bottom|upper|lower)(?:[- ]?(?:right|left))?|right|left)"
    r"(?:[- ]hand)?(?:\s+(?:corner|side))?(?:\s+of\s+the\s+(?:screen|page|window|editor|interface))?)?"
)
_CONTROL = r"(?:buttons?|icons?|options?|tabs?|menu(?:\s+items?)?|links?|toggles?|controls?|btn)"
# A verb, not the noun in "a click sound" or "the press release".
_VERB_START = r"(?<!\ba\s)(?<!\ban\s)(?<!\bthe\s)(?<!\bone\s)(?<!\bno\s)\b"
_CLICK = r"(?:(?:double|single|right)[- ]?)?click(?:ing)?(?:\s+on)?|tap(?:ping)?(?:\s+on)?"
_HIT = rf"(?:{_CLICK}|press(?:ing)?|hit(?:ting)?)"
_PRESS = rf"(?:{_HIT}|push(?:ing)?|select(?:ing)?|choos(?:e|ing)|us(?:e|ing)|go\s+to)"
_EXPORT = rf"{_QUOTE}(?:export|download|render)(?:\s+(?:video|now|mp4|file))?{_QUOTE}"
_WORD = r"[^\s\"'“”‘’「」『』.,;:!?()]+"
# The thing opened; "the timeline panel" is one, not a timeline followed by the word "panel".
_PANEL = (
    r"(?:panel|tab|sidebar|side\s+bar|menu|window|dialog|pane|drawer|inspector|library|settings|toolbar"
    r"|editor|timeline)s?"
)
_DRAG = r"drag(?:ging)?(?:[\s-]*(?:and|&|/|'n'|n)?[\s-]*drop(?:ping)?)?"
# The rest of an English clause, up to punctuation or the next GUI step.
_CLAUSE = (
    r"(?:(?!,|;|\s+(?:and\s+)?then\b|\s+and\s+(?:click|tap|press|hit|open|drag)\b|\s+(?:click|tap|press|hit)\b"
    r"|点击|然后)"
    r"[^.!?\n])*"
)
_ZH_STOP = r"，。！？、；：,.!?;:\n"
_ZH_WHERE = (
    r"(?:(?:页面|屏幕|界面|编辑器|窗口)?的?(?:右上角|左上角|右下角|左下角|右上方|左上方|顶部|底部|上方|下方|右侧|左侧"
    r"|右边|左边|上面|下面)(?:处)?的?)?"
)
_ZH_PANEL = (
    r"(?:面板|窗口|菜单|设置|侧边栏|侧栏|标签页?|页面|编辑器|素材库|媒体库|音乐库|库|时间线|时间轴|对话框|工具栏)"
)
_ZH_CONTROL = r"(?:按钮|按键|图标|选项|菜单项?|标签页?|键)"
_ZH_CLICK = r"(?:点击|单击|双击|点按|轻触|轻点|点一下|按下)(?:一下)?"
_ZH_PRESS = rf"(?:{_ZH_CLICK}|使用|通过|用|选择|选中)"
_ZH_TARGET = rf"[^{_ZH_STOP}“”\"「」『』\s]"
_ZH_CLAUSE = rf"(?:(?!然后|再点击|并点击|点击|单击|\s*\b(?:click|tap|press|hit)\b)[^{_ZH_STOP}])*"

GUI_RULES: tuple[GuiRule, ...] = (
    # The Export button, any verb: the export workflow.
    _rule(
        "Export button",
        rf"{_VERB_START}(?:{_PRESS})\s+(?:the\s+|an?\s+)?{_ADJECTIVE}{_EXPORT}(?:\s+{_CONTROL})?{_WHERE}"
        r"\s+to\s+(?:download|save|get|export)\b",
        "export_video",
        replacement="{call} to render and download",
    ),
    _rule(
        "Export button",
        rf"{_VERB_START}(?:{_PRESS})\s+(?:the\s+|an?\s+)?{_ADJECTIVE}{_EXPORT}(?:\s+{_CONTROL})?(?![\w-]){_WHERE}",
        "export_video",
    ),
    _rule(
        "Export button",
        rf"(?:\bthe\s+)?{_ADJECTIVE}{_QUOTE}\bexport{_QUOTE}\s+{_CONTROL}\b{_WHERE}",
        "export_video",
        replacement="the export_video tool",
    ),
    # Previewing in the timeline: the track summary.
    _rule(
        "timeline preview",
        r"\b(?:preview|view|see|check|watch|play(?:\s+back)?|review)\b[^.!?\n]{0,40}?\s+(?:in|on)\s+(?:the\s+|your\s+)?"
        r"(?:timeline|preview(?:\s+(?:window|panel|player|pane))?|player|canvas)\b",
        "get_state",
    ),
    _rule(
        "timeline preview",
        r"\b(?:preview|check|view|look\s+at|review)\s+(?:the\s+|your\s+)?timeline\b",
        "get_state",
    ),
    # Opening a panel: read the state (or the tool the panel is about).
    _rule(
        "open a panel",
        rf"\b(?:open(?:ing)?(?:\s+up)?|go\s+to|switch\s+to|navigate\s+to|head\s+to|expand|bring\s+up)\s+"
        rf"(?:the\s+|your\s+)?{_QUOTE}(?P<target>(?:{_WORD}\s+){{0,3}}?{_QUOTE}\s*{_PANEL}(?:\s+{_PANEL})?)\b{_WHERE}",
        "get_state",
        by_target=True,
    ),
    # Dragging files into the editor's upload area is an upload, not an edit.
    _rule(
        "drag and drop",
        rf"{_VERB_START}(?:{_DRAG}|drop(?:ping)?)\s+(?:(?:your|the|some|more|any|new)\s+)?"
        r"(?:photos?|images?|pictures?|files?|media|videos?|music|songs?|audio)\s+(?:here|in\s+here"
        r"|(?:in|into|onto|to)\s+(?:(?:this|the)\s+)?(?:window|page|chat|upload(?:\s+(?:area|box|zone|field|section))?"
        r"|drop\s+zone|media(?:\s+(?:library|area|panel))?|library|import\s+area|editor|app|workspace|browser))\b",
        "upload_images",
    ),
    # A bare "drag and drop" names nothing inside the editor to move: it is how files get in.
    _rule(
        "drag and drop",
        rf"{_VERB_START}(?:(?:just|simply)\s+)?(?:use\s+)?{_DRAG}(?=\s*(?:[.!;,]|$))",
        "upload_images",
    ),
    # Drag and drop: the edit, sent as an instruction.
    _rule(
        "drag and drop",
        rf"{_VERB_START}(?:(?:just|simply)\s+)?(?:use\s+)?{_DRAG}\s+(?:to|in\s+order\s+to)\s+(?P<target>\w{_CLAUSE})",
        "generate_video",
    ),
    _rule(
        "drag and drop",
        rf"{_VERB_START}(?P<target>(?:{_DRAG}|drop(?:ping)?)\s+"
        r"(?:the|your|it|them|this|that|these|those|a|an|each|all|one|clips?|photos?|images?|pictures?|files?"
        rf"|videos?|music|text|titles?)\b{_CLAUSE})",
        "generate_video",
    ),
    # Any other button or control: the closest tool, else the edit named by the button.
    _rule(
        "click {target}",
        rf"{_VERB_START}(?:{_PRESS})\s+(?:the\s+|an?\s+)?{_ADJECTIVE}{_QUOTE}(?P<target>{_WORD}(?:\s+{_WORD}){{0,3}}?){_QUOTE}"
        rf"\s+{_CONTROL}(?![\w-]){_WHERE}",
        "generate_video",
        by_target=True,
    ),
    _rule(
        "click {target}",
        rf"{_VERB_START}(?:{_HIT})\s+(?:the\s+)?{_ADJECTIVE}{_OPEN_QUOTE}(?P<target>[^\"'”’」』\n]{{1,40}}){_CLOSE_QUOTE}"
        rf"(?:\s+{_CONTROL}(?![\w-]))?{_WHERE}",
        "generate_video",
        by_target=True,
    ),
    _rule(
        "click {target}",
        rf"{_VERB_START}(?:{_CLICK})\s+(?:the\s+)?(?-i:(?P<target>[A-Z][\w-]*(?:\s+[A-Z][\w-]*){{0,3}}))(?![\w-]){_WHERE}",
        "generate_video",
        by_target=True,
    ),
    _rule(
        "click {target}",
        rf"{_VERB_START}(?:{_CLICK})\s+(?:the\s+)?(?P<target>[^.,;:!?\n]{{1,40}}?)"
        r"(?=\s+(?:to|and|then|so|for|if|when)\b|\s*[.,;:!?\n]|$)",
        "generate_video",
        by_target=True,
    ),
    _rule(
        "download",
        r"\bdownload\b(?=\s+(?:the|your|this)\s+(?:final\s+|finished\s+|edited\s+|new\s+|rendered\s+)?"
        r"(?:video|clip|film|movie|mp4|result|file|export)s?\b|\s+it\b)",
        "export_video",
        replacement=None,
    ),
    # Chinese.
    _rule(
        "Export button",
        rf"{_ZH_PRESS}\s*{_ZH_WHERE}[“\"「『]?(?:导出|下载)(?:视频)?[”\"」』]?{_ZH_CONTROL}?",
        "export_video",
        chinese=True,
    ),
    _rule("Export button", rf"{_ZH_WHERE}[“\"「『]?导出[”\"」』]?{_ZH_CONTROL}", "export_video", chinese=True),
    _rule(
        "timeline preview",
        r"(?:(?:在|于)?(?:时间线|时间轴|预览窗口|预览区)(?:上|中|里)?(?:预览|查看|播放)|预览(?:一下)?(?:时间线|时间轴))"
        r"(?:一下)?(?:效果)?",
        "get_state",
        chinese=True,
    ),
    _rule(
        "open a panel",
        rf"打开\s*{_ZH_WHERE}[“\"「『]?(?P<target>{_ZH_TARGET}{{0,10}}?[”\"」』]?{_ZH_PANEL}{_ZH_PANEL}?)",
        "get_state",
        by_target=True,
        chinese=True,
    ),
    _rule(
        "drag and drop",
        rf"(?:(?:将|把)[^{_ZH_STOP}]{{1,10}}?)?(?:拖拽|拖动|拖放|拖曳|拖入|拖到|拖至)(?:到|至|进)?"
        r"(?:此处|这里|上传区域?|上传框|素材库|媒体库)(?:中|里|内)?",
        "upload_images",
        chinese=True,
    ),
    _rule(
        "drag and drop",
        rf"(?<![将把])(?:拖拽|拖放|拖入)(?:上传)?(?=[{_ZH_STOP}]|$)",
        "upload_images",
        chinese=True,
    ),
    _rule(
        "drag and drop",
        rf"(?P<target>(?:(?:将|把)[^{_ZH_STOP}]{{1,15}}?)?(?:拖拽|拖动|拖放|拖曳|拖入|拖到|拖至){_ZH_CLAUSE})",
        "generate_video",
        chinese=True,
    ),
    _rule(
        "click {target}",
        rf"{_ZH_PRESS}\s*{_ZH_WHERE}[“\"「『]?(?P<target>{_ZH_TARGET}{{1,12}}?)[”\"」』]?{_ZH_CONTROL}",
        "generate_video",
        by_target=True,
        chinese=True,
    ),
    _rule(
        "click {target}",
        rf"{_ZH_CLICK}\s*{_ZH_WHERE}[“\"「『]?(?P<target>{_ZH_TARGET}{{1,12}}?)[”\"」』]?"
        rf"(?:{_ZH_CONTROL}|(?=即可|就|后|然后|并|来|以|再|[{_ZH_STOP}]|$))",
        "generate_video",
        by_target=True,
        chinese=True,
    ),
    _rule("download", r"(?:导出|下载)(?:视频|成片|作品)?", "export_video", replacement=None, chinese=True),
)
"""Tried in this order; the earliest phrase in the text wins, and on a tie the earlier rule."""

_TARGET_PATTERNS: tuple[tuple[str, ToolName], ...] = (
    (r"\b(?:export|download|render|share|publish)|导出|下载|渲染|分享|发布", "export_video"),
    (
        r"\b(?:upload|import|add\s+(?:media|photos?|images?|pictures?|files?))|media\s+library"
        r"|上传|导入|添加(?:素材|图片|照片|文件)|素材库|媒体库",
        "upload_images",
    ),
    (
        r"\b(?:credits?|balance|points|top[- ]?up|buy|subscribe|upgrade)\b|积分|余额|充值|点数|购买|升级",
        "get_credits",
    ),
    (
        r"\b(?:timeline|tracks?|preview|play|playback|status|project|layers?|save)\b"
        r"|^(?:here|it|this|that|there|them)$|时间线|时间轴|轨道|预览|播放|项目|图层|状态|保存",
        "get_state",
    ),
)
TARGET_TOOLS: tuple[tuple[str, ToolName], ...] = _TARGET_PATTERNS
"""What a button or panel is about (its label, in the `target` group) -> the closest tool."""

INSTRUCTION_WORDS: tuple[tuple[str, str], ...] = (
    (rf"\b{_DRAG}\b|\bdrop(?:ping)?\b", "move"),
    (r"拖拽|拖动|拖放|拖曳", "移动"),
    (r"拖(?=入|到|至)", "移"),
)
"""GUI verbs rewritten inside a generate_video instruction ("drag the clip" -> "move the clip")."""


@dataclass(frozen=True)
class Topic:
    """What an opened panel is about, named as the part of the timeline get_state shows for it."""

    source: str
    thing: str
    track: str
    thing_zh: str
    track_zh: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _regex(self.source)


TOPICS: tuple[Topic, ...] = (
    Topic(
        r"\b(?:audio|music|sound|bgm)\b|音频|音乐|声音|配乐",
        "the music",
        "the music track",
        "音乐",
        "音乐轨道",
    ),
    Topic(
        r"\b(?:text|titles?|captions?|subtitles?)\b|文字|字幕|标题|文本",
        "the title",
        "the title track",
        "标题",
        "标题轨道",
    ),
    Topic(
        r"\b(?:video|clips?|photos?|images?)\b|视频|片段|图片|照片",
        "the video",
        "the video track",
        "视频",
        "视频轨道",
    ),
)
"""A panel's label (the `target` group) -> its topic; any other panel shows the whole timeline."""

WHOLE_TIMELINE = Topic("", "the timeline", "the track summary", "时间线", "轨道摘要")


@dataclass(frozen=True)
class FollowUp:
    """What a reply says right after a step get_state stands for, and the clause that replaces both.

    `pattern` is matched where the step ends; when `consumes`, its text becomes part of the clause.
    `replacement` is a template over `{call}`, `{track}` (the topic's), `{verb}` (the `verb` group)
    and `{edit}`: the `edit` group, an edit get_state cannot make, as a generate_video call.
    """

    source: str
    replacement: str
    consumes: bool = True
    chinese: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return _regex(self.source)


_VIEW = r"(?:review|check|see|view|inspect|look\s+at|confirm|verify|compare|find|read)"
_ZH_VIEW = r"(?:查看|检查|确认|浏览|看看|核对|对比)"
_ZH_EDIT = r"(?:微调|调整|修改|编辑|设置|更改|替换|删除|添加|选择)"

FOLLOW_UPS: tuple[FollowUp, ...] = tuple(
    FollowUp(pattern, replacement, consumes, chinese)
    for pattern, replacement, consumes, chinese in (
        # get_state shows the tracks; it does not play them.
        (
            r"\s+to\s+(?:(?:watch|play|preview|hear|listen\s+to)(?:\s+(?:it|them|this|that|the\s+(?:video|clip|result|change)s?))?"
            r"|(?:see|view)\s+(?:it|them|this|that))\b",
            "{call} to see {track}",
            True,
            False,
        ),
        (rf"\s+to\s+(?P<verb>{_VIEW})(?=\s*(?:[.,;:!?)\n]|$))", "{call} to {verb} {track}", True, False),
        (rf"(?=\s+to\s+{_VIEW}\b)", "{call}", False, False),
        (rf"\s+to\s+(?P<edit>\w{_CLAUSE})", "{call} to see {track}, then {edit}", True, False),
        ("", "{call} to see {track}", False, False),
        (rf"(?=(?:可以|可|来|以)?{_ZH_VIEW})", "{call}", False, True),
        (
            rf"(?:即可|就能|就可以|可以|可|来|以便?)?(?P<edit>{_ZH_EDIT}{_ZH_CLAUSE})",
            "{call} 查看{track}，再{edit}",
            True,
            True,
        ),
        ("", "{call} 查看{track}", False, True),
    )
)
"""Tried in this order, in the reply's language; the last of each language always matches."""

_BARE_ZH_EDIT = _ZH_EDIT
_IT = r"\b(?:it|them)\b"


def translate_reply(text: str) -> Translation:
    """Rewrite every GUI step in `text` into tool wording; text without one comes back unchanged."""
    pieces: list[str] = []
    actions: list[NextAction] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    position = 0
    pending: dict[int, re.Match[str] | None] = {}
    while (found := _next_phrase(text, position, pending)) is not None:
        rule, match = found
        clause, step_actions, end = _rewrite(rule, match, text)
        for action in step_actions:
            key = (action.tool, tuple(sorted(action.arguments.items())))
            if key not in seen:
                seen.add(key)
                actions.append(action)
        pieces.append(text[position : match.start()])
        pieces.append(clause)
        position = end
    pieces.append(text[position:])
    return Translation(text="".join(pieces), actions=actions)


def _next_phrase(
    text: str, position: int, pending: dict[int, re.Match[str] | None]
) -> tuple[GuiRule, re.Match[str]] | None:
    """The earliest GUI phrase at or after `position` (ties go to the earlier rule)."""
    best: tuple[GuiRule, re.Match[str]] | None = None
    for index, rule in enumerate(GUI_RULES):
        if index not in pending or ((stale := pending[index]) is not None and stale.start() < position):
            pending[index] = _search_non_empty(rule.pattern, text, position)
        match = pending[index]
        if match is not None and (best is None or match.start() < best[1].start()):
            best = (rule, match)
    return best


def _search_non_empty(pattern: re.Pattern[str], text: str, position: int) -> re.Match[str] | None:
    while (match := pattern.search(text, position)) is not None and match.end() == match.start():
        position = match.start() + 1
    return match


def _rewrite(rule: GuiRule, match: re.Match[str], text: str) -> tuple[str, list[NextAction], int]:
    """The clause that replaces the phrase, the actions it names, and where the replaced text ends."""
    action = _action_for(rule, match)
    if rule.replacement is None:
        return match.group(0), [action], match.end()
    actions, end = [action], match.end()
    call = _call(action, rule.chinese)
    if action.tool == "get_state" and rule.replacement == "{call}":
        topic = next((topic for topic in TOPICS if topic.pattern.search(_target(match))), WHOLE_TIMELINE)
        follow_up, found = next(
            (follow_up, found)
            for follow_up in FOLLOW_UPS
            if follow_up.chinese == rule.chinese and (found := follow_up.pattern.match(text, end))
        )
        edit = ""
        if found.groupdict().get("edit"):
            actions.append(_edit_action(rule, found["edit"], topic))
            edit = _call(actions[-1], rule.chinese)
        track = topic.track_zh if rule.chinese else topic.track
        clause = follow_up.replacement.format(call=call, track=track, verb=found.groupdict().get("verb"), edit=edit)
        end = found.end() if follow_up.consumes else end
    else:
        clause = rule.replacement.format(call=call)
    return _fitted(clause, match, text, end), actions, end


def _action_for(rule: GuiRule, match: re.Match[str]) -> NextAction:
    target = _target(match)
    tool = rule.tool
    if rule.by_target and target:
        tool = next((tool for pattern, tool in TARGET_TOOLS if _regex(pattern).search(target)), rule.tool)
    arguments: dict[str, str] = {}
    if tool == "generate_video" and target:
        arguments["instruction"] = _instruction(target)
    step = rule.step.format(target=target if target and not rule.chinese else "a button")
    return NextAction(tool=tool, reason=_reason(step, tool), arguments=arguments)


def _edit_action(rule: GuiRule, edit: str, topic: Topic) -> NextAction:
    """The edit a reply sends the user to a panel for ("to fine-tune it"), as an instruction."""
    edit = " ".join(edit.split())
    if topic is not WHOLE_TIMELINE:
        edit = (
            f"{edit}{topic.thing_zh}" if _regex(_BARE_ZH_EDIT).fullmatch(edit) else _regex(_IT).sub(topic.thing, edit)
        )
    step = rule.step.format(target="a button")
    return NextAction(
        tool="generate_video", reason=_reason(step, "generate_video"), arguments={"instruction": _instruction(edit)}
    )


def _instruction(words: str) -> str:
    for pattern, word in INSTRUCTION_WORDS:
        words = _regex(pattern).sub(word, words)
    return words


def _reason(step: str, tool: ToolName) -> str:
    return f"Instead of the GUI step '{step}': {TOOL_PURPOSES[tool]}."


def _target(match: re.Match[str]) -> str:
    target = match.groupdict().get("target") or ""
    return " ".join(target.strip(" \t\"'“”‘’「」『』").split())


def _call(action: NextAction, chinese: bool) -> str:
    instruction = action.arguments.get("instruction")
    if chinese:
        return f"调用 {action.tool}（指令：“{instruction}”）" if instruction else f"调用 {action.tool}"
    return f'call {action.tool} with the instruction "{instruction}"' if instruction else f"call {action.tool}"


def _fitted(clause: str, match: re.Match[str], text: str, end: int) -> str:
    """The clause with the phrase's capital letter, and spaced from the words around it."""
    if match.group(0)[:1].isupper() and clause[:1].islower() and not clause.startswith(tuple(TOOL_PURPOSES)):
        clause = clause[0].upper() + clause[1:]
    before, after = text[match.start() - 1 : match.start()], text[end : end + 1]
    if _is_word(before) and before.isascii() and clause[:1].isascii():
        clause = " " + clause
    if after.isalnum() and _is_word(clause[-1]) and clause[-1].isascii():
        clause += " "
    return clause


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
