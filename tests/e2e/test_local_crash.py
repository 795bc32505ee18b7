"""A local render survives `kill -9` of the server only as a job: its children die, the next server
removes what they left and renders the video again under the same job id."""

from __future__ import annotations

import asyncio
import os
import signal

from nemo_video_mcp.render.probe import probe_video
from tests.e2e.harness import (
    LONG_RENDER,
    LONG_RENDER_S,
    Project,
    assert_success,
    ffmpeg_writing,
    server_pid,
    upload_photos,
)
from tests.processes import children_of, gone_within


async def test_a_killed_server_leaves_no_render_behind_and_the_next_one_renders_it_again(project: Project) -> None:
    temp_dir = project.home / "tmp"
    temp_dir.mkdir()
    env = {"NEMO_BACKEND": "local", "TMPDIR": str(temp_dir)}
    videos = project.home / "videos"

    async with project.launch(extra_env=env) as first:
        await upload_photos(first, project)
        assert_success(await first.call("generate_video", instruction=LONG_RENDER))
        started = await first.call("export_video", wait=False)
        assert_success(started)
        server = server_pid(project)
        ffmpeg = await ffmpeg_writing(server, videos)
        render_children = children_of(server)
        os.kill(server, signal.SIGKILL)
        await asyncio.sleep(0.1)
    assert ffmpeg in render_children
    for pid, command in render_children.items():
        assert gone_within(pid, 2.0), f"{command} (pid {pid}) outlived the server"
    stale = [*videos.glob(".*.part"), *temp_dir.glob("nemo-render-*")]
    assert len(stale) == 2, stale  # ffmpeg's output and the stills' folder, left by the dead server

    async with project.launch(extra_env=env) as second:
        assert_success(await second.call("get_state"))
        assert [path for path in stale if path.exists()] == []
        exported = await second.call("export_video")
        for _ in range(5):
            if exported.is_error or exported.structured["status"] == "completed":
                break
            exported = await second.call("export_video")
    assert_success(exported)
    assert exported.structured["job_id"] == started.structured["job_id"]
    assert exported.structured["status"] == "completed"
    info = probe_video(exported.structured["file_path"])
    assert info.codec == "h264" and abs(info.duration_s - LONG_RENDER_S) < 0.1
    assert [*videos.glob(".*.part"), *temp_dir.glob("nemo-render-*")] == []
