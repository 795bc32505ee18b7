"""The studio (an MCP App): one small self-contained HTML file, served as the app resource, named by the
tools whose results it shows, with two tools only the app calls; clients without Apps see the list as before."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from PIL import Image

from nemo_video_mcp import studio
from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.draft import track_lanes
from tests.e2e.harness import TOOLS

APPS = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
BOUND = {"get_state", "get_job", "export_video"}
APP_ONLY = {"get_timeline", "play_video"}


@pytest.fixture
def app(tmp_path: Path) -> MCPServer:
    return build_app(Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path / "cache"), "NEMO_BACKEND": "local"}))


def test_the_html_is_one_small_file_that_loads_nothing_from_the_network() -> None:
    html = studio.studio_html()
    assert len(html.encode()) <= 100_000
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert not re.search(r"\b(?:https?|wss?|ftp)://|(?:src|href)\s*=\s*[\"']?//", html, re.I), "an external URL"
    for loader in ("<link", "<script src", "@import", "url(", "fetch(", "XMLHttpRequest", "WebSocket", "<iframe"):
        assert loader not in html, loader
    for method in ("ui/initialize", "ui/notifications/initialized", "ui/notifications/tool-result", "tools/call"):
        assert f'"{method}"' in html, method


async def test_an_apps_client_gets_the_bound_tools_the_app_only_tools_and_the_resource(app: MCPServer) -> None:
    async with Client(app, extensions=[APPS]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        listed = {resource.uri: resource for resource in (await client.list_resources()).resources}
        read = (await client.read_resource(studio.STUDIO_URI)).contents
    assert set(tools) == TOOLS | APP_ONLY
    for name in BOUND | APP_ONLY:
        assert tools[name].meta is not None and tools[name].meta["ui"]["resourceUri"] == studio.STUDIO_URI, name
    for name in APP_ONLY:
        assert tools[name].meta["ui"]["visibility"] == ["app"], name
    for name in BOUND:
        assert "visibility" not in tools[name].meta["ui"], "the model calls them too"
    assert listed[studio.STUDIO_URI].mime_type == APP_MIME_TYPE
    (content,) = read
    assert content.mime_type == APP_MIME_TYPE and content.text == studio.studio_html()


async def test_a_client_without_apps_sees_the_tool_and_resource_lists_as_before(app: MCPServer) -> None:
    async with Client(app) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
    assert {tool.name for tool in tools} == TOOLS
    assert all(tool.meta is None or "ui" not in tool.meta for tool in tools)
    assert not [r.uri for r in resources if str(r.uri).startswith("ui://")]


def test_the_lanes_place_each_segment_in_time_and_cap_their_number() -> None:
    draft = {
        "d": 9000,
        "t": [
            {
                "tt": 0,
                "sg": [{"d": 2000, "m": {"name": "a"}}, {"d": 3000, "m": {"name": "b"}}, {"st": 6000, "d": 3000}],
            },
            {"tt": 1, "sg": [{"m": {"name": "song"}}]},
            {"tt": 7, "sg": [{"st": 1000, "m": {"text": "Hi"}}, {"st": 4000, "m": {"text": "Bye"}}]},
        ],
    }
    video, music, title = track_lanes(draft)
    assert [(s.start_s, s.end_s, s.label) for s in video.segments] == [
        (0, 2, "a"),
        (2, 5, "b"),
        (6, 9, "untitled"),
    ]
    assert [(s.start_s, s.end_s, s.label) for s in music.segments] == [(0, 9, "song")], "a lone clip lasts the draft"
    assert [(s.start_s, s.label) for s in title.segments] == [(1, "Hi"), (4, "Bye")]
    assert all(s.end_s >= s.start_s for s in title.segments)
    (capped, *_) = track_lanes(draft, max_segments=2)
    assert len(capped.segments) == 2 and capped.segment_count == 3


async def test_play_video_sends_the_finished_mp4_as_a_blob_up_to_its_cap(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = []
    for number, colour in enumerate(("red", "blue")):
        photos.append(tmp_path / f"photo{number}.png")
        Image.new("RGB", (320, 240), colour).save(photos[-1])
    async with Client(build_app(settings.model_copy(update={"backend": "local"})), extensions=[APPS]) as client:
        nothing_yet = await client.call_tool("play_video", {})
        await client.call_tool("upload_images", {"paths": [str(p) for p in photos]})
        await client.call_tool("generate_video", {"instruction": "a square 1-second video"})
        exported = await client.call_tool("export_video", {})
        job_id = exported.structured_content["job_id"]
        while exported.structured_content.get("status") != "completed":  # a loaded machine: the budget ran out
            exported = await client.call_tool("get_job", {"job_id": job_id})
            assert exported.structured_content["status"] == "running", exported.content
        played = await client.call_tool("play_video", {"job_id": job_id})
        monkeypatch.setattr(studio, "MAX_PLAYER_BYTES", 1000)
        too_big = await client.call_tool("play_video", {})
        unknown = await client.call_tool("play_video", {"job_id": "render_nope"})
    rendered = Path(exported.structured_content["file_path"])
    assert nothing_yet.structured_content["inline"] is False and "export_video" in nothing_yet.content[0].text
    assert played.structured_content["inline"] is True
    (blob,) = [c for c in played.content if c.type == "resource"]
    assert blob.resource.mime_type == "video/mp4"
    assert base64.b64decode(blob.resource.blob) == rendered.read_bytes()
    assert len(played.content[-1].text) < 1000, "the blob is not copied into the JSON text"
    assert too_big.structured_content["inline"] is False
    assert [c.type for c in too_big.content] == ["text", "text"]
    assert str(rendered) in too_big.content[0].text and "Next step" in too_big.content[0].text
    assert unknown.is_error and "Next step" in unknown.content[0].text
