"""The local backend through the Backend protocol: upload, edit, state, render, restart, cancel."""

from __future__ import annotations

import asyncio
import inspect
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import pytest

from nemo_video_mcp.backends.base import Backend, RenderNotFoundError
from nemo_video_mcp.backends.local import LocalBackend
from nemo_video_mcp.draft import timeline_summary
from nemo_video_mcp.errors import InputError, MediaFileError, NothingToExportError
from nemo_video_mcp.lease import my_lease
from nemo_video_mcp.models import EditOptions, MediaFile, ProgressEvent, TextEvent
from nemo_video_mcp.render.probe import count_frames, probe_video
from nemo_video_mcp.render.runner import ffmpeg_exe
from tests.processes import dead_lease, foreign_process

from .test_render_images import striped_image

QUICK = EditOptions(duration_s=1.0, aspect="1:1", motion="static")


def _media(path: Path, kind: str = "image", fmt: str = "png") -> MediaFile:
    return MediaFile(path=path, kind=kind, format=fmt, mime_type=f"{kind}/{fmt}", size_bytes=path.stat().st_size)


@pytest.fixture
async def backend(settings, store):
    local = LocalBackend(settings, store)
    yield local
    await local.aclose()


@pytest.fixture
def photos(tmp_path) -> list[MediaFile]:
    sizes = [(640, 480), (480, 640), (500, 500)]
    return [_media(striped_image(tmp_path / f"photo{i}.png", size, "teal")) for i, size in enumerate(sizes)]


async def _edit(backend: LocalBackend, text: str, options: EditOptions = QUICK) -> list:
    return [event async for event in backend.edit(text, options)]


async def _wait(backend: LocalBackend, job_id: str, timeout: float = 60):
    for _ in range(int(timeout / 0.05)):
        status = await backend.poll_render(job_id)
        if status.finished:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"render {job_id} did not finish")


def _protocol_methods() -> dict[str, Any]:
    return {name: member for name, member in vars(Backend).items() if inspect.isfunction(member) and name[0] != "_"}


def test_is_a_backend(settings, store):
    """Every member of the protocol, with the same parameters, types and kind (coroutine, async generator)."""
    local = LocalBackend(settings, store)
    for name, kind in get_type_hints(Backend).items():
        value = getattr(local, name)
        if get_origin(kind) is Literal:
            assert value in get_args(kind), name
        else:
            assert isinstance(value, get_origin(kind) or kind), name
    assert all(isinstance(delay, float) for delay in local.edit_recovery_delays_s)
    methods = _protocol_methods()
    assert {"edit", "start_render", "cancel_render", "download_render", "aclose"} <= set(methods)
    for name, declared in methods.items():
        mine = getattr(LocalBackend, name, None)
        assert inspect.isfunction(mine), f"LocalBackend has no method {name}"
        assert inspect.signature(mine).parameters.keys() == inspect.signature(declared).parameters.keys(), name
        assert get_type_hints(mine) == get_type_hints(declared), name
        if inspect.iscoroutinefunction(declared):
            assert inspect.iscoroutinefunction(mine), f"{name} must be a coroutine"
        else:
            assert not inspect.iscoroutinefunction(mine), f"{name} must not be a coroutine"
    assert inspect.isasyncgenfunction(LocalBackend.edit)
    assert (local.name, local.poll_interval, local.max_render_wait) == ("local", 0.5, 600.0)


async def test_session_id_is_stable_across_instances(backend, settings, store):
    first = await backend.session_id()
    assert first.startswith("local_")
    assert await LocalBackend(settings, store).session_id() == first


async def test_credits_are_not_needed(backend):
    credits = await backend.get_credits()
    assert (credits.available, credits.needs_credits, credits.anonymous) == (0, False, False)


async def test_upload_copies_by_content_hash(backend, photos):
    uploaded = await backend.upload(photos, [])
    assert [(u.filename, u.width, u.height, u.file_type) for u in uploaded] == [
        ("photo0.png", 640, 480, "image"), ("photo1.png", 480, 640, "image"), ("photo2.png", 500, 500, "image"),
    ]  # fmt: skip
    for source, file in zip(photos, uploaded, strict=True):
        blob = Path(file.url.removeprefix("file://"))
        assert blob.read_bytes() == source.path.read_bytes()
        assert blob.stem == file.content_hash and len(file.content_hash) == 64
        assert oct(blob.stat().st_mode & 0o777) == "0o600"
    photos[0].path.unlink()  # the project keeps its own copy
    assert Path(uploaded[0].url.removeprefix("file://")).is_file()
    again = await backend.upload(photos[1:2], [])  # the same content again is not recorded twice
    assert again[0].content_hash == uploaded[1].content_hash
    assert (await backend.get_state()).extra["files"] == ["photo0.png", "photo1.png", "photo2.png"]


