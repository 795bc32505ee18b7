"""The words of an edit, English and Chinese, as tables: what a phrase means is data, not code.

Each table maps a regular expression (matched on the lower-cased instruction) to a value. The
parser (`render/changes.py`) takes the earliest mention in a table, and blanks what it has read so
that one phrase means one thing. Chinese has no spaces, so its entries carry no word boundaries.
Building blocks used inside patterns: `{NUM}` a number (digits, English or Chinese numerals),
`{SECONDS}`, `{MINUTES}`, `{PHOTO}` a photo reference ("photo 3", "the third photo", "第三张"),
`{Q}` a quoted text (replaced by a placeholder before matching), `{MUSIC}` a word for the music.
"""

from __future__ import annotations

import re
from typing import Final

from nemo_video_mcp.models import Aspect, Fit, Look, Motion, Transition

NUMBER_WORDS: Final[dict[str, int]] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
CHINESE_DIGITS: Final[dict[str, int]] = {
    "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
ORDINALS: Final[dict[str, int]] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "1st": 1, "2nd": 2, "3rd": 3, "last": -1,
    "final": -1,
}  # fmt: skip
"""-1 is the last photo."""

_WORD_NUMBERS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_CHINESE_NUMBER = "[零一二两三四五六七八九十]+"
NUM = rf"(?:(?<![\d.])\d{{1,3}}(?:\.\d+)?|\b(?:{_WORD_NUMBERS})\b|{_CHINESE_NUMBER})"
SECONDS = r"(?:s|sec|secs|second|seconds)\b|秒钟?"
MINUTES = r"(?:min|mins|minute|minutes)\b|分钟"
_NOUN = r"(?:photo|image|picture|pic|slide|shot|still|one)"
_ORDINAL = "|".join(sorted(ORDINALS, key=len, reverse=True))
PHOTO = (
    rf"(?:(?:the\s+)?(?:{_ORDINAL})\s+{_NOUN}\b"
    rf"|(?:the\s+)?{_NOUN}s?\s*(?:#|no\.?\s*|number\s+)?\d{{1,3}}\b"
    rf"|第\s*(?:\d{{1,3}}|{_CHINESE_NUMBER})\s*张(?:照片|图片|图)?|最后一张(?:照片|图片|图)?)"
)
Q = r"⟦\d+⟧"
MUSIC = r"(?:background\s+music|music|song|soundtrack|bgm|audio|背景音乐|配乐|音乐)"
TRANSITION_WORDS = r"(?:cross-?fades?|fades?|dissolves?|wipes?|slides?|transitions?)\b"


def expand(pattern: str) -> str:
    """`pattern` with its building blocks ({NUM}, {PHOTO}, ...) written out."""
    blocks = {"NUM": NUM, "SECONDS": SECONDS, "MINUTES": MINUTES, "PHOTO": PHOTO, "Q": Q, "MUSIC": MUSIC}
    for name, block in blocks.items():
        pattern = pattern.replace("{" + name + "}", f"(?:{block})")
    return pattern


def number_of(word: str) -> float:
    """The value of a number as the instruction wrote it: "12", "2.5", "twelve", "十二", "三"."""
    word = word.strip()
    if word in NUMBER_WORDS:
        return float(NUMBER_WORDS[word])
    if re.fullmatch(_CHINESE_NUMBER, word):
        if "十" in word:
            tens, _, ones = word.partition("十")
            return float((CHINESE_DIGITS.get(tens, 1) if tens else 1) * 10 + (CHINESE_DIGITS.get(ones, 0)))
        return float("".join(str(CHINESE_DIGITS[c]) for c in word))
    return float(word)


def photo_number(reference: str) -> int:
    """The 1-based slot a photo reference names; -1 for "the last photo"."""
    for word, value in ORDINALS.items():
        if re.search(rf"(?<![\w]){re.escape(word)}\s+{_NOUN}", reference):
            return value
    if "最后" in reference:
        return -1
    found = re.search(rf"\d{{1,3}}|{_CHINESE_NUMBER}", reference)
    return int(number_of(found.group(0))) if found else 0


