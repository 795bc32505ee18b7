"""The real MCP server, driven in-process through the SDK's Client, over mocked HTTP."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import httpx
import pytest
from mcp import Client
from PIL import Image
from pytest_httpx import HTTPXMock, IteratorStream

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from tests.e2e.harness import TOOLS
from tests.sim.videos import named_mp4

from .conftest import API, WEB

SID = "5550001112223334445"
TOKEN = "nmv_usr_protocolsecret77"
DRAFT = {
    "t": [
        {"tt": 0, "sg": [{"d": 10000, "m": {"name": "city timelapse"}, "x_unknown": 1}]},
        {"tt": 1, "sg": [{"d": 10000, "m": {"name": "Lo-fi"}, "volume": 0.35}]},
        {"tt": 7, "sg": [{"d": 3000, "m": {"text": "Urban Dreams"}}]},
    ],
    "d": 10000,
    "future_key": {"kept": True},
}


def login(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/auth/anonymous-token",
        json={"code": 0, "data": {"token": TOKEN, "user_id": "anon_7", "expires_at": "2099-01-01T00:00:00Z"}},
    )
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/tasks/me/with-session/nemo_agent",
        json={"code": 0, "data": {"task_id": "task_9", "session_id": SID}},
        is_optional=True,
    )


def balance(httpx_mock: HTTPXMock) -> None:
    """The balance read around paid calls (credits before and after) and for next_cost."""
    httpx_mock.add_response(
        method="GET",
        url=f"{API}/api/credits/balance/simple",
        json={"code": 0, "data": {"available": 100, "frozen": 0, "total": 100}},
        is_optional=True,
        is_reusable=True,
    )


def state(draft: dict, *, reusable: bool = False, optional: bool = False) -> dict:
    return {
        "url": f"{API}/api/state/nemo_agent/me/{SID}/latest",
        "json": {"code": 0, "data": {"session_id": SID, "state": {"draft": draft}}},
        "is_reusable": reusable,
        "is_optional": optional,
    }


def text_of(result) -> str:
    return result.content[0].text


@pytest.fixture
def app(settings: Settings):
    return build_app(settings)


async def test_lists_the_tools_with_annotations_and_output_schemas(app) -> None:
    async with Client(app) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 40, name
        assert tool.annotations is not None and tool.annotations.open_world_hint is True, name
        assert tool.output_schema and "message" in tool.output_schema["properties"], name
    assert tools["get_state"].annotations.read_only_hint is True
    assert tools["get_credits"].annotations.read_only_hint is True
    assert tools["get_job"].annotations.read_only_hint is True
    assert tools["get_project_link"].annotations.read_only_hint is True
    assert tools["cancel_export"].annotations.destructive_hint is True
    assert "save_to" in tools["export_video"].input_schema["properties"]
    assert {"job_id", "kind", "status", "progress", "started_at"} <= set(tools["get_job"].output_schema["properties"])
    assert {"job_id", "status"} <= set(tools["generate_video"].output_schema["properties"])
    for name in ("upload_images", "generate_video", "export_video"):
        assert tools[name].annotations.read_only_hint is False
    assert "draft" in tools["get_state"].output_schema["properties"]
    assert tools["upload_images"].input_schema["required"] == ["paths"]
    assert {"instruction", "duration_s", "aspect", "title"} <= set(tools["generate_video"].input_schema["properties"])


async def test_get_state_prints_the_seed_summary_and_keeps_unknown_keys(app, httpx_mock: HTTPXMock) -> None:
    login(httpx_mock)
    balance(httpx_mock)
    httpx_mock.add_response(**state(DRAFT))
    async with Client(app) as client:
        result = await client.call_tool("get_state", {})
    assert not result.is_error
    expected = (
        "Timeline (3 tracks): 1. Video: city timelapse (0-10s) 2. BGM: Lo-fi (0-10s, 35%) "
        '3. Title: "Urban Dreams" (0-3s)'
    )
    assert result.structured_content["summary"] == expected
    assert expected in text_of(result)
    assert result.structured_content["draft"] == DRAFT
    assert result.structured_content["exportable"] is True
    assert [t["kind"] for t in result.structured_content["tracks"]] == ["Video", "BGM", "Title"]


async def test_get_credits_says_anonymous_and_where_to_register(app, httpx_mock: HTTPXMock) -> None:
    login(httpx_mock)
    httpx_mock.add_response(
        url=f"{API}/api/credits/balance/simple", json={"code": 0, "data": {"available": 60, "frozen": 40, "total": 100}}
    )
    async with Client(app) as client:
        result = await client.call_tool("get_credits", {})
    content = result.structured_content
    assert (content["available"], content["frozen"], content["total"], content["anonymous"]) == (60, 40, 100, True)
    assert content["register_url"] == f"{WEB}?bind=anon_7"
    assert TOKEN not in json.dumps(content) and TOKEN not in text_of(result)


async def test_upload_then_generate_then_export(app, httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    login(httpx_mock)
    balance(httpx_mock)
    image = tmp_path / "beach.jpg"
    Image.new("RGB", (64, 48), "orange").save(image)
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/api/upload-video/nemo_agent/me/{SID}",
        json={
            "code": 0,
            "data": {"files": [{"filename": "beach.jpg", "file_type": "image", "cdn_url": "https://cdn/beach.jpg"}]},
        },
    )
    httpx_mock.add_response(**state({}))  # before the edit
    stream = [
        b'data: {"content":{"parts":[{"functionCall":{"name":"edit_multitrack","args":{}}}]}}\n\n',
        b'data: {"content":{"parts":[{"text":"Your video is ready. Click the Export button to download it."}]}}\n\n',
    ]
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream(stream),
        headers={"content-type": "text/event-stream"},
    )
    httpx_mock.add_response(**state(DRAFT, reusable=True))
    httpx_mock.add_callback(
        lambda request: httpx.Response(
            200,
            json={
                "success": True,
                "data": {"id": json.loads(request.content)["id"], "status": "pending", "progress": 5},
            },
        ),
        method="POST",
        url=f"{API}/api/render/proxy/lambda",
    )
    httpx_mock.add_callback(
        lambda request: httpx.Response(
            200,
            json={
                "success": True,
                "data": {
                    "id": request.url.path.rsplit("/", 1)[-1],
                    "status": "completed",
                    "outputUrl": "https://cdn/v.mp4",
                },
            },
        ),
        method="GET",
        url=re.compile(rf"{API}/api/render/proxy/lambda/render_\w+"),
    )
    # the open link is downloaded too, to be checked: a real 10 s MP4, as long as the draft
    httpx_mock.add_response(method="GET", url="https://cdn/v.mp4", content=named_mp4(10000, "protocol"))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(app) as client:
        uploaded = await client.call_tool("upload_images", {"paths": [str(image)]})
        assert not uploaded.is_error, text_of(uploaded)
        assert uploaded.structured_content["files"][0]["url"] == "https://cdn/beach.jpg"

        generated = await client.call_tool(
            "generate_video", {"instruction": "a 10 s video"}, progress_callback=on_progress
        )
        assert not generated.is_error, text_of(generated)
        reply = generated.structured_content["reply"]
        assert "export_video" in reply and "Click" not in reply and "button" not in reply
        assert [a["tool"] for a in generated.structured_content["next_actions"]] == ["export_video"]
        assert "edit_multitrack" not in text_of(generated)
        # a stream this quick is coalesced to its first and its last step (at most one per 0.2 s)
        assert len(progress) >= 2 and [p[0] for p in progress] == sorted({p[0] for p in progress})

        progress.clear()
        exported = await client.call_tool("export_video", {}, progress_callback=on_progress)
        assert not exported.is_error, text_of(exported)
        assert exported.structured_content["url"] == "https://cdn/v.mp4"
        assert exported.structured_content["status"] == "completed"
        assert exported.structured_content["probe"]["duration_s"] == pytest.approx(10.0, abs=0.1)
        assert [c.type for c in exported.content].count("image") == 3, "the checked file's stills go out too"
        assert progress and progress[-1][0] == 100
        start = next(r for r in httpx_mock.get_requests() if r.url.path == "/api/render/proxy/lambda")
        assert json.loads(start.content)["draft"] == DRAFT


async def test_reply_without_text_is_summarised_from_state(app, httpx_mock: HTTPXMock) -> None:
    login(httpx_mock)
    balance(httpx_mock)
    httpx_mock.add_response(**state({}))
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/run_sse",
        stream=IteratorStream([b'data: {"type":"tool_call","name":"edit_multitrack","args":{}}\n\n']),
        headers={"content-type": "text/event-stream"},
    )
    httpx_mock.add_response(**state(DRAFT))
    async with Client(app) as client:
        result = await client.call_tool("generate_video", {"instruction": "add a title"})
    content = result.structured_content
    assert content["timeline"].startswith("Timeline (3 tracks)")
    assert content["changes"] and "No change" not in content["changes"]
    assert "export_video" in text_of(result)


@pytest.mark.parametrize(
    ("paths", "must_say", "next_step"),
    [
        (["/no/such/file.jpg"], "No file", "Check the path for typos, and give the file's absolute path."),
        (["/dev/zero"], "regular file", "Pass an image, video or audio file saved on disk"),
        (["/tmp"], "folder", "Pass the image files inside it one by one (their full paths), then call upload_images"),
    ],
)
async def test_bad_paths_are_clear_errors_before_any_request(
    app,
    httpx_mock: HTTPXMock,
    paths: list[str],
    must_say: str,
    next_step: str,
) -> None:
    async with Client(app) as client:
        result = await client.call_tool("upload_images", {"paths": paths})
    assert result.is_error
    assert must_say in text_of(result) and f"\nNext step: {next_step}" in text_of(result)
    assert "Error executing tool" not in text_of(result) and "Traceback" not in text_of(result)
    assert httpx_mock.get_requests() == []


async def test_export_with_empty_timeline_says_what_to_do(app, httpx_mock: HTTPXMock) -> None:
    login(httpx_mock)
    balance(httpx_mock)
    httpx_mock.add_response(**state({"t": [{"tt": 0, "sg": []}]}))
    async with Client(app) as client:
        result = await client.call_tool("export_video", {})
    assert result.is_error and "upload_images" in text_of(result)


async def test_server_log_lines_reach_the_client_as_log_notifications(app, httpx_mock: HTTPXMock) -> None:
    login(httpx_mock)
    httpx_mock.add_response(url=f"{API}/api/credits/balance/simple", json={"code": 0, "data": {"available": 1}})
    received: list[str] = []

    async def on_log(params) -> None:
        received.append(str(params.data))

    async with Client(app, logging_callback=on_log, log_level="info") as client:
        await client.call_tool("get_credits", {})
    assert any("anonymous token" in line for line in received)
    assert not any(TOKEN in line for line in received)


async def test_an_unusable_cache_folder_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    app = build_app(settings.model_copy(update={"cache_dir": blocker}))
    async with Client(app) as client:
        result = await client.call_tool("get_credits", {})
    assert result.is_error
    what, _, step = text_of(result).partition("\nNext step: ")
    assert str(blocker) in what
    assert "NEMO_CACHE_DIR" in step and "point to writable folders" in step and "doctor" in step


# --- Arguments: the schema shows the allowed values, and a bad value is our error, before any request ---


def property_branch(schema: dict, name: str) -> dict:
    """The non-null branch of an optional property's schema (or the property itself)."""
    field = schema["properties"][name]
    return next((b for b in field.get("anyOf", [field]) if b.get("type") != "null"), field)