async def test_upload_refuses_urls_videos_and_broken_images(backend, tmp_path):
    with pytest.raises(InputError, match="offline"):
        await backend.upload([], ["https://example.com/a.jpg"])
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 64)
    with pytest.raises(MediaFileError, match="still images only"):
        await backend.upload([_media(clip, "video", "mp4")], [])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(MediaFileError, match="could not be read"):
        await backend.upload([_media(broken)], [])


async def test_edit_saves_a_draft_and_describes_the_plan(backend, photos):
    await backend.upload(photos, [])
    events = await _edit(
        backend, 'a vertical 12-second video with ken burns motion and the title "Hidden Peaks", add slow motion',
        EditOptions(),
    )  # fmt: skip
    assert isinstance(events[0], ProgressEvent) and events[0].percent == 0
    assert [type(event) for event in events].count(TextEvent) == 1
    text = events[-1].text
    assert "12 s vertical" in text and "Hidden Peaks" in text
    assert text.endswith("Not supported offline: slow motion.")
    state = await backend.get_state()
    assert state.session_id == await backend.session_id()
    assert state.draft["d"] == 12000 and state.draft["m"]["height"] == 1920
    video = next(track for track in state.draft["t"] if track["tt"] == 0)
    assert [segment["m"]["name"] for segment in video["sg"]] == ["photo0.png", "photo1.png", "photo2.png"]


async def test_a_follow_up_edits_the_saved_timeline_and_says_what_it_kept(backend, photos):
    await backend.upload(photos, [])
    await _edit(backend, 'a vertical 12-second video with wipe transitions titled "Alps"', EditOptions())
    events = await _edit(backend, "make it square", EditOptions())
    assert events[-1].text == 'Aspect 9:16 → 1:1; kept: 12 s, wipe, title "Alps".'
    draft = (await backend.get_state()).draft
    assert (draft["d"], draft["m"]["aspect"], draft["m"]["transition"]) == (12000, "1:1", "wipe")
    assert timeline_summary(draft) == (
        'Timeline (2 tracks): 1. Video: photo0.png + 2 more (0-12s) 2. Title: "Alps" (0-4s)'
    )
    vague = await _edit(backend, "make it pop", EditOptions())
    assert vague[-1].text.startswith('Nothing changed; kept: 12 s, 1:1, wipe, title "Alps". No edit the offline')
    assert "'make it pop'" in vague[-1].text and "'music at 35%'" in vague[-1].text


async def test_start_over_rebuilds_the_timeline(backend, photos):
    await backend.upload(photos, [])
    await _edit(backend, 'a vertical 12-second video titled "Alps"', EditOptions())
    events = await _edit(backend, "start over, square", EditOptions())
    assert events[-1].text.startswith("Planned a 9 s square video")
    draft = (await backend.get_state()).draft
    assert draft["d"] == 9000 and [track["tt"] for track in draft["t"]] == [0]


async def test_photos_uploaded_after_the_timeline_are_appended_and_a_removed_one_stays_out(backend, photos, tmp_path):
    await backend.upload(photos[:2], [])
    await _edit(backend, "6 seconds", EditOptions())
    await backend.upload(photos[2:], [])
    events = await _edit(backend, "remove photo 1", EditOptions())
    assert events[-1].text.startswith("Removed photo 1 (photo0.png); added photo 2 (photo2.png)")
    names = lambda draft: [s["m"]["name"] for s in draft["t"][0]["sg"]]  # noqa: E731
    assert names((await backend.get_state()).draft) == ["photo1.png", "photo2.png"]
    await _edit(backend, "dissolves", EditOptions())
    assert names((await backend.get_state()).draft) == ["photo1.png", "photo2.png"]


async def test_edit_without_images_asks_for_an_upload(backend):
    with pytest.raises(InputError, match="No images"):
        await _edit(backend, "make a video")


async def test_uploaded_audio_becomes_the_music_when_asked(backend, photos, tmp_path):
    song = tmp_path / "song.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=3", str(song)], check=True
    )
    await backend.upload([*photos[:2], _media(song, "audio", "wav")], [])
    events = await _edit(backend, "a video with music")
    assert "Music: " in events[-1].text and "Not supported" not in events[-1].text
    audio = [track for track in (await backend.get_state()).draft["t"] if track["tt"] == 1]
    assert audio and audio[0]["sg"][0]["m"]["src"].endswith(".wav")


async def test_missing_music_path_is_an_input_error(backend, photos, tmp_path):
    await backend.upload(photos, [])
    with pytest.raises(InputError, match="No file at"):
        await _edit(backend, "go", EditOptions(music_path=str(tmp_path / "nope.mp3")))


async def test_render_writes_the_video_and_reports_it(backend, photos, settings):
    await backend.upload(photos, [])
    await _edit(backend, "square, 1 second, static, hard cuts")
    draft = (await backend.get_state()).draft
    started = await backend.start_render("render_one", draft)
    assert started.status == "pending"
    status = await _wait(backend, "render_one")
    assert status.status == "completed" and status.progress == 100
    path = settings.output_dir / "render_one.mp4"
    assert status.url == path.resolve().as_uri() and status.file_path == str(path)
    assert status.size_bytes == path.stat().st_size and status.duration_s == pytest.approx(1.0, abs=1 / 30)
    info = probe_video(path)
    assert (info.width, info.height, info.codec) == (1080, 1080, "h264") and count_frames(path) == 30
    assert sorted(os.listdir(settings.output_dir)) == ["render_one.mp4"]