ASPECTS: Final[list[tuple[str, Aspect]]] = [
    (r"\b9\s*[:x/]\s*16\b|\bvertical\b|\bportrait\b|\btik\s*tok\b|\breels?\b|\bshorts\b|竖屏|竖版|竖向|抖音", "9:16"),
    (r"\b1\s*[:x/]\s*1\b|\bsquare\b|\binstagram post\b|正方形|方形|1比1", "1:1"),
    (r"\b16\s*[:x/]\s*9\b|\bhorizontal\b|\blandscape\b|\bwidescreen\b|\byoutube\b|横屏|横版|横向|宽屏", "16:9"),
]
TRANSITIONS: Final[list[tuple[str, Transition]]] = [
    (
        r"\bno transitions?\b|\bhard cuts?\b|\bjust cuts?\b|\bstraight cuts?\b|\bwithout transitions?\b"
        r"|无转场|不要转场|硬切|直接切",
        "none",
    ),
    (r"\bdissolves?\b|溶解", "dissolve"),
    (r"\bwipes?\b|擦除|擦拭", "wipe"),
    (r"\bslides?\b|\bslide-?in\b|\bswipes?\b|\bpush(?:es)?\b|滑动|推移|滑入", "slide"),
    (r"\bcross-?fades?\b|\bfades?\b|\bfading\b|淡入淡出|交叉淡化|淡化|渐变", "fade"),
]
MOTIONS: Final[list[tuple[str, Motion]]] = [
    (
        r"\bno (?:motion|movement|zoom|ken ?burns|animation)\b|\bstatic\b|\bwithout (?:motion|zoom)\b"
        r"|静态|不要动画|无动画",
        "static",
    ),
    (r"\bken ?burns\b|\bzoom(?:s|ing)?\b|\bpan(?:s|ning)?\b|\bmotion\b|\bmovement\b|缩放|推拉|动态|运镜", "kenburns"),
]
FITS: Final[list[tuple[str, Fit]]] = [
    (r"\bsmart (?:crop\w*|fram\w*|fit)\b|\bkeep (?:the )?subjects?\b|智能裁剪|保留主体", "smart"),
    (
        r"\bfill (?:the )?(?:whole )?(?:frame|screen)\b|\bcrop(?:ped)? to (?:fill|fit)\b|\bfull[- ]?bleed\b"
        r"|填满|铺满",
        "cover",
    ),
    (r"(?<!no )(?<!without )\bblack (?:bars|borders)\b|\bletter-?box\w*|\bpillar-?box\w*|黑边", "contain"),
    (r"\bblur(?:red|ry)? (?:background|backdrop|fill|sides|edges)\b|模糊背景", "blur"),
]
LOOKS: Final[list[tuple[str, Look]]] = [
    (
        r"\bno (?:colou?r )?(?:filter|look)\b|\b(?:remove|drop) the (?:filter|look)\b|\b(?:original|normal|full)"
        r" colou?rs?\b|去掉滤镜|原色",
        "none",
    ),
    (r"\bblack[- ]and[- ]white\b|\bb ?& ?w\b|\bb/w\b|\bmonochrome\b|\bgr[ae]yscale\b|黑白", "bw"),
    (r"\bsepia\b|\bvintage\b|\bretro\b|\bold[- ]fashioned\b|复古|怀旧|老照片", "sepia"),
    (r"\bwarm(?:er)? (?:tones?|look|colou?rs?|filter|feel)\b|\bwarmer\b|暖色调?|暖调", "warm"),
    (r"\bcool(?:er)? (?:tones?|look|colou?rs?|filter|feel)\b|\bcooler\b|\bcold (?:tones?|look)\b|冷色调?|冷调", "cool"),
]
FPS_RE: Final = expand(r"({NUM})\s*(?:fps\b|frames? (?:per|a) second\b|帧(?:每秒|/秒)?)")
OFFERED_FPS: Final = (24, 30, 60)

