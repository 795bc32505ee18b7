"""What each tool returns: typed results (their JSON schema is the tool's output schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from nemo_video_mcp.draft import TrackSummary
from nemo_video_mcp.gui import NextAction
from nemo_video_mcp.models import RenderState, UploadedFile


class ToolResult(BaseModel):
    """Every result carries `message`: the text the agent reads first."""

    message: str = Field(description="What happened, in plain words, with the next step.")
    notices: list[str] = Field(default_factory=list, description="Things that happened along the way.")
    backend: Literal["cloud", "local"]


class UploadResult(ToolResult):
    session_id: str
    files: list[UploadedFile]


class GenerateResult(ToolResult):
    reply: str = Field(description="The editor's reply, with GUI wording turned into tool names.")
    next_actions: list[NextAction] = Field(description="Tools to call next, in order.")
    question: str | None = Field(None, description="A question the editor asks the user before going on.")
    changes: str | None = Field(None, description="What changed in the timeline (when the reply had no text).")
    timeline: str | None = Field(None, description="The timeline summary line after the edit, when read.")
    recovered_after_cut: bool = Field(False, description="The stream was cut; the edit was confirmed from state.")


class StateResult(ToolResult):
    session_id: str
    summary: str = Field(description='e.g. Timeline (2 tracks): 1. Video: beach (0-10s) 2. Title: "Hi" (0-3s)')
    tracks: list[TrackSummary]
    duration_s: float
    exportable: bool
    draft: dict[str, Any] = Field(
        description="The backend's draft as sent (short keys t/tt/sg/d/m, unknown keys kept)."
    )


class CreditsResult(ToolResult):
    available: float
    frozen: float = Field(description="Held for work in progress.")
    total: float
    anonymous: bool
    needs_credits: bool
    register_url: str | None = None


class ExportResult(ToolResult):
    job_id: str
    status: RenderState
    progress: int
    url: str | None = Field(None, description="Download URL (https:// for cloud, file:// for local renders).")
    file_path: str | None = Field(None, description="Local file path, for local renders.")
    resumed: bool = Field(False, description="An earlier job was resumed instead of starting (and paying for) another.")