async def test_unknown_render_is_not_found(backend):
    with pytest.raises(RenderNotFoundError):
        await backend.poll_render("render_never")
    with pytest.raises(RenderNotFoundError):
        await backend.cancel_render("render_never")


async def test_empty_draft_is_refused_at_start(backend):
    with pytest.raises(NothingToExportError):
        await backend.start_render("render_empty", {})


async def test_interrupted_render_restarts_after_a_server_restart(settings, store, photos):
    first = LocalBackend(settings, store)
    await first.upload(photos, [])
    await _edit(first, "ignored", EditOptions(duration_s=3.0, aspect="9:16", motion="kenburns"))
    await first.start_render("render_restart", (await first.get_state()).draft)
    await asyncio.sleep(0.3)
    await first.aclose()  # the server stops mid-render: ffmpeg is killed, the job stays 'processing'
    assert not (settings.output_dir / "render_restart.mp4").exists()
    assert store.profile("local").read("render-render_restart")["owner"] is None  # free for any server

    second = LocalBackend(settings, store)
    try:
        restarted = await second.poll_render("render_restart")
        assert restarted.status in ("pending", "processing")
        status = await _wait(second, "render_restart")
        assert status.status == "completed"
        assert count_frames(settings.output_dir / "render_restart.mp4") == 90
    finally:
        await second.aclose()


async def test_a_job_a_live_server_renders_is_left_to_it_and_a_dead_ones_is_rendered_again(settings, store, photos):
    first = LocalBackend(settings, store)
    await first.upload(photos, [])
    await _edit(first, "square, 1 second, static, hard cuts")
    await first.start_render("render_shared", (await first.get_state()).draft)
    await first.aclose()
    jobs = store.profile("local")
    with foreign_process() as (other_server, lease):
        job = jobs.read("render-render_shared")
        job.update(status="processing", progress=42, owner=lease.model_dump())  # another server renders it
        jobs.write("render-render_shared", job)
        second = LocalBackend(settings, store)
        try:
            for _ in range(3):
                status = await second.poll_render("render_shared")
                assert (status.status, status.progress) == ("processing", 42)
                await asyncio.sleep(0.2)
            assert jobs.read("render-render_shared")["owner"] == lease.model_dump()
            assert not settings.output_dir.exists() or os.listdir(settings.output_dir) == []

            other_server.kill()
            other_server.wait()
            assert (await second.poll_render("render_shared")).status == "pending"
            assert (await _wait(second, "render_shared")).status == "completed"
            assert jobs.read("render-render_shared")["owner"] == my_lease().model_dump()
        finally:
            await second.aclose()


async def test_start_up_removes_what_a_dead_servers_render_left(settings, store, tmp_path, monkeypatch):
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    settings.output_dir.mkdir(parents=True)
    dead = dead_lease()
    with foreign_process() as (_other_server, live):
        paths = {
            owner: [
                settings.output_dir / f".render_a.mp4.{owner.tag}.0123abcd.part",
                temp_dir / f"nemo-render-{owner.tag}-a1",
            ]
            for owner in (dead, live)
        }
        for part, folder in paths.values():
            part.write_bytes(b"video")
            folder.mkdir()
            (folder / "still-000.y4m").write_bytes(b"frame")

        LocalBackend(settings, store)
        assert [path.exists() for path in paths[dead]] == [False, False]
        assert [path.exists() for path in paths[live]] == [True, True]


async def test_cancel_stops_the_render(backend, photos, settings):
    await backend.upload(photos, [])
    await _edit(backend, "ignored", EditOptions(duration_s=20.0, motion="kenburns"))
    await backend.start_render("render_cancel", (await backend.get_state()).draft)
    for _ in range(200):
        if (await backend.poll_render("render_cancel")).progress > 10:
            break
        await asyncio.sleep(0.05)
    await backend.cancel_render("render_cancel")
    status = await backend.poll_render("render_cancel")
    assert status.status == "cancelled"
    assert list(settings.output_dir.iterdir()) == []  # neither the video nor a temp file


async def test_a_deleted_output_is_reported_as_failed(backend, photos, settings):
    await backend.upload(photos[:1], [])
    await _edit(backend, "1 second")
    await backend.start_render("render_gone", (await backend.get_state()).draft)
    assert (await _wait(backend, "render_gone")).status == "completed"
    (settings.output_dir / "render_gone.mp4").unlink()
    status = await backend.poll_render("render_gone")
    assert status.status == "failed" and "deleted" in (status.error or "")


async def test_bad_job_ids_are_refused(backend):
    with pytest.raises(InputError):
        await backend.start_render("../escape", {"t": [{"tt": 0, "sg": [{"d": 1000}]}]})