START_OVER: Final = (
    r"\bstart (?:over|again|afresh)\b|\bfrom scratch\b|\bbegin again\b|\bfresh start\b|重新开始|从头开始|从零开始|重做"
)
REVERSE: Final = r"\breverse(?:d)?(?: the)?(?: order)?\b|\bbackwards?\b|\blast (?:image|photo) first\b|倒序|反过来"
SHUFFLE: Final = (
    r"\bshuffle(?:d)?\b(?:[^;.]*?\bseed\s+(?P<seed>\d{1,9}))?|\brandomi[sz]e\b|\brandom order\b|\bmix (?:them|it) up\b"
    r"|随机(?:顺序|排列)?|打乱"
)
FASTER: Final = (
    r"\bfaster\b|\bquicker\b|\bspeed (?:it )?up\b|\bsnappier\b|\bshorter\b|\bpick up the pace\b|快一点|快点|加快|节奏快"
)
SLOWER: Final = r"\bslower\b|\bslow (?:it )?down\b|\blonger\b|\bmore slowly\b|慢一点|慢点|放慢|节奏慢"
SPEED_FACTOR: Final = 0.75
"""`faster` multiplies each photo's time by this; `slower` divides by it."""

REMOVE_MUSIC: Final = expand(
    r"\b(?:remove|delete|drop|no|without|mute|turn off|lose|get rid of|kill)\s+(?:the\s+|any\s+)?{MUSIC}"
    r"|\b(?:don'?t|do not)\s+(?:add|use|want|put|play)\s+(?:any\s+|the\s+)?{MUSIC}"
    r"|\bsilent\b|\bno sound\b|(?:去掉|删除|删掉|不要|关掉){MUSIC}|静音"
)
MUSIC_VOLUME: Final = expand(
    r"{MUSIC}\s*(?:volume\s*)?(?:at|to|=|:|of)?\s*(?P<percent>\d{1,3})\s*%"
    r"|(?P<percent2>\d{1,3})\s*%\s*(?:volume|{MUSIC})"
    r"|\bvolume\s*(?:at|to|=|:|of)?\s*(?P<percent3>\d{1,3})\s*%"
    r"|音量\s*(?:调到|调成|设为|设成|改为|改成|为|到)?\s*(?P<percent4>\d{1,3})\s*%?"
)
QUIETER: Final = expand(
    r"\b(?:quieter|softer|lower)\s+{MUSIC}|{MUSIC}\s+(?:quieter|softer|lower|down)\b"
    r"|\b(?:turn|bring)\s+(?:the\s+)?{MUSIC}\s+down\b|\blower the (?:music )?volume\b|\bturn (?:the )?volume down\b"
    r"|小声|音量(?:小|低)一?点|调低音量|降低音量"
)
LOUDER: Final = expand(
    r"\blouder\s+{MUSIC}|{MUSIC}\s+(?:louder|up)\b|\b(?:turn|bring)\s+(?:the\s+)?{MUSIC}\s+up\b"
    r"|\braise the (?:music )?volume\b|\bturn (?:the )?volume up\b|\blouder\b|大声|音量(?:大|高)一?点|调高音量|提高音量"
)
VOLUME_STEP: Final = 0.6
"""`quieter music` multiplies the volume by this; `louder` divides by it."""
MUSIC_FADE: Final = expand(
    r"(?:\bfade (?:the\s+)?{MUSIC} (?P<way>in|out)\b|\bfade[- ](?P<way2>in|out) (?:the\s+|of the\s+)?{MUSIC}"
    r"|{MUSIC} fades? (?P<way3>in|out)\b|{MUSIC}(?P<way4>淡入|淡出))"
    r"(?:\s*(?:over|for|in)?\s*(?P<seconds>{NUM})\s*{SECONDS})?"
)
MUSIC_LOOP: Final = expand(r"\bloop (?:the\s+)?{MUSIC}|{MUSIC} (?:on (?:a )?)?loop\b|\brepeat the {MUSIC}|循环播放")
MUSIC_ONCE: Final = expand(r"\b(?:don'?t|do not|no) loop\w*|\bplay (?:the\s+)?{MUSIC} once\b|不要循环")
ADD_MUSIC: Final = expand(r"\b{MUSIC}\b|{MUSIC}")
MUSIC_FADE_S: Final = 1.5
"""A music fade asked for without its length."""

