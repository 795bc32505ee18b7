"""Resources, resource-updated notifications and prompts, through the SDK's in-process Client (offline backend)."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from pytest_httpx import HTTPXMock

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PHOTOS = [str(SAMPLES / "dawn.jpg"), str(SAMPLES / "noon.jpg")]
EDIT = 'a 1-second square video titled "Peaks"'


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"backend": "local"})


def document(result: Any) -> dict[str, Any]:
    return json.loads(result.contents[0].text)


async def test_resources_templates_and_prompts_are_listed(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        resources = {r.uri: r for r in (await client.list_resources()).resources}
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(resources) == {"nemo://project/draft", "nemo://session/timeline", "nemo://jobs", "nemo://videos/latest"}
    assert all(r.mime_type == "application/json" and r.description for r in resources.values())
    assert templates == ["nemo://jobs/{job_id}"]
    assert set(prompts) == {"image-to-video", "refine"}
    assert [(a.name, a.required) for a in prompts["image-to-video"].arguments or []] == [
        ("images", True),
        ("wish", False),
    ]


async def test_the_resources_follow_the_story_from_nothing_to_a_video(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        empty = document(await client.read_resource("nemo://jobs"))
        assert empty["jobs"] == [] and "Next step: call generate_video" in empty["message"]
        nothing = document(await client.read_resource("nemo://videos/latest"))
        assert nothing["job_id"] is None and "Next step: call export_video" in nothing["message"]

        await client.call_tool("upload_images", {"paths": PHOTOS})
        edit = (await client.call_tool("generate_video", {"instruction": EDIT})).structured_content
        timeline = document(await client.read_resource("nemo://session/timeline"))
        assert timeline["summary"].startswith("Timeline (2 tracks): 1. Video: dawn.jpg + 1 more (0-1s)")
        assert [t["kind"] for t in timeline["tracks"]] == ["Video", "Title"] and timeline["draft"]["t"]

        exported = (await client.call_tool("export_video", {})).structured_content
        assert exported["status"] == "completed"
        jobs = document(await client.read_resource("nemo://jobs"))["jobs"]
        assert [(j["job_id"], j["kind"], j["status"]) for j in jobs] == [
            (exported["job_id"], "render", "completed"),
            (edit["job_id"], "edit", "completed"),
        ]
        one = document(await client.read_resource(f"nemo://jobs/{edit['job_id']}"))
        assert one["instruction"] == EDIT and "Peaks" in one["reply"]
        video = document(await client.read_resource("nemo://videos/latest"))
        assert video["job_id"] == exported["job_id"] and video["file_path"] == exported["file_path"]
        assert video["size_bytes"] == Path(exported["file_path"]).stat().st_size and video["earlier_version"] is False

        await client.call_tool("generate_video", {"instruction": "a 3-second video"})
        assert document(await client.read_resource("nemo://videos/latest"))["earlier_version"] is True


async def test_an_unknown_job_is_our_message_with_the_next_step(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        with pytest.raises(MCPError) as failure:
            await client.read_resource("nemo://jobs/render_nope")
    assert "no job 'render_nope'" in failure.value.message and "Next step:" in failure.value.message
    assert failure.value.code == INVALID_PARAMS  # "no such resource", not a server fault


async def test_a_backend_that_does_not_answer_is_our_message(settings: Settings, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    async with Client(build_app(settings)) as client:
        with pytest.raises(MCPError) as failure:
            await client.read_resource("nemo://session/timeline")
    assert "Next step:" in failure.value.message and "Error reading resource" not in failure.value.message


async def test_a_subscribed_legacy_client_hears_of_the_changed_timeline_and_jobs(local_settings: Settings) -> None:
    heard: list[str] = []

    async def on_message(message: Any) -> None:
        uri = getattr(getattr(message, "params", None), "uri", None)
        if getattr(message, "method", "") == "notifications/resources/updated":
            heard.append(str(uri))

    async with Client(build_app(local_settings), mode="legacy", message_handler=on_message) as client:
        assert client.server_capabilities.resources.subscribe is True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resources/subscribe is the pre-2026 way, on purpose
            for uri in ("nemo://session/timeline", "nemo://jobs", "nemo://videos/latest"):
                await client.subscribe_resource(uri)
        await client.call_tool("upload_images", {"paths": PHOTOS})
        await client.call_tool("generate_video", {"instruction": EDIT})
        await wait_for(lambda: {"nemo://session/timeline", "nemo://jobs"} <= set(heard))
        assert "nemo://videos/latest" not in heard
        await client.call_tool("export_video", {"wait": False})
        await wait_for(lambda: "nemo://videos/latest" in heard)


async def test_a_listening_client_hears_of_a_render_that_ends_between_calls(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        await client.call_tool("upload_images", {"paths": PHOTOS})
        await client.call_tool("generate_video", {"instruction": EDIT})
        async with client.listen(resource_subscriptions=["nemo://videos/latest"]) as subscription:
            started = (await client.call_tool("export_video", {"wait": False})).structured_content
            assert started["status"] != "completed"
            event = await asyncio.wait_for(anext(aiter(subscription)), 30)
        assert event.uri == "nemo://videos/latest"
        assert document(await client.read_resource("nemo://videos/latest"))["job_id"] == started["job_id"]


async def test_the_prompts_walk_the_tools_and_refine_reads_the_timeline(local_settings: Settings) -> None:
    async with Client(build_app(local_settings)) as client:
        walk = await client.get_prompt("image-to-video", {"images": f"{PHOTOS[0]}\n{PHOTOS[1]}", "wish": "fast cuts"})
        await client.call_tool("upload_images", {"paths": PHOTOS})
        await client.call_tool("generate_video", {"instruction": EDIT})
        refine = await client.get_prompt("refine", {"change": "slower"})
    text = walk.messages[0].content.text
    assert f"upload_images(paths={json.dumps(PHOTOS)})" in text and 'generate_video(instruction="fast cuts")' in text
    assert text.index("upload_images") < text.index("generate_video") < text.index("export_video")
    assert "get_job" in text
    refined = refine.messages[0].content.text
    assert 'Timeline (2 tracks): 1. Video: dawn.jpg + 1 more (0-1s) 2. Title: "Peaks"' in refined
    assert "slower" in refined and "generate_video" in refined


async def wait_for(condition: Any, timeout_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "no notification within the time limit"
        await asyncio.sleep(0.05)
