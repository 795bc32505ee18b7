"""The whole story over stdio, once per contract variant: three photos -> a video -> its URL."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import (
    GUI_PHRASES,
    INSTRUCTION,
    SKILL_HEADERS,
    TOOLS,
    Project,
    assert_increasing,
    assert_success,
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
]
# error_style only shows on business errors: in its runs the token expires before get_state, and
# the refusal arrives as HTTP 200 with code 1001, or as HTTP 401.
EXPIRED_TOKEN_STATUS = {"http200": 200, "http_status": 401}


@pytest.mark.parametrize("variant", VARIANTS)
async def test_photos_become_a_video_with_a_url(project: Project, variant: dict[str, Any]) -> None:
    project.sim.configure(**variant)
    async with project.launch() as server:
        uploaded = await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
        if "error_style" in variant:
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
    if "error_style" in variant:
        renewals = project.requests_to("/api/auth/anonymous-token")
        assert len(renewals) == 2, "the expired token was not renewed"
        statuses = {r.status for r in project.requests_to("/api/state/")}
        assert statuses == {200, EXPIRED_TOKEN_STATUS[variant["error_style"]]}, statuses

    # export: a completed render on the simulator, started once, with progress
    assert_success(exported)
    assert exported.structured["status"] == "completed"
    url = exported.structured["url"]
    assert url.startswith(project.sim.base_url) and url in exported.text
    assert_increasing(exported.progress)
    assert project.renders_started() == 1

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
