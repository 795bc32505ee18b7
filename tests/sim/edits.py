"""What the simulated agent does with one edit message: a pure function from (draft, media, turn) to a plan.

The draft grows turn by turn like the real one seems to: first a video track (tt 0) from the uploads
or a generated clip, then a BGM track (tt 1), then a title (tt 7), then small tweaks. Every draft and
segment carries keys no client knows (`fx`, `x_future`, ...) so tests can check they survive.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

IMAGE_MS = 3000
CLIP_MS = 5000
TITLE_MS = 3000
DEFAULT_TITLE = "Urban Dreams"
BGM_NAME = "Lo-fi"


@dataclass(frozen=True)
class MediaRef:
    """An uploaded file as the agent sees it."""

    filename: str
    file_type: str
    url: str
    duration: float | None = None


@dataclass(frozen=True)
class ToolStep:
    name: str
    args: dict[str, Any]
    response: dict[str, Any]
    long_running: bool = False


@dataclass
class EditPlan:
    thought: str
    steps: list[ToolStep]
    draft: dict[str, Any]
    generated_media: list[dict[str, Any]] = field(default_factory=list)
    reply_en: str = ""
    reply_zh: str = ""
    clips: int = 0
    question: dict[str, Any] | None = None  # the ask_question args when the turn only asks

    def cost(self, edit_cost: float, clip_cost: float) -> float:
        if self.question is not None:
            return 0
        return self.clips * clip_cost if self.clips else edit_cost


def empty_draft() -> dict[str, Any]:
    return {"t": [], "d": 0, "m": {"width": 1080, "height": 1920, "fps": 30}, "x_future": 1}


def wants_chinese(message: str, language: str | None) -> bool:
    return bool(language and language.lower().startswith("zh")) or bool(re.search(r"[\u4e00-\u9fff]", message))


def quoted_text(message: str) -> str | None:
    match = re.search(r"[\"“「『']([^\"”」』']{1,80})[\"”」』']", message)
    return match.group(1).strip() if match else None


def plan_edit(
    draft: dict[str, Any],
    media: list[MediaRef],
    turn: int,
    message: str,
    base_url: str,
    *,
    answer_to: str | None = None,
) -> EditPlan:
    """Plan turn number `turn` (0-based) of a session. Does not mutate `draft`.

    `answer_to` is the question the agent asked in the turn before: `message` is the user's answer.
    """
    new = copy.deepcopy(draft) if draft.get("t") is not None else empty_draft()
    new.setdefault("t", [])
    tracks: list[dict[str, Any]] = new["t"]
    video = _track(tracks, 0)
    lowered = message.lower()
    wants_generation = "generate" in lowered or "生成" in message

    if video is None or not video.get("sg"):
        visual = [m for m in media if m.file_type in ("image", "video")]
        if visual and not wants_generation:
            plan = _slideshow(new, _named_first(visual, message) if answer_to else visual)
        else:
            plan = _generated_clip(new, message, base_url, turn)
    elif wants_generation:
        plan = _generated_clip(new, message, base_url, turn)
    elif _track(tracks, 1) is None:
        plan = _background_music(new, [m for m in media if m.file_type == "audio"], base_url)
    elif _track(tracks, 7) is None:
        plan = _title(new, quoted_text(message) or DEFAULT_TITLE)
    else:
        plan = _tweak(new, message)
    new["d"] = _total_ms(new)
    new.setdefault("m", {})["rev"] = turn + 1
    if answer_to:
        plan.reply_en = f'You answered "{message}". {plan.reply_en}'
        plan.reply_zh = f"你的回答：“{message}”。{plan.reply_zh}"
    return plan


def question_plan(draft: dict[str, Any], question: str, options: list[str]) -> EditPlan:
    """A turn that only asks: the agent calls ask_question, says the question, and leaves the draft as it is."""
    args: dict[str, Any] = {"question": question, **({"options": list(options)} if options else {})}
    return EditPlan(
        thought="The instruction leaves a choice open: ask the user before editing.",
        steps=[ToolStep("ask_question", args, {"status": "waiting_for_user"})],
        draft=copy.deepcopy(draft),
        reply_en=question,
        reply_zh=f"请先回答：{question}",
        question=args,
    )


def _named_first(visual: list[MediaRef], answer: str) -> list[MediaRef]:
    """The uploads in order, except that those the answer names (by file name without extension) come first."""
    lowered = answer.lower()
    named = [m for m in visual if PurePosixPath(m.filename).stem.lower() in lowered]
    return named + [m for m in visual if m not in named]


def _track(tracks: list[dict[str, Any]], track_type: int) -> dict[str, Any] | None:
    return next((t for t in tracks if t.get("tt") == track_type), None)


def _video_ms(draft: dict[str, Any]) -> int:
    video = _track(draft["t"], 0)
    return sum(int(s.get("d", 0)) for s in video["sg"]) if video else 0


def _total_ms(draft: dict[str, Any]) -> int:
    longest = _video_ms(draft)
    for track in draft["t"]:
        for segment in track.get("sg", []):
            longest = max(longest, int(segment.get("start", 0)) + int(segment.get("d", 0)))
    return longest


def _edit_call(action: str, **args: Any) -> ToolStep:
    return ToolStep("edit_multitrack", {"action": action, **args}, {"status": "success", "action": action})


def _slideshow(draft: dict[str, Any], visual: list[MediaRef]) -> EditPlan:
    segments = []
    for index, item in enumerate(visual, start=1):
        is_video = item.file_type == "video" and item.duration
        segments.append(
            {
                "id": f"seg_v{index}",
                "src": item.url,
                "d": int(item.duration * 1000) if is_video else IMAGE_MS,
                "m": {"name": item.filename},
                "fx": {"kenburns": {"zoom": 1.08, "dir": "in" if index % 2 else "out"}},
                "x_future": 1,
            }
        )
    draft["t"].insert(0, {"id": "trk_video", "tt": 0, "m": {"name": "Video"}, "sg": segments})
    draft["fx"] = {"grade": "warm", "strength": 0.4}
    n = len(visual)
    return EditPlan(
        thought=f"The user uploaded {n} files. Plan: place them in order on the main video track.",
        steps=[_edit_call("add_track", track_type=0, segments=n)],
        draft=draft,
        reply_en=f"I've placed your {n} photos on the video track. Preview in timeline, "
        "or drag the clips to reorder them.",
        reply_zh=f"已将 {n} 张素材放到视频轨道。可在时间线预览，或拖拽片段调整顺序。",
    )


def _generated_clip(draft: dict[str, Any], message: str, base_url: str, turn: int) -> EditPlan:
    clip_id = f"gen_{turn + 1}"
    url = f"{base_url}/cdn/generated/{clip_id}.mp4"
    video = _track(draft["t"], 0)
    if video is None:
        video = {"id": "trk_video", "tt": 0, "m": {"name": "Video"}, "sg": []}
        draft["t"].insert(0, video)
    video["sg"].append(
        {"id": f"seg_{clip_id}", "src": url, "d": CLIP_MS, "m": {"name": "generated clip"}, "x_future": 1}
    )
    media = {"id": clip_id, "type": "video", "url": url, "duration": CLIP_MS / 1000, "prompt": message}
    return EditPlan(
        thought="No footage to arrange: generate a clip from the prompt, then put it on the timeline.",
        steps=[
            ToolStep(
                "generate_video_with_seedance",
                {"prompt": message, "duration": CLIP_MS // 1000, "ratio": "9:16"},
                {"status": "success", "video_url": url},
                long_running=True,
            ),
            _edit_call("add_segment", track_type=0, src=url),
        ],
        draft=draft,
        generated_media=[media],
        reply_en="Your clip is ready on the video track. Preview in timeline to watch it.",
        reply_zh="视频片段已生成，已放到视频轨道。可在时间线预览。",
        clips=1,
    )


def _background_music(draft: dict[str, Any], audio: list[MediaRef], base_url: str) -> EditPlan:
    steps = []
    if audio:
        url, name = audio[0].url, audio[0].filename
    else:
        url, name = f"{base_url}/cdn/generated/bgm_lofi.mp3", BGM_NAME
        steps.append(ToolStep("generate_music", {"style": "lo-fi", "mood": "calm"}, {"status": "success", "url": url}))
    steps.append(_edit_call("add_track", track_type=1, volume=0.35))
    segment = {"id": "seg_bgm", "src": url, "d": _video_ms(draft), "volume": 0.35, "m": {"name": name}}
    draft["t"].append({"id": "trk_bgm", "tt": 1, "m": {"name": "BGM"}, "sg": [segment], "x_future": 1})
    return EditPlan(
        thought="Add background music under the whole video at a low volume.",
        steps=steps,
        draft=draft,
        reply_en="Added background music at 35% volume. Open the audio panel to fine-tune it.",
        reply_zh="已添加背景音乐（音量 35%）。打开音频面板可以微调。",
    )


def _title(draft: dict[str, Any], text: str) -> EditPlan:
    segment = {
        "id": "seg_title",
        "start": 0,
        "d": TITLE_MS,
        "m": {"text": text},
        "style": {"font": "Inter", "size": 64, "color": "#ffffff"},
    }
    draft["t"].append({"id": "trk_title", "tt": 7, "m": {"name": "Title"}, "sg": [segment]})
    return EditPlan(
        thought=f"Put the title '{text}' over the first seconds.",
        steps=[_edit_call("add_text", track_type=7, text=text)],
        draft=draft,
        reply_en="Done! Click the Export button to download your video.",
        reply_zh="完成！点击导出按钮即可下载。",
    )


def _tweak(draft: dict[str, Any], message: str) -> EditPlan:
    text = quoted_text(message)
    lowered = message.lower()
    if text:
        _track(draft["t"], 7)["sg"][0]["m"]["text"] = text
        step = _edit_call("set_text", text=text)
    elif any(word in lowered for word in ("music", "volume", "quiet", "loud")) or "音乐" in message:
        bgm = _track(draft["t"], 1)
        bgm["sg"][0]["volume"] = 0.2
        step = _edit_call("set_volume", track_type=1, volume=0.2)
    else:
        for segment in _track(draft["t"], 0)["sg"]:
            segment.setdefault("fx", {})["transition"] = "fade"
        step = _edit_call("set_transition", transition="fade")
    return EditPlan(
        thought="A small change to the existing timeline.",
        steps=[step],
        draft=draft,
        reply_en="Updated. Open the panel to review the change, then click Export when you're ready.",
        reply_zh="已更新。打开面板查看修改，准备好后点击导出。",
    )
