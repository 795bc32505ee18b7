"""A render whose status replies cannot be read never leaves a job stuck, nor blocks the next export."""

from __future__ import annotations

import pytest

from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import BadResponseError, RenderFailedError
from nemo_video_mcp.render_job import MAX_FAILED_POLLS
from nemo_video_mcp.render_jobs import RenderLedger
from nemo_video_mcp.store import Store
from tests.unit.test_service import ScriptedBackend, done, running, service_for

NAN = BadResponseError("render progress is not a usable number ('nan')")


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


async def test_a_few_unreadable_replies_are_counted_and_polled_past(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [NAN, running(40), NAN, NAN, NAN, NAN, done()]  # never MAX_FAILED_POLLS in a row
    result = await service_for(settings, backend).export_video()
    assert result.status == "completed" and result.url == "https://cdn/v.mp4"
    assert backend.render_polls == []


async def test_unreadable_replies_in_a_row_fail_the_job_and_the_next_export_starts_afresh(
    settings: Settings, backend: ScriptedBackend
) -> None:
    backend.render_polls = [running(20), *[NAN] * MAX_FAILED_POLLS]
    service = service_for(settings, backend)
    with pytest.raises(RenderFailedError) as caught:
        await service.export_video()
    text = caught.value.agent_message
    assert f"{MAX_FAILED_POLLS} status checks in a row brought unreadable replies" in text
    assert "'nan'" in text and "Next step: Call export_video again" in text
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert (job.status, job.progress) == ("failed", 20)

    backend.render_polls = [running(50), done("https://cdn/second.mp4")]
    again = await service.export_video()
    assert again.status == "completed" and again.url == "https://cdn/second.mp4"
    assert len(backend.renders_started) == 2 and again.job_id != job.job_id


async def test_an_unreadable_reply_read_once_leaves_the_job_as_it_was(
    settings: Settings, backend: ScriptedBackend
) -> None:
    gone = service_for(settings, backend)
    first = await gone.export_video(wait=False)
    await gone.aclose()  # that process has ended: its job task no longer polls
    backend.render_polls = [NAN, done()]
    resumed = await service_for(settings, backend).export_video(wait=False)  # reads once, then follows
    assert resumed.job_id == first.job_id
