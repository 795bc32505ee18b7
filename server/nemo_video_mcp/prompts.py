"""The prompts a host offers its user: what to ask the agent, in the order of our tools. Pure text."""

from __future__ import annotations

import json
import re

DEFAULT_WISH = "a smooth 15-second video with transitions"
MAX_ARGUMENT_CHARS = 4000


def image_paths(images: str) -> list[str]:
    """The paths or URLs in a prompt argument: a JSON list, or one per line or comma."""
    text = images.strip()[:MAX_ARGUMENT_CHARS]
    if text.startswith("["):
        try:
            listed = json.loads(text)
        except ValueError:
            listed = None
        if isinstance(listed, list):
            return [str(item).strip() for item in listed if str(item).strip()]
    return [part.strip().strip("'\"") for part in re.split(r"[\n,]", text) if part.strip().strip("'\"")]


def image_to_video(images: str, wish: str = "") -> str:
    """The whole story: upload, describe, check, export, with long work followed through get_job."""
    paths = image_paths(images)
    wish = " ".join(wish.split())[:MAX_ARGUMENT_CHARS] or DEFAULT_WISH
    listed = json.dumps(paths, ensure_ascii=False) if paths else "(ask the user which images to use)"
    return f"""Make a video from these images with the nemo-video-mcp tools: {listed}
The user wants: {wish}

1. upload_images(paths={listed}). If a file is refused, tell the user why (the error says) and go on with the rest.
2. generate_video(instruction={json.dumps(wish, ensure_ascii=False)}). If it answers status "running", call \
get_job(job_id) until it has ended; never send the instruction again. If the editor asks a question, ask the user \
and send the answer with generate_video.
3. preview_storyboard() and show the user the contact sheet: the pictures in order, their times, the title and \
captions. Ask whether to change anything before exporting (a change is another generate_video).
4. export_video(). If it answers with a job id instead of the video, call get_job(job_id) until it is finished.
5. Give the user the video's link or file path. Every error ends with "Next step:": follow it."""


def refine(timeline: str, change: str = "") -> str:
    """Iterate on the current timeline: look, change one thing at a time, look again, export when the user is happy."""
    change = " ".join(change.split())[:MAX_ARGUMENT_CHARS]
    wanted = f"The user wants this change: {change}" if change else "Ask the user what to change."
    return f"""Refine the video being edited with the nemo-video-mcp tools.
The timeline now: {timeline}
{wanted}

1. preview_storyboard() to see the pictures in order with their times, title and captions (get_state for the tracks).
2. generate_video(instruction=...) with one change in plain words, e.g. "make it 20 seconds", "use slide \
transitions", 'change the title to "Summer"'. A "running" answer is followed with get_job(job_id), never resent.
3. preview_storyboard() again and show the user what changed; repeat 2-3 until the user is happy.
4. export_video() (a render of an unchanged timeline is never paid twice); get_job follows a long render."""