TITLE_QUOTED: Final = expand(
    r"(?:\btitled?|\bcall(?:ed)?(?: it)?|\bnamed?|\bheading|标题(?:是|为|改为|改成|叫)?|片名)"
    r"\s*(?:is|to|as|:|=)?\s*({Q})"
)
TITLE_BARE: Final = (
    r"(?:\b(?:title|caption|heading)\s*[:=]|\b(?:titled|called|captioned)\s|\bthe title(?: is| to)?\s"
    r"|\b(?:change|set|rename) the title to\s)\s*(?!and\b|with\b|⟦)([^,.;!?\n⟦]+?)\s*(?:$|[,.;!?\n]|\band\b|\bwith\b)"
)
"""An unquoted title, on the original text (its case kept): `titled Summer Trip`, `title: Our Day`."""
REMOVE_TITLE: Final = r"\b(?:remove|delete|drop|no|without|lose|get rid of)\s+(?:the\s+)?title\b|(?:去掉|删除|不要)标题"
CAPTION: Final = expand(
    r"\b(?:caption|label|subtitle)\s+(?:on\s+)?(?P<photo>{PHOTO})\s*(?:with|as|:|saying)?\s*(?P<q>{Q})"
    r"|\b(?:add|put|write|place|show)\s+(?:the\s+)?(?:text|caption|words?\s+)?\s*(?P<q2>{Q})\s*"
    r"(?:on|to|over|under|for|onto)\s+(?P<photo2>{PHOTO})"
    r"|(?P<q3>{Q})\s*(?:on|over|for|onto)\s+(?P<photo3>{PHOTO})"
    r"|(?:在|给)?\s*(?P<photo4>{PHOTO})\s*上?\s*(?:加上?|添加|写上?|显示)\s*(?:字幕|文字)?\s*(?P<q4>{Q})"
)
END_CARD: Final = expand(
    r"\b(?:end|finish|close)\s+(?:it\s+|the video\s+)?with\s+(?:an?\s+)?(?:end card\s+)?(?:saying\s+)?(?P<q>{Q})"
    r"|\b(?:end card|outro card|closing card|ending)\s*(?:saying|:|with|of)?\s*(?P<q2>{Q})"
    r"|(?:结尾|片尾)\s*(?:加上?|写|显示|是)?\s*(?P<q3>{Q})"
)
REMOVE_CAPTION: Final = expand(
    r"\b(?:remove|delete|drop)\s+(?:the\s+)?caption\s+(?:on|from)\s+(?P<photo>{PHOTO})"
    r"|\b(?:remove|delete|drop)\s+(?:all\s+)?(?:the\s+)?(?:captions|texts?)\b|(?:去掉|删除)字幕"
)
REMOVE_END_CARD: Final = (
    r"\b(?:remove|delete|drop|no)\s+(?:the\s+)?(?:end card|outro card|closing card)\b|(?:去掉|删除)片尾"
)

