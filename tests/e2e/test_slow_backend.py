"""A backend that accepts connections and never answers: every tool still answers within its budget.

Over stdio, with `NEMO_CALL_BUDGET_S` short, against the simulator's `stall_paths` switch (requests
are accepted and not a byte is sent back). Each tool must answer within the budget plus 1 s, as a
tool error that names the true cause and the next step, not the safety net's generic "did not finish".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.harness import (
    INSTRUCTION,
    NemoServer,
    Project,
    assert_agent_error,
    assert_success,
    make_video,
    upload_photos,
)

BUDGET_S = 3.0
BUDGET_ENV = {"NEMO_CALL_BUDGET_S": str(BUDGET_S)}
SILENCE = ("sent no answer", "no byte received", "NEMO_BACKEND=local")


def no_arguments(project: Project) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class SlowCall:
    """One tool against a silent backend: its arguments, the endpoint only it needs, what it must say."""

    tool: str
    endpoint: str
    arguments: Callable[[Project], dict[str, Any]] = no_arguments
    must_say: tuple[str, ...] = field(default=SILENCE)


SLOW_CALLS = [
    SlowCall("get_credits", "/api/credits/"),
    SlowCall("get_state", "/api/state/"),
    SlowCall("upload_images", "/api/upload-video/", lambda project: {"paths": [str(p) for p in project.images]}),
]
"""Every tool that talks to the backend. A new tool (generate_video, export_video) is one more line."""


async def call_within_budget(server: NemoServer, project: Project, call: SlowCall) -> None:
    started = time.monotonic()
    result = await server.call(call.tool, **call.arguments(project))
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_S + 1, f"{call.tool} answered after {elapsed:.1f} s: {result.text}"
    assert_agent_error(result, *call.must_say)


async def test_a_backend_that_never_answers_is_reported_within_the_budget(
    project: Project, subtests: pytest.Subtests
) -> None:
    """Each tool is a subtest of one server process (so is each in the next test): a call the backend left hanging
    must leave the server ready to answer the next within its budget too, and a server start costs more CPU
    than the rest of a case."""
    project.sim.configure(stall_paths=["/api/", "/run_sse"])
    async with project.launch(extra_env=BUDGET_ENV) as server:
        for call in SLOW_CALLS:
            with subtests.test(call.tool):
                asked_before = len(project.requests_to("/api/"))
                await call_within_budget(server, project, call)
                assert len(project.requests_to("/api/")) > asked_before, "no request reached the simulator"


async def test_an_endpoint_that_never_answers_after_a_good_login_is_reported_within_the_budget(
    project: Project, subtests: pytest.Subtests
) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        for call in SLOW_CALLS:
            with subtests.test(call.tool):
                project.sim.configure(stall_paths=[call.endpoint])
                asked_before = len(project.requests_to(call.endpoint))
                await call_within_budget(server, project, call)
                assert project.requests_to("/api/auth/anonymous-token")[0].status == 200
                assert len(project.requests_to(call.endpoint)) > asked_before, f"{call.endpoint} was never asked"


async def test_an_editor_that_never_answers_leaves_a_running_job_reported_within_the_budget(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await upload_photos(server, project)
        project.sim.configure(stall_paths=["/run_sse"])
        started = time.monotonic()
        result = await server.call("generate_video", instruction=INSTRUCTION)
        elapsed = time.monotonic() - started
    assert elapsed < BUDGET_S + 1, f"generate_video answered after {elapsed:.1f} s: {result.text}"
    assert_success(result)
    assert result.structured and result.structured["status"] == "running"
    assert "No answer from the editor yet" in result.text and "get_job" in result.text
    assert len(project.requests_to("/run_sse")) == 1


async def test_a_render_start_that_never_answers_is_reported_within_the_budget(project: Project) -> None:
    async with project.launch(extra_env=BUDGET_ENV) as server:
        await make_video(server, project)
        project.sim.configure(stall_paths=["/api/render/"])
        started = time.monotonic()
        result = await server.call("export_video")
        elapsed = time.monotonic() - started
    assert elapsed < BUDGET_S + 1, f"export_video answered after {elapsed:.1f} s: {result.text}"
    assert_agent_error(result, *SILENCE)
