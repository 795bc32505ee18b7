"""Output you can see (issue 13), over stdio: every export is probed, and three stills come with the answer.

Three server launches in all: one offline (a real render, then get_job and an unchanged export again), and two
on the simulator serving a broken file first (an error with a next step, never a success) and a whole one next:
once behind the Bearer-protected download link, once behind an open CDN link (downloaded to be checked all the
same, its checked copy named beside the link).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.harness import Project, ToolCall, assert_agent_error, assert_success, make_video, upload_photos

BUDGET = 300 * 1024


def assert_three_stills(call: ToolCall, size: tuple[int, int]) -> None:
    """Three JPEGs the client can decode, together within the budget, each of the video's shape."""
    assert [mime for mime, _ in call.images] == ["image/jpeg"] * 3, call.images
    assert sum(len(data) for _, data in call.images) <= BUDGET
    for _, data in call.images:
        with Image.open(io.BytesIO(data)) as still:
            assert still.format == "JPEG"
            still.load()
            assert abs(still.width / still.height - size[0] / size[1]) < 0.02, (still.size, size)


async def test_a_local_export_is_probed_and_shows_three_stills(project: Project) -> None:
    async with project.launch(extra_env={"NEMO_BACKEND": "local"}) as server:
        await upload_photos(server, project)
        assert_success(await server.call("generate_video", instruction="a 4-second video with no motion"))
        exported = await server.call("export_video")
        followed = await server.call("get_job")
        again = await server.call("export_video")
    for call in (exported, followed, again):
        assert_success(call)
        assert call.structured is not None and call.structured["status"] == "completed"
        probe = call.structured["probe"]
        assert probe is not None, call.text
        assert (probe["codec"], probe["pix_fmt"], probe["fps"], probe["faststart"]) == ("h264", "yuv420p", 30, True)
        assert probe["audio_codec"] is None and probe["frames"] == 4 * 30
        assert abs(probe["duration_s"] - 4.0) < 0.1 and probe["planned_duration_s"] == 4.0
        assert probe["size_bytes"] == Path(call.structured["file_path"]).stat().st_size
        line = f"{probe['width']}x{probe['height']} H.264 yuv420p 30 fps, 4.0 s"
        assert line in call.text and "faststart, no audio" in call.text, call.text
        assert_three_stills(call, (probe["width"], probe["height"]))
        assert "keyframes" not in call.text
    assert exported.images == again.images, "the stills kept in the cache are the ones sent again"
    (folder,) = (project.home / "cache").rglob(exported.structured["job_id"])
    assert sorted(still.name for still in folder.iterdir()) == ["end.jpg", "middle.jpg", "start.jpg"]
    for path in (folder, *folder.iterdir()):
        assert path.stat().st_mode & 0o077 == 0, f"{path} is not owner-only"


@pytest.mark.parametrize("output_url", ["download", "cdn"], ids=["token_link", "open_link"])
async def test_a_broken_cloud_file_is_an_error_with_a_next_step_and_the_next_export_is_checked(
    project: Project, output_url: str
) -> None:
    project.sim.configure(output_url=output_url)
    async with project.launch() as server:
        await make_video(server, project)
        project.sim.configure(broken_video="no_moov")
        broken = await server.call("export_video", save_to="kept/")
        project.sim.configure(broken_video="none")
        whole = await server.call("export_video")
    assert_agent_error(broken, "failed its check", "no index (moov box)", "call export_video again")
    assert not broken.images
    assert not (project.home / "videos" / "kept").exists() or not any((project.home / "videos" / "kept").iterdir())
    assert_success(whole)
    assert whole.structured is not None and whole.structured["status"] == "completed"
    assert project.renders_started() == 2, "the broken render was neither returned nor resumed"
    probe = whole.structured["probe"]
    assert (probe["width"], probe["height"], probe["fps"], probe["faststart"]) == (16, 16, 10, True)
    assert abs(probe["duration_s"] - probe["planned_duration_s"]) < 0.1
    assert_three_stills(whole, (16, 16))
    url, file_path = whole.structured["url"], Path(whole.structured["file_path"])
    assert str(file_path) in whole.text, whole.text
    assert file_path.read_bytes()[4:8] == b"ftyp" and probe["size_bytes"] == file_path.stat().st_size
    if output_url == "cdn":  # the open link is for the user too (a token-only one is not named)
        assert "/cdn/renders/" in url and url in whole.text and "opens without a token" in whole.text
