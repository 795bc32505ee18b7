"""Local files that must not get in, and an uploaded copy found damaged at render time (local backend)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from nemo_video_mcp.app import build_app
from nemo_video_mcp.backends.local import LocalBackend
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import MediaFileError
from nemo_video_mcp.media import check_media_file
from nemo_video_mcp.models import EditOptions
from nemo_video_mcp.paths import path_of_file_url

QUICK = EditOptions(duration_s=1.0, aspect="1:1", motion="static")


@pytest.fixture
async def backend(settings: Settings, store):
    local = LocalBackend(settings, store)
    yield local
    await local.aclose()


def beach(folder: Path) -> Path:
    path = folder / "beach.jpg"
    Image.effect_noise((640, 480), 40).convert("RGB").save(path, quality=90)
    return path


def blob_files(backend: LocalBackend) -> list[Path]:
    return sorted(backend._store.blob_dir().iterdir())


def sparse_mp3(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.write(b"ID3\x04\x00\x00\x00\x00\x00\x10")
        handle.truncate(size)
    return path


@pytest.mark.parametrize(
    ("music", "said"),
    [
        (lambda tmp: Path("/etc/passwd"), "plain text"),
        (lambda tmp: sparse_mp3(tmp / "huge.mp3", 300 * 1024 * 1024), "larger than the 200 MB"),
        (lambda tmp: beach(tmp), "an image (jpeg), not audio"),
    ],
    ids=["etc-passwd", "sparse-300MB-mp3", "an-image"],
)
async def test_music_path_is_checked_like_an_upload_and_never_copied(backend, tmp_path, music, said) -> None:
    await backend.upload([check_media_file(str(beach(tmp_path)))], [])
    before = blob_files(backend)

    with pytest.raises(MediaFileError, match=re.escape(said)) as caught:
        _ = [event async for event in backend.edit("go", QUICK.model_copy(update={"music_path": str(music(tmp_path))}))]

    assert "music_path" in caught.value.next_step
    assert blob_files(backend) == before, "nothing was copied into the cache"


async def test_music_path_outside_the_allowed_folders_is_refused(settings, store, tmp_path) -> None:
    song = sparse_mp3(tmp_path / "song.mp3", 4096)
    local = LocalBackend(settings.model_copy(update={"allowed_dirs": ((tmp_path / "only-here").resolve(),)}), store)
    try:
        await local.upload([check_media_file(str(beach(tmp_path)))], [])
        with pytest.raises(MediaFileError, match="outside the folders"):
            _ = [event async for event in local.edit("go", QUICK.model_copy(update={"music_path": str(song)}))]
    finally:
        await local.aclose()


async def _finished(backend: LocalBackend, job_id: str):
    for _ in range(1200):
        status = await backend.poll_render(job_id)
        if status.finished:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError("the render did not finish")


async def test_a_damaged_copy_at_render_time_is_named_as_the_user_knows_it(backend, tmp_path) -> None:
    (uploaded,) = await backend.upload([check_media_file(str(beach(tmp_path)))], [])
    blob = path_of_file_url(uploaded.url or "")
    blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])  # damaged in the cache after the upload
    _ = [event async for event in backend.edit("go", QUICK)]

    await backend.start_render("render_damaged", (await backend.get_state()).draft)
    status = await _finished(backend, "render_damaged")

    assert status.status == "failed" and status.error
    assert "beach.jpg" in status.error and blob.stem not in status.error
    assert "fails the same way" in status.error


async def test_export_of_a_damaged_copy_says_to_upload_it_again_not_to_export_again(settings, tmp_path) -> None:
    local = settings.model_copy(update={"backend": "local"})
    async with Client(build_app(local)) as client:
        uploaded = await client.call_tool("upload_images", {"paths": [str(beach(tmp_path))]})
        blob = path_of_file_url(uploaded.structured_content["files"][0]["url"])
        blob.write_bytes(blob.read_bytes()[: blob.stat().st_size // 2])
        await client.call_tool("generate_video", {"instruction": "go", "duration_s": 1, "motion": "static"})
        exported = await client.call_tool("export_video", {})
    text = exported.content[0].text
    assert exported.is_error and "beach.jpg" in text and blob.stem not in text
    next_step = text.split("Next step:", 1)[1]
    assert "upload_images" in next_step and "export_video again" not in next_step
