"""The server's messages reworded for a person at a terminal: no tool names, no "the agent".

Errors are written for an agent (`NemoError.agent_message`: "…then call upload_images again"). The
CLI runs the tools itself, so a step that names a tool becomes what the person can do: run the
command again, run `doctor`, open a link. Advice that names no tool is kept as written.
"""

from __future__ import annotations

import functools
import re

TOOL_NAMES = (
    "upload_images",
    "generate_video",
    "get_job",
    "get_state",
    "get_credits",
    "export_video",
    "get_project_link",
    "cancel_export",
)
_TOOL = re.compile(r"\b(?:" + "|".join(TOOL_NAMES) + r")\b(?:\(\))?")
RUN_AGAIN = "run the command again"
FALLBACK_STEP = f"{RUN_AGAIN.capitalize()}; if it fails the same way, run `nemo-video-mcp doctor`"

# Whole clauses first (their wording is the server's; see errors.py and media.py), then single words.
_CLAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (r"(?:,\s*|\s+)(?:then|and) call upload_images again", f", then {RUN_AGAIN}"),
        (r"\bpass (?:its new path|their local paths) to upload_images\b", "pass the new path on the command line"),
        (r"\bcall upload_images with the new file, then generate_video and export_video\b", f"{RUN_AGAIN} with it"),
        (r"\bcall (?:the tool|upload_images|export_video|generate_video) again\b", RUN_AGAIN),
        (r"\bretry the tool once\b", f"{RUN_AGAIN} once"),
        (r"\bcalling the tool again\b", "running the command again"),
        (r"\bthen call get_credits to confirm and retry\b", f"then {RUN_AGAIN}"),
        (r"\bcall get_credits and retry\b", RUN_AGAIN),
        (r"\s*\(call get_project_link first, so the project comes along\)", ""),
        (r"\s*\(this keeps the anonymous project; get_project_link gives[^)]*\)", ""),
        (r"\bask the user to add its folder to\b", "add its folder to"),
        (r"\bask the user to\s+", ""),
        (r"\bgive the user this link\b", "open this link"),
        (r"\bon their NemoVideo account\b", "on your NemoVideo account"),
        (r"\bthe server's folder\b", "the current folder"),
        (r"\bthe server's environment\b", "the environment"),
        (r"\brestart the server\b", RUN_AGAIN),
    )
)


def for_person(text: str) -> str:
    """`text` (an agent message) with every step that names a tool said as what a person can do."""
    for pattern, replacement in _CLAUSES:
        text = pattern.sub(functools.partial(_same_case, replacement), text)
    what, marker, step = text.partition("Next step: ")
    if not marker:
        return _without_tools(text)
    step = _without_tools(step, FALLBACK_STEP)
    return f"{_without_tools(what)}{marker}{step[:1].upper()}{step[1:]}"


def _without_tools(text: str, fallback: str = "") -> str:
    """Sentences that still name a tool are dropped; when nothing is left, the fallback is the step."""
    sentences = re.split(r"(?<=[.;])\s+", text.strip())
    kept = [sentence for sentence in sentences if sentence and not _TOOL.search(sentence)]
    if not kept and fallback and len(sentences) > 0 and any(sentences):
        kept = [fallback + "."]
    joined = " ".join(kept)
    if joined.endswith(";"):
        joined = joined[:-1] + "."
    return joined + ("\n" if text.endswith("\n") and joined else "")


def _same_case(replacement: str, match: re.Match[str]) -> str:
    """`replacement`, with a capital where the words it replaces started a sentence."""
    stripped = match.group(0).lstrip(", ")
    if stripped[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement
