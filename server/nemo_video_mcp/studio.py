"""The studio: an MCP App (the SDK's `mcp.server.apps`) that shows the project and drives it through the host.

One self-contained HTML file (`studio/studio.html`, served as `ui://nemo/studio.html`) shows the storyboard,
the tracks on a time axis, the credits, the job's progress and the finished video, with buttons that call
the tools through the host (export, cancel, refine). get_state, get_job and export_video name it in their
`_meta.ui`; two tools only the app calls (`visibility: ["app"]`) give it the segments of each track and the
video's bytes (a sandboxed app cannot open a local file). A client that did not negotiate Apps sees the
tool and resource lists as before: no `_meta.ui`, no app-only tools, no ui:// page; the tools' text and
images are the same for all.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Annotated, Any

from mcp.server.apps import Apps
from mcp.server.mcpserver import Context
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ListResourcesResult,
    ListToolsResult,
    ToolAnnotations,
)
from pydantic import Field

from nemo_video_mcp.progress import Reporter
from nemo_video_mcp.results import PlayerVideo, TimelineResult, ToolResult
from nemo_video_mcp.service import VideoService

STUDIO_URI = "ui://nemo/studio.html"
UI_META: dict[str, Any] = {"ui": {"resourceUri": STUDIO_URI}}
"""The `_meta` of a tool whose result the studio shows."""
MAX_PLAYER_BYTES = 16 * 1024 * 1024
"""play_video sends a video's bytes up to this size (about 21 MB of base64); a larger one is named by its path
or URL. Headless Chromium plays a 20 MB data: URL in a sandboxed frame; hosts allow data: media by default."""

Respond = Callable[[Context, Callable[[Reporter], Awaitable[ToolResult]]], Awaitable[CallToolResult]]
"""How app.py runs one tool's work within the call budget and turns it into what the client reads."""


def studio_html() -> str:
    """The app, as shipped in the package (pyproject's wheel includes `studio/`)."""
    return resources.files("nemo_video_mcp").joinpath("studio/studio.html").read_text(encoding="utf-8")


def studio_extension(respond: Respond, service: Callable[[], VideoService]) -> Apps:
    """The Apps extension: the studio's resource and the two tools only the app calls."""
    apps = Apps()
    apps.add_html_resource(
        STUDIO_URI,
        studio_html(),
        name="studio",
        title="NemoVideo studio",
        description="The storyboard, the timeline, the job's progress and the video, with export and refine.",
        prefers_border=True,
    )

    @apps.tool(
        resource_uri=STUDIO_URI,
        visibility=["app"],
        annotations=ToolAnnotations(title="The timeline, drawn", read_only_hint=True, open_world_hint=True),
    )
    async def get_timeline(ctx: Context) -> Annotated[CallToolResult, TimelineResult]:
        """The studio's timeline: each track with its segments' times and labels (at most 200 per track)."""
        return await respond(ctx, lambda r: service().timeline())

    @apps.tool(
        resource_uri=STUDIO_URI,
        visibility=["app"],
        annotations=ToolAnnotations(title="The video, for the player", read_only_hint=True, open_world_hint=True),
    )
    async def play_video(
        ctx: Context,
        job_id: Annotated[
            str | None, Field(description="A render's job id; default: the latest video.", max_length=100)
        ] = None,
    ) -> Annotated[CallToolResult, PlayerVideo]:
        """A finished video for the studio's player: its MP4 as an embedded blob (up to 16 MB), else its URL."""
        loaded: list[PlayerVideo] = []

        async def load(reporter: Reporter) -> ToolResult:
            loaded.append(await service().video_for_player(job_id, MAX_PLAYER_BYTES))
            return loaded[-1]

        answer = await respond(ctx, load)
        if loaded and loaded[-1].inline and not answer.is_error:
            video = loaded[-1]
            blob = BlobResourceContents(
                uri=f"nemo://videos/{video.job_id}.mp4",
                mime_type=video.mime_type,
                blob=base64.b64encode(video.video).decode(),
            )
            answer.content.insert(1, EmbeddedResource(type="resource", resource=blob))
        return answer

    return apps


def tools_for(listed: ListToolsResult, with_apps: bool) -> ListToolsResult:
    """The tool list as a client sees it: whole for a client with Apps; else without the app-only tools and
    without `_meta.ui` (the list is sent to the model with every chat, and such a client shows no app)."""
    if with_apps:
        return listed
    tools = []
    for tool in listed.tools:
        ui = (tool.meta or {}).get("ui")
        if not isinstance(ui, dict):
            tools.append(tool)
        elif "model" in ui.get("visibility", ["model"]):
            meta = {key: value for key, value in (tool.meta or {}).items() if key != "ui"}
            tools.append(tool.model_copy(update={"meta": meta or None}))
    return listed.model_copy(update={"tools": tools})


def resources_for(listed: ListResourcesResult, with_apps: bool) -> ListResourcesResult:
    """The resource list as a client sees it: without the ui:// page for a client without Apps (the spec lets a
    server leave UI resources out of resources/list; such a client could not show it)."""
    if with_apps:
        return listed
    return listed.model_copy(update={"resources": [r for r in listed.resources if not str(r.uri).startswith("ui://")]})
