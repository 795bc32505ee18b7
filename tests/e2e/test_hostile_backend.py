"""A hostile backend, over stdio: every tool answers in seconds, with a next step, in under 200 MB.

Each case turns on one of the simulator's hostile switches (tests/sim/config.py, "hostile replies")
and calls the real server process. The call must answer within the budget plus a second, say what
happened and what to do next (never a traceback or "internal error"), and the server's resident
memory, sampled with psutil while the call runs, must stay under `RSS_LIMIT_MB`. Each case prints
its figures (`-s` shows them): the call's time, the peak RSS sampled during it, and the process's
high-water mark (VmHWM) since it started.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.e2e.harness import (
    NemoServer,
    Project,
    ToolCall,
    assert_agent_error,
    assert_success,
    make_video,
    server_pid,
    upload_photos,
)
from tests.sim import hostile

BUDGET_S = 5.0
ENV = {"NEMO_CALL_BUDGET_S": str(BUDGET_S)}
RSS_LIMIT_MB = 200.0
MAX_REPLY_TEXT = 40_000
"""The edit job cuts reply text at 32,000 characters; with the rest of the message, well under this."""
MB = 1024 * 1024


@dataclass
class Memory:
    peak_mb: float = 0.0
    high_water_mb: float = 0.0


@contextmanager
def sampled_rss(pid: int, every_s: float = 0.01) -> Iterator[Memory]:
    """Sample the process's RSS while the block runs; then read its kernel high-water mark."""
    process = psutil.Process(pid)
    memory = Memory()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                memory.peak_mb = max(memory.peak_mb, process.memory_info().rss / MB)
            except psutil.Error:
                return
            done.wait(every_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield memory
    finally:
        done.set()
        sampler.join()
        memory.high_water_mb = _vm_hwm_mb(pid) or memory.peak_mb


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


async def measured(
    case: str, project: Project, server: NemoServer, tool: str, *, budget_s: float = BUDGET_S, **arguments: Any
) -> ToolCall:
    """One tool call, timed and its server's memory sampled; asserts the bounds every case shares (an answer
    within the server's call budget `budget_s` + 1 s among them)."""
    with sampled_rss(server_pid(project)) as memory:
        started = time.monotonic()
        call = await server.call(tool, **arguments)
        elapsed = time.monotonic() - started
    print(
        f"\nHOSTILE {case}: {tool} answered in {elapsed:.2f} s; peak RSS {memory.peak_mb:.0f} MB "
        f"(high-water {memory.high_water_mb:.0f} MB); error={call.is_error}; {len(call.everything)} chars"
    )
    assert elapsed < budget_s + 1, f"{tool} took {elapsed:.1f} s: {call.text[:500]}"
    assert memory.peak_mb < RSS_LIMIT_MB and memory.high_water_mb < RSS_LIMIT_MB, memory
    for forbidden in ("Traceback", "internal error", "RecursionError"):
        assert forbidden.lower() not in call.everything.lower(), call.text[:2000]
    assert len(call.everything) < 1_000_000, "the agent got more than a megabyte"
    return call


# --- replies too large ---------------------------------------------------------------------------


async def test_a_state_reply_too_large_is_refused_at_the_cap(project: Project, subtests: pytest.Subtests) -> None:
    """Each switch is a subtest of one server process: a refused reply must leave the server ready for the next
    call, and a server start costs more CPU than the rest of a case."""
    async with project.launch(extra_env=ENV) as server:
        for switch in ("state_gzip_bomb", "state_endless"):
            with subtests.test(switch):
                project.sim.configure(**{switch: True})
                call = await measured(switch, project, server, "get_state")
                project.sim.configure(**{switch: False})
                assert_agent_error(call, "reply to the state request was larger than 16 MB", "Next step")


async def test_a_50_mb_sse_line_is_skipped_and_the_edit_still_answers(project: Project) -> None:
    async with project.launch(extra_env=ENV) as server:
        await upload_photos(server, project)
        project.sim.configure(sse_huge_line_mb=50)
        call = await measured("sse_huge_line_mb=50", project, server, "generate_video", instruction="make a video")
    assert_success(call)
    assert len(call.text) < MAX_REPLY_TEXT and len(json.dumps(call.structured)) < 2 * MAX_REPLY_TEXT
    assert "too large to read" in call.everything and "Next step" in call.text
    assert project.edits_applied() == 1


BIG_DRAFT_BUDGET_S = 15.0
"""Reading, summarising and cutting a 10 MB draft is about 2.4 s of CPU on its own, which four test workers
on two cores stretch past 8 s: this case runs with a budget of its own (and must still answer within it)."""


async def test_a_10_mb_draft_is_summarised_and_exported_within_bounds(project: Project) -> None:
    async with project.launch(extra_env={"NEMO_CALL_BUDGET_S": str(BIG_DRAFT_BUDGET_S)}) as server:
        await make_video(server, project)
        project.sim.configure(big_draft_segments=100_000)
        big = {"project": project, "server": server, "budget_s": BIG_DRAFT_BUDGET_S}
        state = await measured("big_draft_segments=100000 (get_state)", tool="get_state", **big)
        assert_success(state)
        assert len(json.dumps(state.structured)) < 600_000
        exported = await measured("big_draft_segments=100000 (export_video)", tool="export_video", **big)
    assert_success(exported)
    assert exported.structured and exported.structured["status"] == "completed"


# --- numbers and codes that are not ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["nan", "1e999"])
async def test_an_unreadable_render_progress_fails_the_render_and_the_next_export_works(
    project: Project, mode: str
) -> None:
    async with project.launch(extra_env=ENV) as server:
        await make_video(server, project)
        project.sim.configure(render_progress=mode)
        failed = await measured(f"render_progress={mode}", project, server, "export_video")
        assert_agent_error(failed, "status checks in a row brought unreadable replies", "Next step")
        project.sim.configure(render_progress="number")
        again = await measured(f"render_progress={mode} (export again)", project, server, "export_video")
    assert_success(again)
    assert again.structured and again.structured["status"] == "completed"
    assert project.renders_started() == 2


async def test_infinity_in_a_draft_still_shows_and_exports(project: Project) -> None:
    async with project.launch(extra_env=ENV) as server:
        await make_video(server, project)
        project.sim.configure(draft_infinity=True)
        state = await measured("draft_infinity (get_state)", project, server, "get_state")
        assert_success(state)
        exported = await measured("draft_infinity (export_video)", project, server, "export_video")
    assert_success(exported)
    (start,) = project.sim.world.requests_to("/api/render/proxy/lambda", "POST")
    assert start.body_json["draft"]["t"][0]["tt"] is None  # sent back as null, not as Infinity


@pytest.mark.parametrize("code", ["--5", "²"])
async def test_an_odd_code_is_a_clear_error(project: Project, code: str) -> None:
    project.sim.configure(odd_code=code)
    async with project.launch(extra_env=ENV) as server:
        call = await measured(f"odd_code={code}", project, server, "get_credits")
    assert_agent_error(call, "code that is not a number", "Next step")


async def test_json_nested_1500_deep_in_the_envelope_is_a_clear_error(project: Project) -> None:
    project.sim.configure(deep_json="envelope", deep_json_depth=1500)
    async with project.launch(extra_env=ENV) as server:
        call = await measured("deep_json=envelope", project, server, "get_credits")
    assert_agent_error(call, "nested more than 64 deep", "Next step")


async def test_an_sse_event_nested_1500_deep_is_skipped(project: Project) -> None:
    async with project.launch(extra_env=ENV) as server:
        await upload_photos(server, project)
        project.sim.configure(deep_json="sse", deep_json_depth=1500)
        call = await measured("deep_json=sse", project, server, "generate_video", instruction="make a video")
    assert_success(call)
    assert hostile.DEEP_TEXT not in call.everything


# --- tokens ------------------------------------------------------------------------------------


async def test_a_backend_that_rejects_every_token_is_told_once_and_not_asked_again(project: Project) -> None:
    project.sim.configure(reject_tokens=True)
    async with project.launch(extra_env=ENV) as server:
        for attempt in range(3):
            call = await measured(f"reject_tokens (call {attempt + 1})", project, server, "get_credits")
            assert_agent_error(call, "keeps rejecting new tokens", "NEMO_TOKEN", "nemo-video-mcp doctor", "wait")
    assert len(project.requests_to("/api/auth/anonymous-token")) == 2  # the first token and one renewal