async def test_input_schemas_declare_the_enums_and_bounds(app) -> None:
    async with Client(app) as client:
        tools = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
    generate = tools["generate_video"]
    assert property_branch(generate, "aspect")["enum"] == ["16:9", "9:16", "1:1"]
    assert property_branch(generate, "transition")["enum"] == ["fade", "slide", "wipe", "dissolve", "none"]
    assert property_branch(generate, "motion")["enum"] == ["kenburns", "static"]
    assert property_branch(generate, "fit")["enum"] == ["blur", "contain", "cover", "smart"]
    duration = property_branch(generate, "duration_s")
    assert (duration["type"], duration["minimum"], duration["maximum"]) == ("number", 1, 600)
    assert generate["properties"]["instruction"]["maxLength"] == 4000
    assert property_branch(generate, "title")["maxLength"] == 200
    paths = tools["upload_images"]["properties"]["paths"]
    assert (paths["minItems"], paths["maxItems"], paths["items"]) == (1, 50, {"type": "string", "minLength": 1})
    assert property_branch(tools["get_job"], "job_id")["maxLength"] == 100


BAD_ARGUMENTS = [
    ("generate_video", {"instruction": "a video", "duration_s": -5}, ("duration_s", "from 1 to 600")),
    ("generate_video", {"instruction": "a video", "aspect": "bogus"}, ("aspect", '"16:9", "9:16", "1:1"')),
    ("generate_video", {"instruction": "a video", "transition": "zoomy"}, ("transition", '"dissolve", "none"')),
    ("generate_video", {"instruction": "a video", "motion": "wobble"}, ("motion", '"kenburns", "static"')),
    ("generate_video", {"instruction": "a video", "fit": "stretch"}, ("fit", '"contain", "cover"')),
    ("generate_video", {"instruction": "x" * 1_000_000}, ("instruction", "at most 4,000 characters")),
    ("generate_video", {"instruction": "a video", "title": "t" * 300}, ("title", "at most 200 characters")),
    ("upload_images", {"paths": []}, ("paths", "1 to 50 items")),
    ("upload_images", {"paths": ["a.jpg", ""]}, ("paths[1]", "non-empty text")),
    ("get_job", {"job_id": "j" * 101}, ("job_id", "at most 100 characters")),
    ("export_video", {"wait": "perhaps"}, ("wait", "true or false")),
]


