"""Keep the project, cancel a render, keep the file, answer the editor's question: over stdio, against the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp import types

from nemo_video_mcp.render.probe import probe_video
from tests.asking_user import answering
from tests.e2e.harness import (
    INSTRUCTION,
    LONG_RENDER,
    WEB_BASE,
    NemoServer,
    Project,
    ToolCall,
    assert_agent_error,
    assert_success,
    ffmpeg_writing,
    make_video,
    server_pid,
    upload_photos,
)
from tests.processes import children_of, gone_within

# Not token-shaped (real ones start nmv_usr_): the pattern redaction cannot hide them, only the server's own care.
ANONYMOUS_TOKEN = "anon-canary-3f9c2a7d51e04b"
REGISTERED_TOKEN = "registered-canary-8e41b06c77d2"
NEVER_ENDS = {"slow_render": True, "slow_render_polls": 100_000}
QUESTION = "Which photo should open the video?"


def assert_no_token(project: Project, server: NemoServer, token: str) -> None:
    """Not in any text, structured content or progress message, MCP log line, stderr, or request URL."""
    for call in server.calls:
        assert token not in call.everything, f"{call.tool} leaked the token"
    assert not any(token in line for line in server.log_messages)
    assert token not in project.stderr()
    assert not any(token in r.path + r.query for r in project.sim.world.requests)


def run_sse_messages(project: Project) -> list[str]:
    return [r.body_json["new_message"]["parts"][0]["text"] for r in project.requests_to("/run_sse")]


def video_names(project: Project) -> list[str]:
    session = project.sim.world.sessions[project.only_session_id()]
    video = next((t for t in session.draft["t"] if t["tt"] == 0), {"sg": []})
    return [segment["m"]["name"] for segment in video["sg"]]


# --- keep the project ----------------------------------------------------------------------------


async def test_an_anonymous_project_gets_a_claim_link_the_backend_issued_and_never_the_token(
    project: Project,
) -> None:
    project.sim.configure(secret_token=ANONYMOUS_TOKEN)
    async with project.launch("--verbose") as server:
        await upload_photos(server, project)
        link = await server.call("get_project_link")
    assert ANONYMOUS_TOKEN in project.sim.world.tokens, "the simulator did not issue the canary token"
    assert_success(link)
    assert link.structured["kind"] == "claim"
    url = link.structured["url"]
    assert url.startswith(f"{WEB_BASE}/workspace/claim?ct=") and url in link.text
    (claim,) = parse_qs(urlsplit(url).query)["ct"]
    session_id = project.only_session_id()
    assert project.sim.world.claim_tokens == {claim: session_id}
    (request,) = project.requests_to("/api/auth/claim-token")
    task_id = project.sim.world.sessions[session_id].task_id
    assert request.method == "POST" and request.body_json == {"task_id": task_id, "session_id": session_id}
    expires = dt.datetime.fromisoformat(link.structured["expires_at"])
    week = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)
    assert abs((expires - week).total_seconds()) < 120
    assert_no_token(project, server, ANONYMOUS_TOKEN)


async def test_a_registered_account_gets_its_workspace_and_never_the_token(project: Project) -> None:
    project.sim.configure(registered_token=REGISTERED_TOKEN)
    async with project.launch("--verbose", extra_env={"NEMO_TOKEN": REGISTERED_TOKEN}) as server:
        await upload_photos(server, project)
        link = await server.call("get_project_link")
        credits = await server.call("get_credits")
    assert_success(link)
    assert link.structured["kind"] == "workspace" and link.structured["url"] == f"{WEB_BASE}/workspace"
    assert f"{WEB_BASE}/workspace" in link.text
    assert credits.structured["anonymous"] is False
    assert project.requests_to("/api/auth/") == [], "a registered account asked for an anonymous or claim token"
    assert [user_id[:4] for user_id in project.sim.world.users] == ["usr_"]
    assert_no_token(project, server, REGISTERED_TOKEN)


# --- cancel a render -----------------------------------------------------------------------------


async def test_a_running_cloud_render_is_cancelled_once_and_its_held_credits_released(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(render_frozen_credits=20, **NEVER_ENDS)
        started = await server.call("export_video", wait=False)
        job_id = started.structured["job_id"]
        while not any(r.method == "GET" for r in project.requests_to(f"/lambda/{job_id}")):
            await asyncio.sleep(0.05)  # the server follows the render
        cancelled = await server.call("cancel_export")
        polls = len(project.requests_to(f"/lambda/{job_id}"))
        await asyncio.sleep(0.5)
        polls_later = len(project.requests_to(f"/lambda/{job_id}"))
        again = await server.call("cancel_export")
    assert_success(started)
    assert started.structured["status"] in ("pending", "processing")
    assert_success(cancelled)
    assert cancelled.structured["cancelled"] is True and cancelled.structured["status"] == "cancelled"
    assert cancelled.structured["job_id"] == job_id
    assert cancelled.structured["credits_released"] == 20 and "20 held credits were released" in cancelled.text
    assert project.sim.world.renders[job_id].status == "cancelled"
    assert project.credits_held() == 0
    assert polls_later == polls, "the server went on polling a cancelled render"
    assert_success(again)
    assert again.structured["cancelled"] is False and "nothing to cancel" in again.text
    assert len(project.requests_to(f"/lambda/{job_id}/cancel")) == 1


async def test_a_running_local_render_is_cancelled_with_no_ffmpeg_and_no_partial_file_left(project: Project) -> None:
    temp_dir = project.home / "tmp"
    temp_dir.mkdir()
    videos = project.home / "videos"
    async with project.launch(extra_env={"NEMO_BACKEND": "local", "TMPDIR": str(temp_dir)}) as server:
        await upload_photos(server, project)
        assert_success(await server.call("generate_video", instruction=LONG_RENDER))
        started = await server.call("export_video", wait=False)
        pid = server_pid(project)
        ffmpeg = await ffmpeg_writing(pid, videos)
        cancelled = await server.call("cancel_export")
        ffmpeg_gone = await asyncio.to_thread(gone_within, ffmpeg, 2.0)
        left_running = [command for command in children_of(pid).values() if "ffmpeg" in command]
        left_on_disk = [*videos.glob("*.part"), *videos.glob(".*.part"), *temp_dir.glob("nemo-render-*")]
        job = await server.call("get_job")
    assert_success(started)
    assert_success(cancelled)
    assert cancelled.structured["cancelled"] is True and cancelled.structured["status"] == "cancelled"
    assert "Offline renders hold no credits" in cancelled.text
    assert ffmpeg_gone, f"ffmpeg (pid {ffmpeg}) still runs 2 s after the cancel"
    assert left_running == []
    assert left_on_disk == []
    assert not (videos / f"{started.structured['job_id']}.mp4").exists()
    assert job.structured["status"] == "cancelled"


async def test_cancelling_a_finished_or_unknown_render_changes_nothing(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        exported = await server.call("export_video")
        latest = await server.call("cancel_export")
        by_id = await server.call("cancel_export", job_id=exported.structured["job_id"])
        unknown = await server.call("cancel_export", job_id="render_nope")
    assert_success(exported)
    for finished in (latest, by_id):
        assert_success(finished)
        assert finished.structured["cancelled"] is False and finished.structured["status"] == "completed"
        assert "already ended (completed)" in finished.text and "nothing to cancel" in finished.text
    assert_success(unknown)
    assert unknown.structured["cancelled"] is False and "no render with id 'render_nope'" in unknown.text
    assert project.requests_to("/cancel") == []
    assert project.sim.world.renders[exported.structured["job_id"]].status == "completed"


# --- keep the file -------------------------------------------------------------------------------


def assert_saved_video(exported: ToolCall, where: Path) -> None:
    assert_success(exported)
    assert exported.structured["status"] == "completed" and exported.structured["url"]
    assert exported.structured["saved_path"] == str(where)
    assert f"Saved a checked copy to {where}" in exported.text
    assert where.read_bytes()[4:8] == b"ftyp"
    assert probe_video(where).duration_s == 9.0  # three photos of 3 s


@pytest.mark.parametrize("relative", [True, False], ids=["inside_NEMO_OUTPUT_DIR", "absolute"])
async def test_save_to_a_new_folder_with_a_space_in_its_name(project: Project, relative: bool) -> None:
    folder = project.home / "videos" / "Holiday Clips" if relative else project.home / "My Videos" / "Trip 2024"
    async with project.launch() as server:
        await make_video(server, project)
        exported = await server.call("export_video", save_to="Holiday Clips/" if relative else f"{folder}/")
    assert_saved_video(exported, folder / f"{exported.structured['job_id']}.mp4")


async def test_save_to_a_different_existing_file_keeps_it_and_names_the_copy_2(project: Project) -> None:
    mine = project.home / "keep" / "clip.mp4"
    mine.parent.mkdir()
    mine.write_bytes(b"the user's own video, not to be replaced")
    async with project.launch() as server:
        await make_video(server, project)
        exported = await server.call("export_video", save_to=str(mine))
    assert mine.read_bytes() == b"the user's own video, not to be replaced"
    assert_saved_video(exported, mine.with_name("clip (2).mp4"))
    assert "clip.mp4 held a different file, kept as is" in exported.text


async def test_save_to_falls_back_to_the_authenticated_download_when_the_cdn_refuses(project: Project) -> None:
    project.sim.configure(output_url="cdn", cdn_refuses=True)
    async with project.launch() as server:
        await make_video(server, project)
        exported = await server.call("export_video", save_to="kept/")
    job_id = exported.structured["job_id"]
    assert_saved_video(exported, project.home / "videos" / "kept" / f"{job_id}.mp4")
    assert exported.structured["url"].endswith(f"/cdn/renders/{job_id}.mp4")
    assert exported.structured["probe"] is not None, "the one download is checked, then copied"
    assert project.sim.world.cdn_refused[job_id] == 1, "the CDN URL is tried first, and once"
    (download,) = project.requests_to(f"/api/render/proxy/{job_id}/download")  # one: the check's, copied to save_to
    assert download.method == "GET" and download.status == 200
    assert download.headers["authorization"].startswith("Bearer ")


async def test_save_to_outside_the_allowed_folders_is_refused_before_any_render(project: Project) -> None:
    allowed = os.pathsep.join([str(project.images[0].parent), str(project.home / "videos")])
    elsewhere = project.home / "elsewhere"
    async with project.launch(extra_env={"NEMO_ALLOWED_DIRS": allowed}) as server:
        await make_video(server, project)
        refused = await server.call("export_video", save_to=f"{elsewhere}/")
    assert_agent_error(refused, "outside", "NEMO_ALLOWED_DIRS", str(elsewhere))
    assert project.renders_started() == 0
    assert not elsewhere.exists()


# --- the editor's question -----------------------------------------------------------------------


async def test_a_question_answered_in_the_client_goes_to_the_editor_as_the_next_turn(project: Project) -> None:
    callback, asked = answering("accept", {"answer": "city"})
    project.sim.configure(ask_question=True)
    async with project.launch(mode="legacy", elicitation_callback=callback) as server:
        await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    (params,) = asked
    assert params.message == QUESTION
    assert params.requested_schema["properties"]["answer"]["enum"] == ["beach", "city", "forest"]
    assert run_sse_messages(project) == [INSTRUCTION, "city"]
    assert_success(generated)
    assert generated.structured["reply"].startswith('You answered "city".')
    assert f"The editor asked: {QUESTION} The user answered: city." in generated.text
    assert any("The user answered: city" in message for message in generated.progress_messages)
    assert video_names(project) == ["city.png", "beach.jpg", "forest.jpg"]
    assert project.edits_applied() == 1


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_question_declined_in_the_client_sends_nothing(project: Project, action: str) -> None:
    callback, asked = answering(action)
    project.sim.configure(ask_question=True)
    async with project.launch(mode="legacy", elicitation_callback=callback) as server:
        await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert len(asked) == 1
    assert run_sse_messages(project) == [INSTRUCTION]
    assert_success(generated)
    assert "declined to answer the editor's question; nothing was sent" in generated.text
    assert generated.structured["question"] == QUESTION
    assert project.edits_applied() == 0


@pytest.mark.parametrize(
    "shows_forms",
    [False, True],
    ids=["protocol_2026-no_callback", "protocol_2026-with_callback"],
)
async def test_a_client_that_cannot_ask_gets_the_question_as_text_and_answers_with_generate_video(
    project: Project, shows_forms: bool
) -> None:
    """The SDK client's default mode speaks protocol 2026-07-28, which forbids asking mid-call."""
    callback, asked = answering("accept", {"answer": "city"})
    project.sim.configure(ask_question=True)
    async with project.launch(elicitation_callback=callback if shows_forms else None) as server:
        await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
        answered = await server.call("generate_video", instruction="forest")
    assert asked == []
    assert_success(generated)
    assert QUESTION in generated.text and "Choices: beach; city; forest" in generated.text
    assert "Next step: ask the user, then call generate_video with their answer." in generated.text
    assert generated.structured["question"] == QUESTION
    assert generated.structured["choices"] == ["beach", "city", "forest"]
    assert_success(answered)
    assert run_sse_messages(project) == [INSTRUCTION, "forest"]
    assert video_names(project) == ["forest.jpg", "beach.jpg", "city.png"]


async def test_a_client_whose_form_fails_gets_the_question_as_text_and_nothing_is_sent(project: Project) -> None:
    """A client that says it shows forms may still answer the request with an error (its form could not be shown)."""
    asked: list[types.ElicitRequestParams] = []

    async def failing_form(context: Any, params: types.ElicitRequestParams) -> types.ErrorData:
        asked.append(params)
        return types.ErrorData(code=types.INTERNAL_ERROR, message="the form could not be shown")

    project.sim.configure(ask_question=True)
    async with project.launch(mode="legacy", elicitation_callback=failing_form) as server:
        await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert len(asked) == 1
    assert_success(generated)
    assert QUESTION in generated.text and "Choices: beach; city; forest" in generated.text
    assert "Not asked in the client: the client could not show the question" in generated.text
    assert run_sse_messages(project) == [INSTRUCTION]


async def test_a_legacy_client_without_forms_gets_the_question_as_text(project: Project) -> None:
    project.sim.configure(ask_question=True)
    async with project.launch(mode="legacy") as server:
        await upload_photos(server, project)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_success(generated)
    assert QUESTION in generated.text and "Choices: beach; city; forest" in generated.text
    assert run_sse_messages(project) == [INSTRUCTION]