REMOVE_PHOTO: Final = expand(
    r"\b(?:remove|delete|drop)\s+(?:the\s+)?(?:photos|images|pictures|slides)\s+"
    r"(?P<list>\d{1,3}(?:\s*(?:,|and|&)\s*\d{1,3})+)"
    r"|(?:\b(?:remove|delete|drop|cut|take out|get rid of|lose)\s+|删除|删掉|去掉|去除)\s*(?P<photo>{PHOTO})"
)
MOVE_PHOTO: Final = expand(
    r"\b(?:move|put|place)\s+(?P<photo>{PHOTO})\s+(?:to\s+)?(?:the\s+)?"
    r"(?:(?P<start>start|beginning|front|first)|(?P<end>end|last)|position\s+(?P<to>\d{1,3}))\b"
)
SWAP_PHOTOS: Final = expand(
    r"\bswap\s+(?P<a>{PHOTO})\s+(?:and|with)\s+(?P<b>{PHOTO})"
    r"|\bswap\s+(?:the\s+)?(?:photos|images|pictures)\s+(?P<a2>\d{1,3})\s+and\s+(?P<b2>\d{1,3})"
)
_ANY_LOOK = "|".join(pattern for pattern, look in LOOKS if look != "none")
PHOTO_LOOK: Final = expand(
    r"(?P<photo>{PHOTO})\s+(?:in\s+)?(?P<look>LOOK)|(?P<look2>LOOK)\s+(?:on|for)\s+(?P<photo2>{PHOTO})"
).replace("LOOK", _ANY_LOOK)
PHOTO_DURATION: Final = expand(
    r"(?P<photo>{PHOTO})\s*(?:for|to|at|lasts?|:|last)?\s*(?P<seconds>{NUM})\s*-?\s*(?:{SECONDS})"
    r"|(?P<seconds2>{NUM})\s*-?\s*(?:{SECONDS})\s+(?:for|on)\s+(?P<photo2>{PHOTO})"
)
PER_PHOTO: Final = expand(
    r"({NUM})\s*-?\s*(?:{SECONDS})\s*(?:per|each|for each|an?|a piece)\s*(?:image|photo|picture|slide|still|shot)s?\b"
    r"|\beach (?:image|photo|picture|slide) (?:for |lasts? |at )?({NUM})\s*-?\s*(?:{SECONDS})"
    r"|每张(?:照片|图片|图)?\s*({NUM})\s*(?:{SECONDS})"
)
TRANSITION_LENGTH: Final = expand(r"({NUM})\s*-?\s*(?:{SECONDS})(?=\s*(?:long\s+)?" + TRANSITION_WORDS + ")")
TOTAL_MINUTES: Final = expand(r"({NUM})\s*-?\s*(?:{MINUTES})")
TOTAL_SECONDS: Final = expand(r"({NUM})\s*-?\s*(?:{SECONDS})")

UNSUPPORTED: Final[list[str]] = [
    r"slow[- ]?mo(?:tion)?", r"time[- ]?lapse", r"voice[- ]?overs?", r"narrat\w*", r"subtitles?", r"stickers?",
    r"emojis?", r"logos?", r"watermarks?", r"3d", r"beat[- ]?sync\w*", r"on the beat", r"sound effects?", r"sfx",
    r"split[- ]screen", r"picture[- ]in[- ]picture", r"green ?screen", r"4k", r"hdr", r"stabili[sz]\w*",
    r"upscal\w*", r"glitch\w*", r"colou?r grad\w*", r"colou?r correct\w*", r"brightness", r"contrast",
    r"saturat\w*", r"gifs?", r"lower thirds?", r"ai", r"intro", r"outro", r"credits",
    r"zoom transitions?", r"spin\w*", r"reverse playback", r"play (?:it )?backwards",
]  # fmt: skip
UNSUPPORTED_RE: Final = re.compile(
    r"\b(?:" + "|".join(UNSUPPORTED) + r")\b|慢动作|延时摄影|配音|旁白|解说|贴纸|表情包?|水印|特效|字幕"
)
"""Wishes the local engine cannot do; each is reported by the words that matched, never the whole clause."""

QUOTED_RE: Final = re.compile(
    r'"([^"]+)"|“([^”]+)”|«([^»]+)»|„([^“”]+)[“”]|「([^」]+)」|『([^』]+)』|‘([^’]+)’|(?<!\w)\'(.+?)\'(?!\w)'
)
"""A quoted text in any quote style; the marks are not part of the text."""
