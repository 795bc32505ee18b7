"""Every fault the simulator can inject, over stdio, judged by what the agent reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import (
    INSTRUCTION,
    WEB_BASE,
    Project,
    assert_agent_error,
    assert_success,
    make_video,
    upload_photos,
)

SECRET = "opaque-secret-7f3a9c1e5b2d4f60a8"  # not token-shaped: only the server's own redaction can hide it


def statuses(project: Project, path_part: str) -> list[int | None]:
    return [r.status for r in project.requests_to(path_part)]


# --- account and session ------------------------------------------------------------------------


async def test_expired_token_is_renewed_without_the_agent_noticing(project: Project) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(expire_tokens=True)
        state = await server.call("get_state")
    assert_success(state)
    assert "token" not in state.text.lower()
    assert len(project.requests_to("/api/auth/anonymous-token")) == 2


async def test_dropped_session_is_replaced_and_the_agent_told_the_timeline_restarted(project: Project) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(drop_sessions=True)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_success(generated)
    assert "starts afresh" in generated.text
    assert project.edits_applied() == 1
    assert len(project.sim.world.uploads) == 6, "the photos were not brought along to the new session"


async def test_a_session_lost_at_export_is_told_even_though_the_export_fails(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(drop_sessions=True)
        exported = await server.call("export_video")
    assert_agent_error(exported, "starts afresh", "timeline is empty")
    assert project.renders_started() == 0


async def test_session_404_on_the_edit_is_replaced_and_the_edit_sent_once_it_can_land(project: Project) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(session_404=True)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_success(generated)
    assert "starts afresh" in generated.text
    assert statuses(project, "/run_sse") == [404, 200]
    assert project.edits_applied() == 1


async def test_no_credits_points_to_the_registration_url(project: Project) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(credits_zero=True)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    with project.sim.world.lock:
        (user_id,) = project.sim.world.users
    assert_agent_error(generated, "no credits", f"{WEB_BASE}?bind={user_id}")
    assert project.edits_applied() == 0


async def test_export_402_is_a_plan_issue_not_credits(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(export_402=True)
        exported = await server.call("export_video")
    assert_agent_error(exported, "plan", "not a lack of credits", WEB_BASE)
    assert project.renders_started() == 0


# --- transport ----------------------------------------------------------------------------------


async def test_a_fault_on_a_read_is_retried_or_reported_and_the_next_call_works(
    project: Project, subtests: pytest.Subtests
) -> None:
    """Each fault is a subtest of one server process: a fault on a read must leave nothing behind for the next
    call, and a server start costs more CPU than the rest of a case. Each counts the requests since its switch."""
    async with project.launch() as server:
        await upload_photos(server, project)

        with subtests.test("rate_limit_is_retried_once"):
            before = len(project.requests_to("/api/credits/"))
            project.sim.configure(rate_limit_once=True)
            credits = await server.call("get_credits")
            assert_success(credits)
            assert statuses(project, "/api/credits/")[before:] == [429, 200]

        with subtests.test("a_short_outage_is_retried_on_reads"):
            reads = ("/api/state/", "/api/credits/")  # get_state reads both at once: either may meet a 503
            before = {path: len(project.requests_to(path)) for path in reads}
            project.sim.configure(fail_next_n=2)
            state = await server.call("get_state")
            assert_success(state)
            seen = {path: statuses(project, path)[before[path] :] for path in reads}
            assert all(answers[-1] == 200 for answers in seen.values()), seen  # each read retried to success
            assert sorted(s for answers in seen.values() for s in answers) == [200, 200, 503, 503], seen

        with subtests.test("a_persistent_outage_says_what_the_backend_answered"):
            project.sim.configure(fail_next_n=1000)
            state = await server.call("get_state")
            project.sim.configure(fail_next_n=0)
            later = await server.call("get_state")
            assert_agent_error(state, "answered HTTP 503", "tried 4 times", "NEMO_API_BASE")
            assert_success(later)

        with subtests.test("a_malformed_reply_is_reported_and_the_next_call_works"):
            project.sim.configure(malformed_json_next=True)
            credits = await server.call("get_credits")
            again = await server.call("get_credits")
            assert_agent_error(credits, "cannot read", "get_state")
            assert_success(again)


# --- the edit stream ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"cut_stream": True}, id="cut_stream"),
        pytest.param({"cut_stream_before_apply": True, "late_apply_s": 0.5}, id="cut_before_apply-lands_late"),
    ],
)
async def test_a_cut_edit_that_landed_is_confirmed_not_resent(project: Project, fault: dict[str, Any]) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(**fault)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_success(generated)
    assert "not re-sent" in generated.text
    assert generated.structured["recovered_after_cut"] is True
    assert generated.structured["timeline"].startswith("Timeline (")
    assert len(project.requests_to("/run_sse")) == 1
    assert project.edits_applied() == 1


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"cut_stream_before_apply": True}, id="cut_stream_before_apply"),
        pytest.param({"heartbeats_only": 0.3}, id="heartbeats_only"),
    ],
)
async def test_an_edit_that_never_landed_is_reported_lost_not_resent(project: Project, fault: dict[str, Any]) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(**fault)
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_agent_error(generated, "lost", "not re-sent", "get_state")
    assert len(project.requests_to("/run_sse")) == 1
    assert len(project.requests_to("/api/state/")) >= 1 + 5, "the state was not checked before giving up"
    assert project.edits_applied() == 0


async def test_an_error_inside_the_stream_is_reported_with_its_reason(project: Project) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        project.sim.configure(stream_error="the model is overloaded")
        generated = await server.call("generate_video", instruction=INSTRUCTION)
    assert_agent_error(generated, "the model is overloaded")
    assert len(project.requests_to("/run_sse")) == 1


# --- renders ------------------------------------------------------------------------------------


async def test_a_slow_render_resumes_in_a_new_server_process(project: Project) -> None:
    async with project.launch() as first:
        await make_video(first, project)
        project.sim.configure(slow_render=True)
        started = await first.call("export_video", wait=False)
    assert_success(started)
    assert started.structured["status"] in ("pending", "processing")
    assert "export_video" in started.text

    async with project.launch() as restarted:
        finished = await restarted.call("export_video")
    assert_success(finished)
    assert finished.structured["job_id"] == started.structured["job_id"]
    assert finished.structured["status"] == "completed" and finished.structured["resumed"] is True
    assert finished.structured["file_path"] in finished.text
    assert project.renders_started() == 1


async def test_a_failed_render_says_so_and_what_to_do(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(fail_render=True)
        exported = await server.call("export_video")
    assert_agent_error(exported, "failed", "export_video")
    assert project.renders_started() == 1


async def test_a_duplicate_render_id_is_replaced_once(project: Project) -> None:
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(duplicate_id_once=True)
        exported = await server.call("export_video")
    assert_success(exported)
    assert exported.structured["status"] == "completed"
    assert project.renders_started() == 1
    assert sum(project.sim.world.render_attempts.values()) == 2


# --- secrets ------------------------------------------------------------------------------------


async def test_the_token_never_reaches_the_agent_or_the_log(project: Project) -> None:
    project.sim.configure(secret_token=SECRET)
    async with project.launch("--verbose") as server:
        await make_video(server, project)
        await server.call("get_state")
        await server.call("get_credits")
        await server.call("export_video")
        project.sim.configure(credits_zero=True)
        refused = await server.call("generate_video", instruction="add music")
    assert SECRET in project.sim.world.tokens, "the simulator did not issue the secret token"
    assert_agent_error(refused, "no credits")
    (server,) = project.servers
    for call in server.calls:
        assert SECRET not in call.everything, f"{call.tool} leaked the token"
    assert any("no credits" in line for line in server.log_messages), "no MCP log notification was received"
    assert not any(SECRET in line for line in server.log_messages)
    log = project.stderr()
    assert "obtained a new anonymous token" in log
    assert SECRET not in log
