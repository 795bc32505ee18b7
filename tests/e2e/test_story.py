"""The whole story over stdio, once per contract variant: three photos -> a video -> its URL."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import (
    GUI_PHRASES,
    INSTRUCTION,
    SKILL_HEADERS,
    TOOLS,
    Project,
    assert_increasing,
    assert_success,
    make_video,
    upload_photos,
)

# One run per value of each contract variant (not the cartesian product).
VARIANTS = [
    pytest.param({"event_shape": "adk"}, id="event_shape=adk"),
    pytest.param({"event_shape": "typed"}, id="event_shape=typed"),
    pytest.param({"heartbeat": "comment"}, id="heartbeat=comment"),
    pytest.param({"heartbeat": "empty_data"}, id="heartbeat=empty_data"),
    pytest.param({"heartbeat": "typed"}, id="heartbeat=typed"),
    pytest.param({"line_ending": "lf"}, id="line_ending=lf"),
    pytest.param({"line_ending": "crlf"}, id="line_ending=crlf"),
    pytest.param({"envelope": "code"}, id="envelope=code"),
    pytest.param({"envelope": "success"}, id="envelope=success"),
    pytest.param({"render_envelope": "success"}, id="render_envelope=success"),
    pytest.param({"render_envelope": "bare"}, id="render_envelope=bare"),
    pytest.param({"render_poll_shape": "A"}, id="render_poll_shape=A"),
    pytest.param({"render_poll_shape": "B"}, id="render_poll_shape=B"),
    pytest.param({"error_style": "http200"}, id="error_style=http200"),
    pytest.param({"error_style": "http_status"}, id="error_style=http_status"),
    pytest.param({"reply_text": "none"}, id="reply_text=none"),
    pytest.param({"reply_text": "zh"}, id="reply_text=zh"),
    pytest.param({"partial_text": True}, id="partial_text"),
    pytest.param({"auth_error_code": 1010}, id="auth_error_code=1010"),
    pytest.param({"auth_error_code": 1011}, id="auth_error_code=1011"),
    pytest.param({"output_url": "cdn"}, id="output_url=cdn"),
]
# Variants that only show on a business error: in their runs the token expires before get_state.
# The refusal arrives as HTTP 200 with the code in the body, or (http_status) as HTTP 401.
SHOWN_BY_AN_EXPIRED_TOKEN = {"error_style", "auth_error_code"}


@pytest.mark.parametrize("variant", VARIANTS)
async def test_photos_become_a_video_with_a_url(project: Project, variant: dict[str, Any]) -> None:
    project.sim.configure(**variant)
    async with project.launch() as server:
        uploaded = await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
        token_expires = bool(SHOWN_BY_AN_EXPIRED_TOKEN & variant.keys())
        if token_expires:
            project.sim.configure(expire_tokens=True)
        state = await server.call("get_state")
        exported = await server.call("export_video")

    # upload: the simulator holds exactly the bytes of the three files
    assert [f["filename"] for f in uploaded.structured["files"]] == [p.name for p in project.images]
    received = {u.filename: u.content for u in project.sim.world.uploads}
    assert received == {p.name: p.read_bytes() for p in project.images}

    # generate: a reply the agent can use, progress along the way, no GUI wording left
    assert_success(generated)
    assert_increasing(generated.progress)
    reply = generated.structured["reply"]
    for phrase in GUI_PHRASES:
        assert phrase not in reply.lower(), reply
    if variant.get("reply_text") == "none":
        assert generated.structured["timeline"].startswith("Timeline (")
        assert generated.structured["changes"]
        assert generated.structured["timeline"] in generated.text
        assert generated.structured["changes"] in generated.text
    else:
        assert reply and reply in generated.text
    if variant.get("reply_text") == "zh":
        assert re.search(r"[\u4e00-\u9fff]", reply), reply
    if variant.get("partial_text"):
        first_sentence = reply.split(".")[0]
        assert reply.count(first_sentence) == 1, f"the partial chunks were kept besides the full text: {reply}"

    # state: the one-line summary names the tracks
    assert_success(state)
    summary = state.structured["summary"]
    assert summary.startswith("Timeline (") and summary in state.text
    assert state.structured["exportable"] is True
    for track in state.structured["tracks"]:
        assert track["kind"] in summary
    if token_expires:
        assert len(project.requests_to("/api/auth/anonymous-token")) == 2, "the expired token was not renewed"
        statuses = {r.status for r in project.requests_to("/api/state/")}
        assert statuses == ({200, 401} if variant.get("error_style") == "http_status" else {200}), statuses

    # export: a completed render on the simulator, started once, with progress
    assert_success(exported)
    assert exported.structured["status"] == "completed"
    url = exported.structured["url"]
    assert url.startswith(project.sim.base_url)
    assert_increasing(exported.progress)
    assert project.renders_started() == 1
    # the server fetched the file to check it, whether or not its link needs the token
    saved = Path(exported.structured["file_path"])
    assert str(saved) in exported.text and saved.read_bytes()[4:8] == b"ftyp"
    if variant.get("output_url") == "cdn":
        assert url in exported.text, "the open link is named beside the checked copy"
        video = httpx.get(url, timeout=10)  # an open URL: no token needed
        assert video.status_code == 200 and video.content == saved.read_bytes()

    # attribution: every request the backend saw was marked as skill traffic
    for request in project.sim.world.requests:
        for header in SKILL_HEADERS:
            assert request.headers.get(header), f"{header} missing on {request.method} {request.path}"


async def test_python_dash_m_starts_the_same_server(project: Project) -> None:
    async with project.launch("-m", "nemo_video_mcp", command=Path(sys.executable)) as server:
        assert await server.tool_names() == TOOLS
        credits = await server.call("get_credits")
    assert_success(credits)
    assert credits.structured["available"] == project.sim.config.initial_credits


async def test_exporting_an_unchanged_timeline_again_starts_no_second_render(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        first = await server.call("export_video")
        again = await server.call("export_video")
    assert_success(first)
    assert_success(again)
    assert again.structured["url"] == first.structured["url"] and again.structured["resumed"] is True
    assert "no new render" in again.text
    assert project.renders_started() == 1


async def test_a_read_is_answered_while_an_edit_streams(project: Project) -> None:
    """Agents call tools in parallel: get_credits must not wait for a long edit turn."""
    project.sim.configure(event_delay_s=0.4)
    async with project.launch() as server:
        await upload_photos(server, project)
        edit = asyncio.create_task(server.call("generate_video", instruction=INSTRUCTION))
        await wait_until(lambda: project.credits_held() > 0)
        credits = await server.call("get_credits")
        assert not edit.done(), "the edit finished before the read: the test proves nothing"
        generated = await edit
    assert_success(credits)
    assert credits.structured["frozen"] == project.sim.config.edit_cost
    assert_success(generated)


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)
