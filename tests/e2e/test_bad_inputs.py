"""Bad files given to upload_images over stdio: a clear error, and nothing sent to the backend."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import Project, assert_agent_error

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


@pytest.mark.parametrize(
    ("make_bad_file", "must_say"),
    [
        pytest.param(missing_file, ("No file at", "absolute path"), id="missing"),
        pytest.param(text_named_jpg, ("plain text", "not a supported media file"), id="text-named-jpg"),
        pytest.param(a_directory, ("is a folder",), id="directory"),
        pytest.param(oversize_sparse_file, ("200 MB", "compress"), id="oversize-201MB"),
    ],
)
async def test_a_bad_file_is_refused_before_anything_is_sent(
    project: Project, tmp_path: Path, make_bad_file: Callable[[Path], Path], must_say: tuple[str, ...]
) -> None:
    bad = make_bad_file(tmp_path)
    async with project.launch() as server:
        refused = await server.call("upload_images", paths=[str(project.images[0]), str(bad)])
    assert_agent_error(refused, str(bad), *must_say)
    assert project.requests_to("/api/upload-video/") == []
    assert project.sim.world.uploads == []