@pytest.mark.parametrize(("tool", "arguments", "must_say"), BAD_ARGUMENTS, ids=lambda v: str(v)[:30])
async def test_a_bad_argument_is_our_error_with_the_allowed_values_and_sends_nothing(
    app, httpx_mock: HTTPXMock, tool: str, arguments: dict, must_say: tuple[str, ...]
) -> None:
    async with Client(app) as client:
        result = await client.call_tool(tool, arguments)
    text = text_of(result)
    assert result.is_error
    assert f"`{must_say[0]}`" in text and must_say[1] in text
    assert f"Next step: Call {tool} again" in text
    for leak in ("pydantic", "Error executing tool", "validation error", "Traceback"):
        assert leak not in text
    assert len(text) < 1000, "the given value is never echoed whole"
    assert httpx_mock.get_requests() == []


async def test_a_music_path_that_is_not_audio_is_refused_before_any_request(
    app, httpx_mock: HTTPXMock, tmp_path: Path
) -> None:
    picture = tmp_path / "cover.png"
    Image.new("RGB", (32, 32), "teal").save(picture)
    async with Client(app) as client:
        passwd = await client.call_tool("generate_video", {"instruction": "a video", "music_path": "/etc/passwd"})
        image = await client.call_tool("generate_video", {"instruction": "a video", "music_path": str(picture)})
    assert passwd.is_error and "plain text" in text_of(passwd) and "music_path" in text_of(passwd)
    assert image.is_error and "an image (png), not audio" in text_of(image)
    assert httpx_mock.get_requests() == []


