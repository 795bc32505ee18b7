"""What each tool returns: typed results (their JSON schema is the tool's output schema)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from nemo_video_mcp.draft import TrackLane, TrackSummary
from nemo_video_mcp.gui import NextAction
from nemo_video_mcp.models import RenderState, UploadedFile, VideoProbe


class ToolResult(BaseModel):
    """Every result carries `message`: the text the agent reads first."""

    message: str = Field(description="What happened, in plain words, with the next step.")
    notices: list[str] = Field(default_factory=list, description="Things that happened along the way.")
    backend: Literal["cloud", "local"]


class PaidCall(BaseModel):
    """Credits around a call that may spend them (an edit, a render); the message says them in words, with why
    a number is unknown ('no credits' offline)."""

    credits_before: float | None = Field(None, description="Available before the call; None: unread or offline.")
    credits_after: float | None = Field(None, description="Available after the call; None: unread or offline.")


class UploadResult(ToolResult):
    session_id: str
    files: list[UploadedFile]
    next_cost: str | None = Field(None, description="What the next edit would cost, against the balance.")


JobStatus = Literal["running", "completed", "failed", "cancelled"]


class GenerateResult(ToolResult, PaidCall):
    job_id: str = Field(description="The edit job; get_job(job_id) follows it.")
    status: Literal["running", "completed"] = Field(
        description="running: the edit goes on on the server past this call's budget; call get_job."
    )
    already_sent: bool = Field(False, description="This instruction had been sent before; nothing was sent again.")
    reply: str = Field("", description="The editor's reply, with GUI wording turned into tool names.")
    next_actions: list[NextAction] = Field(default_factory=list, description="Tools to call next, in order.")
    question: str | None = Field(None, description="A question the editor asks the user before going on.")
    choices: list[str] = Field(default_factory=list, description="The answers the editor offers, if any.")
    changes: str | None = Field(None, description="What changed in the timeline (when the reply had no text).")
    timeline: str | None = Field(None, description="The timeline summary line after the edit, when read.")
    recovered_after_cut: bool = Field(False, description="The stream was cut; the edit was confirmed from state.")
    next_cost: str | None = Field(None, description="What the next edit would cost, against the balance.")


class StateResult(ToolResult):
    session_id: str
    summary: str = Field(description='e.g. Timeline (2 tracks): 1. Video: beach (0-10s) 2. Title: "Hi" (0-3s)')
    tracks: list[TrackSummary]
    duration_s: float
    exportable: bool
    draft: dict[str, Any] = Field(
        description="The backend's draft as sent (short keys t/tt/sg/d/m, unknown keys kept); a large draft is "
        "cut to about 256 KB (see draft_trimmed)."
    )
    draft_trimmed: bool = Field(False, description="The draft above was cut to its size cap; the summary is whole.")
    next_cost: str | None = Field(None, description="What the next edit would cost, against the balance.")


class TimelineResult(ToolResult):
    """The studio's timeline: get_state's tracks with their segments, read from the whole draft."""

    summary: str
    tracks: list[TrackLane]
    duration_s: float
    exportable: bool


class PlayerVideo(ToolResult):
    """A finished video for the studio's player: its bytes (in the tool's content) when it is on this machine
    and small enough, else its URL."""

    job_id: str | None = None
    url: str | None = None
    file_path: str | None = None
    size_bytes: int | None = None
    mime_type: str = "video/mp4"
    inline: bool = Field(False, description="The video's bytes are in the tool's content (an embedded blob).")
    _video: bytes = PrivateAttr(b"")

    @property
    def video(self) -> bytes:
        """The video itself (not in the JSON: it goes to the client as an embedded resource)."""
        return self._video


class CreditsResult(ToolResult):
    available: float
    frozen: float = Field(description="Held for work in progress.")
    total: float
    anonymous: bool
    needs_credits: bool
    register_url: str | None = None


class WithKeyframes(BaseModel):
    """A result that may carry the checked video's stills (start, middle, end) as JPEG bytes: not in the JSON,
    they go to the client as image content."""

    _keyframes: list[bytes] = PrivateAttr(default_factory=list)

    @property
    def keyframes(self) -> list[bytes]:
        return self._keyframes


class ExportResult(ToolResult, WithKeyframes, PaidCall):
    job_id: str = Field(description="The render job; get_job(job_id) follows it.")
    status: RenderState
    progress: int
    url: str | None = Field(None, description="Download URL (https:// for cloud, file:// for local renders).")
    file_path: str | None = Field(None, description="The checked video on this machine.")
    resumed: bool = Field(False, description="An earlier job was resumed instead of starting (and paying for) another.")
    saved_path: str | None = Field(None, description="export_video(save_to=…): where the checked copy was saved.")
    probe: VideoProbe | None = Field(None, description="The finished file as checked here.")


class JobResult(ToolResult, WithKeyframes, PaidCall):
    job_id: str
    kind: Literal["edit", "render"]
    status: JobStatus
    progress: float = Field(description="Render: percent done. Edit: steps seen so far (events of the editor).")
    progress_text: str = Field(description="The latest step, in words.")
    started_at: str = Field(description="ISO 8601, UTC.")
    finished_at: str | None = None
    instruction: str | None = Field(None, description="Edit jobs: the instruction as sent.")
    reply: str | None = Field(None, description="Edit jobs: the editor's reply, GUI wording turned into tool names.")
    next_actions: list[NextAction] = Field(default_factory=list)
    question: str | None = None
    choices: list[str] = Field(default_factory=list)
    changes: str | None = None
    timeline: str | None = None
    url: str | None = Field(None, description="Render jobs: the video's URL.")
    file_path: str | None = Field(None, description="Render jobs: the video on this machine, when it is here.")
    earlier_version: bool | None = Field(
        None, description="Render jobs: the timeline changed after this render (export_video renders the new one)."
    )
    error: str | None = Field(None, description="Why the job failed, with the next step.")
    probe: VideoProbe | None = Field(None, description="Render jobs: the finished file as checked here.")
    held_credits_released: bool | None = Field(
        None, description="A failed job: its held (frozen) credits went back; None if unknown or not failed."
    )


class ProjectLinkResult(ToolResult):
    kind: Literal["claim", "workspace", "local"] = Field(
        description="claim: attach this anonymous project to an account; workspace: the account's projects; "
        "local: the project lives on this machine."
    )
    url: str | None = None
    expires_at: str | None = Field(None, description="ISO 8601, UTC: when a claim link stops working.")
    path: str | None = Field(None, description="Local backend: the folder that holds the project.")


class CancelResult(ToolResult):
    job_id: str | None = None
    cancelled: bool = Field(description="A running render was stopped by this call.")
    status: RenderState | None = Field(None, description="The render's status after this call.")
    credits_released: float | None = Field(
        None, description="Credits no longer held for the render (balance read before and after); None if unknown."
    )


# --- Resources: what the agent can read without calling a tool ---------------------------------


class JobEntry(BaseModel):
    """One edit or render as the cache holds it: a look, never a wait (get_job waits and follows)."""

    job_id: str
    kind: Literal["edit", "render"]
    status: JobStatus
    progress: float = Field(description="Render: percent done. Edit: steps seen so far.")
    progress_text: str
    started_at: str = Field(description="ISO 8601, UTC.")
    finished_at: str | None = None
    read: bool = Field(description="The agent has had this finished job's outcome from a tool.")
    instruction: str | None = Field(None, description="Edit jobs: the instruction as sent.")
    reply: str | None = Field(None, description="Edit jobs: the editor's reply, once it has ended.")
    question: str | None = None
    timeline: str | None = None
    url: str | None = Field(None, description="Render jobs: the video's URL.")
    file_path: str | None = Field(None, description="Render jobs: the video on this machine, when it is here.")
    error: str | None = None


class JobsListing(BaseModel):
    """The jobs of this backend, newest first."""

    message: str
    backend: Literal["cloud", "local"]
    jobs: list[JobEntry]


class LatestVideo(BaseModel):
    """The newest finished render of this backend, or what to do when there is none."""

    message: str
    backend: Literal["cloud", "local"]
    job_id: str | None = None
    url: str | None = Field(None, description="Download URL (https:// for cloud, file:// for local renders).")
    file_path: str | None = Field(None, description="The video on this machine, when it is here.")
    saved_path: str | None = Field(None, description="Where export_video(save_to=…) put a checked copy.")
    size_bytes: int | None = None
    finished_at: str | None = None
    earlier_version: bool | None = Field(None, description="The timeline changed after this render.")


class StoryboardShot(BaseModel):
    index: int
    start_s: float
    end_s: float
    label: str
    captions: list[str] = Field(default_factory=list, description="Title and caption texts shown during this shot.")
    picture: str | None = Field(None, description="Where its picture came from; None when it is missing.")
    missing: str | None = Field(None, description="Why its picture is missing.")


class StoryboardResult(ToolResult):
    shots: list[StoryboardShot] = Field(description="The shots drawn, in order.")
    total_shots: int = Field(description="All visual segments of the timeline (the sheet shows at most 24).")
    duration_s: float
    image_type: str = Field(description="The contact sheet's MIME type (image/png or image/jpeg).")
    image_bytes: int = Field(description="The contact sheet's size; the image itself is in the tool's content.")
    _image: bytes = PrivateAttr(b"")

    @property
    def image(self) -> bytes:
        """The contact sheet (not in the JSON: it goes to the client as image content)."""
        return self._image
