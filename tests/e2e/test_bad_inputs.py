"""Bad files and bad arguments over stdio: a clear error with the next step, and nothing sent to the backend."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.harness import INSTRUCTION, Project, assert_agent_error, upload_photos

MB = 1024 * 1024


def missing_file(folder: Path) -> Path:
    return folder / "not-here.jpg"


def text_named_jpg(folder: Path) -> Path:
    path = folder / "notes.jpg"
    path.write_text("shopping list: eggs, milk, a tripod\n", encoding="utf-8")
    return path


def a_directory(folder: Path) -> Path:
    path = folder / "album"
    path.mkdir()
    return path


def oversize_sparse_file(folder: Path) -> Path:
    """201 MB on paper, almost nothing on disk (like `truncate -s 201M`)."""
    path = folder / "huge.jpg"
    with path.open("wb") as handle:
        handle.write(b"\xff\xd8\xff\xe0")
    os.truncate(path, 201 * MB)
    return path


def png_header_then_garbage(folder: Path) -> Path:
    path = folder / "garbage.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    return path


def png_bomb(folder: Path) -> Path:
    """A 30000x30000 PNG in a few hundred bytes: its header claims 900 megapixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (30000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    path = folder / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(4096))))
    return path


def truncated_jpeg(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.effect_noise((800, 600), 40).convert("RGB").save(buffer, format="JPEG", quality=90)
    path = folder / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


BAD_FILES = [
    pytest.param(missing_file, ("No file at", "absolute path"), id="missing"),
    pytest.param(text_named_jpg, ("plain text", "not a supported media file"), id="text-named-jpg"),
    pytest.param(a_directory, ("is a folder",), id="directory"),
    pytest.param(oversize_sparse_file, ("200 MB", "compress"), id="oversize-201MB"),
    pytest.param(png_header_then_garbage, ("cannot be decoded", "export (save) it again"), id="png-garbage"),
    pytest.param(png_bomb, ("900 megapixels", "Shrink the image"), id="png-30000x30000"),
    pytest.param(truncated_jpeg, ("truncated", "export (save) it again"), id="truncated-jpeg"),
]
"""Each case is a subtest of one server process: a refusal must leave it ready for the next call, and a
server start costs more CPU than the rest of a case."""


async def test_a_bad_file_is_refused_before_anything_is_sent(
    project: Project, tmp_path: Path, subtests: pytest.Subtests
) -> None:
    async with project.launch() as server:
        for case in BAD_FILES:
            make_bad_file, must_say = case.values
            with subtests.test(case.id):
                bad = make_bad_file(tmp_path)
                refused = await server.call("upload_images", paths=[str(project.images[0]), str(bad)])
                assert_agent_error(refused, str(bad), *must_say)
                assert project.requests_to("/api/upload-video/") == []
                assert project.sim.world.uploads == []


BAD_ARGUMENTS = [
    pytest.param("generate_video", {"instruction": INSTRUCTION, "duration_s": -5}, ("duration_s", "1 to 600"),
                 id="duration-minus-5"),
    pytest.param("generate_video", {"instruction": INSTRUCTION, "aspect": "bogus"},
                 ("aspect", '"16:9", "9:16", "1:1"'), id="aspect-bogus"),
    pytest.param("generate_video", {"instruction": INSTRUCTION, "transition": "zoomy"},
                 ("transition", '"fade", "slide", "wipe", "dissolve", "none"'), id="transition-zoomy"),
    pytest.param("upload_images", {"paths": []}, ("paths", "1 to 50 items"), id="no-paths"),
    pytest.param("generate_video", {"instruction": "x" * MB}, ("instruction", "at most 4,000 characters"),
                 id="instruction-1MB"),
    pytest.param("generate_video", {"instruction": INSTRUCTION, "title": "T" * 300},
                 ("title", "at most 200 characters"), id="title-300"),
]  # fmt: skip


async def test_a_bad_argument_gets_our_message_and_costs_nothing(project: Project, subtests: pytest.Subtests) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        for case in BAD_ARGUMENTS:
            tool, arguments, must_say = case.values
            with subtests.test(case.id):
                before = len(project.requests_to(""))
                refused = await server.call(tool, **arguments)
                assert_agent_error(refused, f"`{must_say[0]}`", must_say[1], "nothing charged")
                assert "pydantic" not in refused.text.lower() and len(refused.text) < 2000
                assert len(project.requests_to("")) == before, "the backend heard nothing of it"
                assert project.requests_to("/run_sse") == [] and project.edits_applied() == 0


def sparse_mp3(folder: Path) -> Path:
    path = folder / "huge.mp3"
    with path.open("wb") as handle:
        handle.write(b"ID3\x04\x00\x00\x00\x00\x00\x10")
    os.truncate(path, 300 * MB)
    return path


BAD_MUSIC = [
    pytest.param(lambda folder: Path("/etc/passwd"), "plain text", id="etc-passwd"),
    pytest.param(sparse_mp3, "larger than the 200 MB", id="sparse-300MB-mp3"),
]


async def test_a_bad_music_path_is_refused_before_anything_is_uploaded_or_edited(
    project: Project, tmp_path: Path, subtests: pytest.Subtests
) -> None:
    async with project.launch() as server:
        await upload_photos(server, project)
        for case in BAD_MUSIC:
            make_music, must_say = case.values
            with subtests.test(case.id):
                uploads_before = len(project.requests_to("/api/upload-video/"))
                music = str(make_music(tmp_path))
                refused = await server.call("generate_video", instruction=INSTRUCTION, music_path=music)
                assert_agent_error(refused, must_say, "music_path")
                assert len(project.requests_to("/api/upload-video/")) == uploads_before
                assert project.requests_to("/run_sse") == []


async def test_allowed_dirs_keep_music_from_other_folders_out(project: Project, tmp_path: Path) -> None:
    song = tmp_path / "elsewhere" / "song.mp3"
    song.parent.mkdir()
    song.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + bytes(64))
    allowed = str(project.images[0].parent)
    async with project.launch(extra_env={"NEMO_ALLOWED_DIRS": allowed}) as server:
        await upload_photos(server, project)  # the photos' folder is allowed
        refused = await server.call("generate_video", instruction=INSTRUCTION, music_path=str(song))
    assert_agent_error(refused, "outside the folders", allowed, "NEMO_ALLOWED_DIRS")
    assert project.requests_to("/run_sse") == []


async def test_allowed_dirs_keep_uploads_from_other_folders_out(project: Project, tmp_path: Path) -> None:
    allowed = tmp_path / "only-here"
    allowed.mkdir()
    link = allowed / "sneaky.jpg"
    link.symlink_to(project.images[0])  # inside by name, outside in fact
    async with project.launch(extra_env={"NEMO_ALLOWED_DIRS": str(allowed)}) as server:
        refused = await server.call("upload_images", paths=[str(link)])
    assert_agent_error(refused, "outside the folders", str(allowed.resolve()))
    assert project.requests_to("/api/upload-video/") == []


async def test_a_control_character_in_a_file_name_never_reaches_the_multipart_header(
    project: Project, tmp_path: Path
) -> None:
    odd = tmp_path / "new\nline\tphoto.jpg"
    odd.write_bytes(project.images[0].read_bytes())
    async with project.launch() as server:
        uploaded = await server.call("upload_images", paths=[str(odd)])
    assert not uploaded.is_error, uploaded.text
    (request,) = project.requests_to("/api/upload-video/")
    assert [u["filename"] for u in request.uploads] == ["new line photo.jpg"]
