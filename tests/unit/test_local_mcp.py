"""The offline story through MCP: the same five tools, a real MP4 rendered on this machine.

The story itself runs once, in the `hidden_peaks` fixture (tests/unit/shared_render.py), whose render the
engine's tests check too."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from PIL import ImageChops

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.render.probe import count_frames, probe_video, read_frame

from .shared_render import HiddenPeaks


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"backend": "local"})


def test_upload_generate_export_renders_the_planned_video(hidden_peaks: HiddenPeaks) -> None:
    results, local_settings = hidden_peaks.results, hidden_peaks.settings
    export_progress = hidden_peaks.export_progress

    uploaded = results["upload_images"]
    assert not uploaded.is_error, uploaded.content[0].text
    assert [f["url"].startswith("file://") for f in uploaded.structured_content["files"]] == [True] * 3

    generated = results["generate_video"]
    assert not generated.is_error, generated.content[0].text
    assert "12" in generated.structured_content["reply"] and "Hidden Peaks" in generated.structured_content["reply"]

    state = results["get_state"]
    summary = state.structured_content["summary"]
    assert summary.startswith("Timeline (2 tracks): 1. Video:") and '"Hidden Peaks"' in summary
    assert state.structured_content["duration_s"] == 12

    credits = results["get_credits"]
    assert credits.structured_content["needs_credits"] is False and "no credits" in credits.content[0].text

    exported = results["export_video"]
    assert not exported.is_error, exported.content[0].text

    result = exported.structured_content
    output = Path(result["file_path"])
    assert result["url"] == f"file://{output}" and output.parent == local_settings.output_dir
    info = probe_video(output)
    assert (info.width, info.height, info.codec, info.pix_fmt, info.faststart) == (1080, 1920, "h264", "yuv420p", True)
    assert count_frames(output) == 12 * 30
    assert len(export_progress) >= 3 and export_progress == sorted(export_progress) and export_progress[-1] == 100
    assert not [p for p in output.parent.iterdir() if p != output], "no temp files left beside the result"
    # Motion: two moments of the same picture differ (ken burns). The title's pixels are checked by the
    # engine's own tests (tests/unit/test_render_output.py), on this same render.
    early, later = read_frame(output, 0.5), read_frame(output, 2.5)
    assert ImageChops.difference(early, later).getbbox() is not None


async def test_offline_upload_refuses_urls_with_a_next_step(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        result = await client.call_tool("upload_images", {"paths": ["https://example.com/a.jpg"]})
    assert result.is_error and "Next step" in result.content[0].text