async def test_a_large_draft_is_whole_in_the_draft_resource(app, httpx_mock: HTTPXMock) -> None:
    segments = [{"id": f"s{i}", "d": 100, "m": {"name": f"p{i}"}, "pad": "x" * 60} for i in range(20_000)]
    big = {"t": [{"tt": 0, "sg": segments}], "d": 2_000_000}
    login(httpx_mock)
    balance(httpx_mock)
    httpx_mock.add_response(**state(big))
    httpx_mock.add_response(**state(big))
    async with Client(app) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        cut = await client.call_tool("get_state", {})
        whole = await client.read_resource("nemo://project/draft")
    assert "nemo://project/draft" in listed
    assert cut.structured_content["draft_trimmed"] is True and "nemo://project/draft" in text_of(cut)
    assert json.loads(whole.contents[0].text) == big


async def test_a_render_refused_by_the_local_plan_carries_the_plan_s_next_step(
    settings: Settings, tmp_path: Path
) -> None:
    """A PlanError (here: the music file left the local store) reaches the agent with its own next step."""
    photo = tmp_path / "beach.jpg"
    Image.new("RGB", (320, 240), "orange").save(photo)
    music = tmp_path / "lofi.wav"
    with wave.open(str(music), "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 8000)
    local = settings.model_copy(update={"backend": "local"})
    async with Client(build_app(local)) as client:
        assert not (await client.call_tool("upload_images", {"paths": [str(photo)]})).is_error
        edit = await client.call_tool("generate_video", {"instruction": "a 5-second video", "music_path": str(music)})
        assert not edit.is_error, text_of(edit)
        (stored,) = [p for p in local.cache_dir.rglob("*.wav") if p != music]
        stored.unlink()
        result = await client.call_tool("export_video", {})
    assert result.is_error
    what, _, step = text_of(result).partition("\nNext step: ")
    assert f"The music file {stored.name} is missing" in what
    assert step == "Call generate_video again with an existing music_path (or none)."
