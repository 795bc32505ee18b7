"""Work outlives the tool call, over stdio: hosts that give up, a server killed mid-edit, two servers, stale renders.

The simulator's edit and render each take longer than the host's patience and than the call budget.
Whatever the host does, each wish is sent once, paid once, and its outcome reaches the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError

from tests.e2e.harness import INSTRUCTION, NemoServer, Project, ToolCall, assert_success, server_pid, upload_photos

BUDGET_S = 3.0
BUDGET_ENV = {"NEMO_CALL_BUDGET_S": str(BUDGET_S)}
HOST_PATIENCE_S = 1.0
SLOW_EDIT = {"heartbeats_per_gap": 45, "heartbeat_interval_s": 0.1}
"""About 4.5 s of editor work (heartbeats) before the edit lands: longer than the host and the budget."""
EDIT_COST = 50


async def timed(server: NemoServer, tool: str, **arguments: object) -> ToolCall:
    """One call, which must answer within the budget (plus a second for the pipes)."""
    started = time.monotonic()
    call = await server.call(tool, **arguments)
    elapsed = time.monotonic() - started
    assert elapsed <= BUDGET_S + 1, f"{tool} took {elapsed:.1f} s, budget {BUDGET_S} s"
    return call


async def give_up(server: NemoServer, how: str, tool: str, **arguments: object) -> None:
    """Play a host that stops waiting after HOST_PATIENCE_S: by its read timeout, or by cancelling."""
    assert server.client is not None
    if how == "read_timeout":
        with pytest.raises(MCPError, match="timed out"):
            await server.client.call_tool(tool, dict(arguments), read_timeout_seconds=HOST_PATIENCE_S)
        return
    call = asyncio.ensure_future(server.client.call_tool(tool, dict(arguments)))
    await asyncio.sleep(HOST_PATIENCE_S)
    call.cancel()  # the SDK sends notifications/cancelled for a caller-cancelled request
    with contextlib.suppress(asyncio.CancelledError):
        await call


async def follow(server: NemoServer, job_id: str | None = None, rounds: int = 10) -> ToolCall:
    """get_job until the job has ended."""
    arguments = {"job_id": job_id} if job_id else {}
    for _ in range(rounds):
        job = await timed(server, "get_job", **arguments)
        assert_success(job)
        if job.structured and job.structured["status"] != "running":
            return job
    raise AssertionError(f"the job did not end in {rounds} get_job calls")


def available_credits(project: Project) -> float:
    with project.sim.world.lock:
        return sum(user.available for user in project.sim.world.users.values())


@pytest.mark.parametrize("how", ["read_timeout", "notifications_cancelled"])
async def test_a_host_that_gives_up_loses_nothing_and_pays_once(project: Project, how: str) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        before = available_credits(project)
        project.sim.configure(**SLOW_EDIT)
        await give_up(server, how, "generate_video", instruction=INSTRUCTION)
        repeated = await timed(server, "generate_video", instruction=INSTRUCTION)  # the agent, told nothing, asks again
        assert_success(repeated)
        assert repeated.structured and repeated.structured["already_sent"] is True
        assert repeated.progress, "no progress notifications while the call was open"
        if repeated.structured["status"] == "running":
            assert "get_job" in repeated.text
            finished = await follow(server, repeated.structured["job_id"])
        else:
            finished = repeated
        assert "photos on the video track" in finished.text, finished.text
    assert len(project.requests_to("/run_sse")) == 1
    assert project.edits_applied() == 1
    assert before - available_credits(project) == EDIT_COST


async def test_an_edit_longer_than_the_budget_answers_with_its_job_and_get_job_returns_the_reply(
    project: Project,
) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        project.sim.configure(**SLOW_EDIT)
        first = await timed(server, "generate_video", instruction=INSTRUCTION)
        assert_success(first)
        assert first.structured and first.structured["status"] == "running"
        assert first.structured["job_id"] in first.text and "get_job" in first.text
        finished = await follow(server)  # the latest job by default
    assert finished.structured and finished.structured["kind"] == "edit"
    assert finished.structured["job_id"] == first.structured["job_id"]
    assert "photos on the video track" in (finished.structured["reply"] or "")
    assert len(project.requests_to("/run_sse")) == 1


async def test_a_server_killed_mid_edit_recovers_the_edit_instead_of_sending_it_again(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        project.sim.configure(**SLOW_EDIT)
        call = asyncio.ensure_future(server.call("generate_video", instruction=INSTRUCTION))
        for _ in range(100):
            if project.requests_to("/run_sse"):
                break
            await asyncio.sleep(0.05)
        os.kill(server_pid(project), signal.SIGKILL)
        with contextlib.suppress(BaseException):
            await call
        server.stdout_faults.clear()
    # the editor (server-side) finishes the turn although its client died
    async with project.launch(extra_env=BUDGET_ENV) as restarted:
        again = await timed(restarted, "generate_video", instruction=INSTRUCTION)
        assert_success(again)
        if again.structured and again.structured["status"] == "running":
            again = await follow(restarted)
    assert len(project.requests_to("/run_sse")) == 1
    assert "landed" in again.text and "not re-sent" in again.text, again.text
    assert project.edits_applied() == 1


async def test_two_live_servers_on_one_cache_do_not_take_each_other_for_dead(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as one, project.launch(extra_env=BUDGET_ENV) as two:
        await upload_photos(one, project)
        project.sim.configure(**SLOW_EDIT)
        first = await timed(one, "generate_video", instruction=INSTRUCTION)
        assert first.structured and first.structured["status"] == "running"
        seen_by_two = await timed(two, "generate_video", instruction=INSTRUCTION)
        assert_success(seen_by_two)
        assert seen_by_two.structured and seen_by_two.structured["job_id"] == first.structured["job_id"]
        assert seen_by_two.structured["already_sent"] is True
        finished = await follow(two, first.structured["job_id"])
    assert finished.structured and finished.structured["status"] == "completed"
    assert len(project.requests_to("/run_sse")) == 1
    assert "was in flight when its server stopped" not in project.stderr()


async def test_an_export_after_an_edit_renders_the_new_timeline(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        assert_success(await timed(server, "generate_video", instruction=INSTRUCTION))
        project.sim.configure(slow_render=True)
        old = await timed(server, "export_video", wait=False)
        assert_success(old)
        assert_success(await timed(server, "generate_video", instruction="add lo-fi music"))
        project.sim.configure(slow_render=False)
        new = await timed(server, "export_video")
        assert_success(new)
        if new.structured and new.structured["status"] != "completed":
            new = await follow(server, new.structured["job_id"])
        assert old.structured and new.structured and new.structured["job_id"] != old.structured["job_id"]
        earlier = await follow(server, old.structured["job_id"], rounds=30)
    assert project.renders_started() == 2
    assert earlier.structured and earlier.structured["earlier_version"] is True
    assert "earlier version" in earlier.text


async def test_a_render_longer_than_the_budget_goes_on_and_get_job_returns_the_video(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        assert_success(await timed(server, "generate_video", instruction=INSTRUCTION))
        project.sim.configure(render_seconds=2 * BUDGET_S)
        exported = await timed(server, "export_video")
        assert_success(exported)
        assert exported.structured and exported.structured["status"] in ("pending", "processing")
        assert "get_job" in exported.text and exported.progress
        finished = await follow(server, exported.structured["job_id"])
    assert finished.structured and finished.structured["status"] == "completed"
    assert finished.structured["file_path"] and Path(finished.structured["file_path"]).stat().st_size > 0
    assert project.renders_started() == 1


async def test_a_server_killed_mid_render_resumes_the_same_render(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        assert_success(await timed(server, "generate_video", instruction=INSTRUCTION))
        project.sim.configure(render_seconds=4 * BUDGET_S)
        started = await timed(server, "export_video", wait=False)
        assert started.structured and started.structured["status"] in ("pending", "processing")
        os.kill(server_pid(project), signal.SIGKILL)
        server.stdout_faults.clear()
    async with project.launch(extra_env=BUDGET_ENV) as restarted:
        again = await timed(restarted, "export_video")
        assert_success(again)
        assert again.structured and again.structured["job_id"] == started.structured["job_id"]
        if again.structured["status"] != "completed":
            again = await follow(restarted, again.structured["job_id"])
    assert again.structured and again.structured["status"] == "completed"
    assert project.renders_started() == 1
