"""One contract, two backends: the same story through the `Backend` protocol against the local engine
and against the cloud client talking to the simulator on loopback.

The service only ever sees what this file asserts, so a backend that passes here can sit behind the
tools. Each test names one promise of the protocol (backends/base.py); a backend-specific detail
(how a session id looks, where a file lives) is not asserted here but in that backend's own tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import get_args

import pytest
from PIL import Image

from nemo_video_mcp.backends.base import Backend, RenderNotFoundError
from nemo_video_mcp.backends.cloud import CloudBackend
from nemo_video_mcp.backends.local import LocalBackend
from nemo_video_mcp.config import Settings
from nemo_video_mcp.media import check_media_file
from nemo_video_mcp.models import EditEvent, EditOptions, MediaFile, RenderStatus, TextEvent, UploadedFile
from nemo_video_mcp.render.probe import probe_video
from nemo_video_mcp.store import Store
from tests.sim import RunningSimulator, SimConfig, run_simulator

BACKENDS = ["local", "cloud"]
QUICK = EditOptions(duration_s=2.0, aspect="1:1", motion="static")
RENDER_WAIT_S = 90.0
EVENT_TYPES = get_args(EditEvent)


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    with run_simulator() as sim:
        yield sim


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "NEMO_CACHE_DIR": str(tmp_path / "cache"),
            "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
            "NEMO_POLL_INTERVAL": "0.05",
            "NEMO_WAIT_SCALE": "0.01",
            "NEMO_CLIENT_ID": "",
        }
    )


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Backend]:
    """Each test runs once per backend; the cloud one against a freshly reset simulator."""
    made: LocalBackend | CloudBackend
    if request.param == "local":
        made = LocalBackend(settings.model_copy(update={"backend": "local"}), Store(settings.cache_dir))
    else:
        sim: RunningSimulator = request.getfixturevalue("simulator")
        sim.world.reset(SimConfig())
        made = CloudBackend(settings.model_copy(update={"api_base": sim.base_url}), Store(settings.cache_dir))
    try:
        yield made
    finally:
        await made.aclose()


@pytest.fixture
def photos(tmp_path: Path) -> list[MediaFile]:
    """Three photos of different shapes and colours, checked as the service checks them."""
    paths = []
    for index, (size, colour) in enumerate([((640, 480), "teal"), ((480, 640), "orange"), ((500, 500), "navy")]):
        path = tmp_path / f"photo{index}.png"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    return [check_media_file(str(path)) for path in paths]


async def _edit(backend: Backend, instruction: str) -> list[EditEvent]:
    return [event async for event in backend.edit(instruction, QUICK)]


async def _finished(backend: Backend, job_id: str) -> RenderStatus:
    deadline = asyncio.get_running_loop().time() + RENDER_WAIT_S
    while True:
        status = await backend.poll_render(job_id)
        if status.finished:
            return status
        assert asyncio.get_running_loop().time() < deadline, f"render {job_id} still {status.status}"
        await asyncio.sleep(backend.poll_interval)


async def _edited(backend: Backend, photos: list[MediaFile]) -> dict:
    await backend.upload(photos, [])
    await _edit(backend, "Make a short slideshow of these photos")
    return (await backend.get_state()).draft


# --- session and account ---------------------------------------------------------------------


async def test_the_session_id_is_stable(backend: Backend) -> None:
    first = await backend.session_id()
    assert first and first == await backend.session_id()


async def test_credits_say_whether_they_are_needed(backend: Backend) -> None:
    credits = await backend.get_credits()
    assert credits.needs_credits == (backend.name == "cloud")
    assert credits.available >= 0 and credits.frozen >= 0


async def test_the_project_link_never_carries_a_secret(backend: Backend) -> None:
    link = await backend.project_link()
    assert link.kind in ("claim", "workspace", "local")
    assert (link.url is not None) or (link.path is not None)
    assert "token" not in (link.url or "").lower()


# --- uploads ---------------------------------------------------------------------------------


async def test_upload_returns_one_record_per_file_in_order(backend: Backend, photos: list[MediaFile]) -> None:
    uploaded = await backend.upload(photos, [])
    assert all(isinstance(file, UploadedFile) for file in uploaded)
    assert [file.source for file in uploaded] == [str(photo.path) for photo in photos]
    assert [file.file_type for file in uploaded] == ["image"] * 3
    assert all(file.filename.endswith(".png") for file in uploaded)
    recorded = {file.source: file for file in backend.uploads()}
    assert all(str(photo.path) in recorded for photo in photos), "the uploads are recorded on this machine"


# --- edits -----------------------------------------------------------------------------------


async def test_an_edit_yields_typed_events_with_a_reply_and_builds_the_draft(
    backend: Backend, photos: list[MediaFile]
) -> None:
    before = (await backend.get_state()).draft
    await backend.upload(photos, [])
    events = await _edit(backend, "Make a short slideshow of these photos")
    assert events and all(isinstance(event, EVENT_TYPES) for event in events)
    assert any(isinstance(event, TextEvent) and event.text.strip() for event in events)
    state = await backend.get_state()
    assert state.session_id == await backend.session_id()
    assert state.draft and state.draft != before
    assert isinstance(state.draft.get("t"), list) and state.draft["t"], "the draft has tracks"


# --- renders ---------------------------------------------------------------------------------


async def test_a_render_finishes_and_its_video_can_be_fetched(
    backend: Backend, photos: list[MediaFile], tmp_path: Path
) -> None:
    draft = await _edited(backend, photos)
    started = await backend.start_render("contract-render-1", draft)
    assert started.job_id == "contract-render-1" and started.status in ("pending", "processing", "completed")
    done = await _finished(backend, started.job_id)
    assert (done.status, done.progress) == ("completed", 100)
    assert done.url, "a finished render says where its video is"
    assert isinstance(backend.url_needs_auth(done.url), bool)
    target = tmp_path / "fetched" / "video.mp4"
    target.parent.mkdir()
    written = await backend.download_render(done.job_id, done.url, target)
    assert written == target and target.read_bytes()[4:8] == b"ftyp"
    assert probe_video(target).duration_s > 0
    assert not [p for p in target.parent.iterdir() if p != target], "no partial file left beside it"


async def test_an_unknown_render_is_not_found(backend: Backend) -> None:
    with pytest.raises(RenderNotFoundError):
        await backend.poll_render("contract-never-started")


async def test_cancelling_a_finished_render_leaves_it_finished(backend: Backend, photos: list[MediaFile]) -> None:
    draft = await _edited(backend, photos)
    started = await backend.start_render("contract-render-2", draft)
    await _finished(backend, started.job_id)
    await backend.cancel_render(started.job_id)
    assert (await backend.poll_render(started.job_id)).status == "completed"


async def test_the_protocol_timings_are_usable(backend: Backend) -> None:
    assert backend.poll_interval > 0 and backend.max_render_wait > 0
    assert backend.edit_recovery_delays_s and all(delay >= 0 for delay in backend.edit_recovery_delays_s)
