"""paths: one way to make and read file:// URLs; a local render lands in folders with awkward names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.paths import file_url, is_file_url, path_of_file_url, user_path

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
AWKWARD_FOLDERS = ["My Videos", "Ünïcödé 视频", "take #2", "100% done", "what?", "a%20b"]


@pytest.mark.parametrize("folder", AWKWARD_FOLDERS)
def test_a_file_url_reads_back_as_the_same_path(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / f"{folder}.mp4"
    url = file_url(path)
    assert url.startswith("file:///") and " " not in url and "#" not in url.removeprefix("file:")
    assert path_of_file_url(url) == path.resolve()


def test_a_name_with_a_newline_or_undecodable_bytes_survives(tmp_path: Path) -> None:
    for name in ("new\nline.png", os.fsdecode(b"caf\xe9.png")):
        assert path_of_file_url(file_url(tmp_path / name)) == (tmp_path / name).resolve()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///tmp/a%20b.jpg", "/tmp/a b.jpg"),
        ("FILE:///tmp/x.jpg", "/tmp/x.jpg"),
        ("file://localhost/tmp/x.jpg", "/tmp/x.jpg"),
        ("file:/tmp/x.jpg", "/tmp/x.jpg"),
        ("file:///tmp/take #2/a?.jpg", "/tmp/take #2/a?.jpg"),  # typed by hand: not a fragment or a query
        ("file:///tmp/%E8%A7%86%E9%A2%91.jpg", "/tmp/视频.jpg"),
    ],
)
def test_file_urls_in_every_local_form(url: str, path: str) -> None:
    assert is_file_url(url)
    assert path_of_file_url(url) == Path(path)
    assert user_path(url) == Path(path)


@pytest.mark.parametrize("url", ["file://server/share/a.jpg", "file://relative/a.jpg", "file:relative.jpg", "x.jpg"])
def test_a_file_url_of_another_machine_or_no_path_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        path_of_file_url(url)


def test_user_path_expands_home_and_keeps_relative_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_path("~/a b.jpg") == tmp_path / "a b.jpg"
    assert user_path("photos/a.jpg") == Path("photos/a.jpg")


def photos(folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, colour in enumerate(("navy", "orange")):
        path = folder / f"photo #{index} 100%.jpg"
        Image.new("RGB", (320, 240), colour).save(path)
        paths.append(str(path))
    return paths


def test_the_cli_renders_into_an_output_folder_with_spaces_unicode_hash_and_percent(tmp_path: Path) -> None:
    output_dir = tmp_path / "My Videos" / "Ünïcödé #1 100%"
    result = subprocess.run(
        [str(SCRIPT), "render", *photos(tmp_path / "in put"), "--backend", "local", "-p", "a 1-second static video"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NEMO_CACHE_DIR": str(tmp_path / "cache dir"), "NEMO_OUTPUT_DIR": str(output_dir)},
    )
    assert result.returncode == 0, result.stderr
    written = Path(result.stderr.strip().splitlines()[-1].removeprefix("Wrote ").split(" (", 1)[0])
    assert written.parent == output_dir and written.is_file() and written.stat().st_size > 0


async def test_the_local_result_file_path_is_a_real_path_in_an_awkward_folder(
    settings: Settings, tmp_path: Path
) -> None:
    output_dir = tmp_path / "My Videos" / "视频 #2 100%"
    local = settings.model_copy(update={"backend": "local", "output_dir": output_dir})
    async with Client(build_app(local)) as client:
        uploaded = await client.call_tool("upload_images", {"paths": photos(tmp_path / "in")})
        assert not uploaded.is_error, uploaded.content[0].text
        generated = await client.call_tool("generate_video", {"instruction": "go", "duration_s": 1, "motion": "static"})
        assert not generated.is_error, generated.content[0].text
        exported = await client.call_tool("export_video", {})
    assert not exported.is_error, exported.content[0].text
    file_path = Path(exported.structured_content["file_path"])
    assert file_path.parent == output_dir and file_path.is_file()
    assert path_of_file_url(exported.structured_content["url"]) == file_path
