"""What a paid cloud call is likely to cost, whether the user should confirm it, and what it did cost.

Pure: an instruction and a balance in, figures and sentences out. The backend's prices are known
only roughly (about 100 credits per generated clip, about 50 per editing session, export free), so
every figure here is an estimate and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from nemo_video_mcp.models import Credits

CLIP_CREDITS = 100.0
"""About what one clip the editor generates costs."""
EDIT_CREDITS = 50.0
"""About what an editing turn that generates nothing costs."""
MAX_CLIPS = 10
"""An instruction's clip count above this is read as this (a guard against '1000 clips')."""

CostKind = Literal["clips", "edit", "export", "none"]

_GENERATE = re.compile(
    r"\bgenerat\w*|\bai[- ]?(clip|video|footage|shot)s?\b|\bnew (clip|shot|footage)s?\b|\banimat\w*|"
    r"\btext[- ]to[- ]video\b|\bimage[- ]to[- ]video\b|\bseedance\b|\bfrom scratch\b|"
    r"生成|AI视频|AI片段|新片段|新镜头|动起来|文生视频|图生视频",
    re.IGNORECASE,
)
"""Words that ask the editor to generate footage (clips), whatever the timeline holds."""
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_NUMBERS |= {"ten": 10, "a": 1, "an": 1, "一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5}
_CLIP_COUNT = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:\w+\s+){0,2}?(?:clips?|shots?|scenes?)\b|"
    r"(\d+|[一两二三四五])\s*(?:个|段)\s*(?:视频)?(?:片段|镜头|视频)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CostEstimate:
    """About how many credits a call will spend, and why (in words the user can check)."""

    credits: float
    reason: str
    kind: CostKind

    @property
    def free(self) -> bool:
        return self.credits <= 0


def estimate_edit(instruction: str, *, timeline_has_clips: bool, has_pictures: bool) -> CostEstimate:
    """One edit turn: generating clips (about 100 each) or editing what is there (about 50).

    `timeline_has_clips`: an earlier edit put something on the timeline; `has_pictures`: images or
    videos were uploaded. With neither, any instruction makes the editor generate footage.
    """
    asks_for_footage = _GENERATE.search(instruction) is not None
    if asks_for_footage or (not timeline_has_clips and not has_pictures):
        clips = _clip_count(instruction)
        why = "the instruction asks for new footage" if asks_for_footage else "nothing is uploaded or on the timeline"
        what = "a clip" if clips == 1 else f"{clips} clips"
        each = "" if clips == 1 else f", about {CLIP_CREDITS:g} each"
        return CostEstimate(
            clips * CLIP_CREDITS,
            f"generates {what} ({why}): about {clips * CLIP_CREDITS:g} credits{each}",
            "clips",
        )
    return CostEstimate(EDIT_CREDITS, f"an editing turn: about {EDIT_CREDITS:g} credits", "edit")


def estimate_export() -> CostEstimate:
    return CostEstimate(0, "export is free (a render may hold credits while it runs and gives them back)", "export")


OFFLINE = CostEstimate(0, "no credits: the offline backend renders on this machine, for free", "none")


def _clip_count(instruction: str) -> int:
    found = _CLIP_COUNT.search(instruction)
    if found is None:
        return 1
    word = (found.group(1) or found.group(2)).lower()
    count = int(word) if word.isdigit() else _NUMBERS.get(word, 1)
    return max(1, min(MAX_CLIPS, count))


def confirmation_reason(estimate: CostEstimate, available: float | None, confirm_above: float) -> str | None:
    """Why the user should confirm this spend (None: no need).

    More than `confirm_above` credits, or more than half of what is `available`; `confirm_above`
    0 turns confirmation off, and a free call never asks. An unread balance leaves only the first rule.
    """
    if confirm_above <= 0 or estimate.free:
        return None
    if estimate.credits > confirm_above:
        return f"it is more than NEMO_CONFIRM_ABOVE ({confirm_above:g} credits)"
    if available is not None and estimate.credits > available / 2:
        return f"it is more than half of the {available:g} credits available"
    return None


def confirmation_question(estimate: CostEstimate, available: float | None, reason: str) -> str:
    """The question the user is shown before the call is sent."""
    balance = f" of your {available:g} available" if available is not None else ""
    return f"This edit {estimate.reason}{balance}. I ask because {reason}. Spend them and send the edit?"


def next_cost_text(estimate: CostEstimate, available: float | None, asks: bool) -> str:
    """What the next edit would cost, for a client that cannot show a confirmation form."""
    if estimate.kind == "none":
        return "The next edit costs no credits (offline)."
    balance = f" of your {available:g}" if available is not None else " (the balance is not known yet: get_credits)"
    text = f"The next edit would cost about {estimate.credits:g} credits{balance}: it {estimate.reason}."
    if estimate.kind != "clips":
        text += f" One that generates clips costs about {CLIP_CREDITS:g} credits per clip."
    if available is not None and available < estimate.credits:
        text += " That is more than the balance: the editor may refuse it (no credits)."
    if asks:
        text += " A client that shows forms is asked to confirm first."
    return text


# --- what a call did cost -----------------------------------------------------------------------


def spent_note(before: Credits | None, after: Credits | None, *, running: bool = False) -> str:
    """Credits before and after a paid call, in words (a reading that failed is named, not guessed)."""
    if (before is not None and not before.needs_credits) or (after is not None and not after.needs_credits):
        return "No credits: the offline backend renders on this machine, for free."
    if before is None or after is None:
        missing = " and ".join(name for name, value in (("before", before), ("after", after)) if value is None)
        return f"Credits could not be read {missing} the call, so what it spent is unknown (get_credits shows them)."
    text = f"Credits: {before.available:g} available before, {after.available:g} after"
    spent = before.available - after.available
    held = after.frozen - before.frozen
    if running and held > 0:
        return f"{text}; {held:g} are held for the work in progress (charged or given back when it ends)."
    if spent > 0:
        return f"{text} ({spent:g} spent)."
    return f"{text} (nothing spent)."


def released_credits(before: Credits | None, after: Credits | None) -> tuple[float | None, str]:
    """How many held (frozen) credits went back between two readings around a cancel, and the sentence."""
    if after is not None and not after.needs_credits:
        return None, "Offline renders hold no credits."
    if before is None or after is None:
        return None, "Whether held credits were released is unknown (the balance could not be read)."
    released = max(0.0, before.frozen - after.frozen)
    if released:
        return released, f"{released:g} held credits were released."
    return released, "No credits were held for it."


def failed_job_credits(before: Credits | None, after: Credits | None) -> tuple[bool | None, str]:
    """Whether a failed job's held credits went back: nothing more is held than before it started (or, with
    no reading from before it, nothing is held at all)."""
    if (before is not None and not before.needs_credits) or (after is not None and not after.needs_credits):
        return None, "No credits: the offline backend renders on this machine, for free."
    if after is not None and before is None and after.frozen <= 0:
        return True, f"No credits are held any more, so any it held were released ({after.available:g} available)."
    if before is None or after is None:
        return None, "Whether its held credits were released is unknown (the balance could not be read)."
    still_held = after.frozen - before.frozen
    spent = before.available - after.available
    if still_held > 0:
        return False, (
            f"{still_held:g} credits are still held for it (frozen); the backend usually gives them back — "
            "get_credits shows when."
        )
    charged = f" (yet {spent:g} fewer are available than before it)" if spent > 0 else " (nothing was spent)"
    return True, f"The credits it held were released{charged}."
