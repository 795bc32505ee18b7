"""Domain models shared by the service and the backends. No wire formats, no MCP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MediaKind = Literal["image", "video", "audio"]
RenderState = Literal["starting", "pending", "processing", "completed", "failed", "cancelled"]


class MediaFile(BaseModel):
    """A local file that passed the checks in `media.check_media_file`."""

    model_config = ConfigDict(frozen=True)

    path: Path
    kind: MediaKind
    format: str = Field(description="Detected from content, e.g. 'jpeg', 'png', 'mp4'.")
    mime_type: str
    size_bytes: int


class UploadedFile(BaseModel):
    """What the backend (or the local project) holds for one uploaded file."""

    source: str = Field(description="The local path or URL the agent gave.")
    filename: str
    file_type: str = Field(description="image, video or audio.")
    url: str | None = Field(None, description="CDN URL (cloud) or file:// URL (local).")
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    content_hash: str | None = None


class Credits(BaseModel):
    available: float
    frozen: float
    total: float
    anonymous: bool
    needs_credits: bool = Field(True, description="False on the local backend, which needs none.")
    register_url: str | None = Field(None, description="Where an anonymous user registers to keep the project.")


class ProjectLink(BaseModel):
    """Where the user keeps the project: a claim link (anonymous), the workspace, or this machine."""

    kind: Literal["claim", "workspace", "local"]
    url: str | None = None
    expires_at: float | None = None
    path: str | None = Field(None, description="Local backend: the folder the project lives in.")


class RenderStatus(BaseModel):
    """One reading of a render job."""

    job_id: str
    status: RenderState
    progress: int = Field(0, ge=0, le=100)
    url: str | None = None
    file_path: str | None = Field(None, description="The video on this machine, when the backend put it here.")
    error: str | None = None
    duration_s: float | None = None
    size_bytes: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


class JobRecord(BaseModel):
    """What every job kept in the cache has: whose, since when, ended when, read by the agent or not."""

    job_id: str
    session_id: str
    backend: str
    created_at: float
    updated_at: float
    finished_at: float | None = None
    delivered: bool = Field(False, description="The agent has read this finished job's outcome.")

    @property
    def finished(self) -> bool:
        raise NotImplementedError


_CODEC_NAMES = {"h264": "H.264", "hevc": "H.265", "av1": "AV1", "vp9": "VP9", "mpeg4": "MPEG-4"}


class VideoProbe(BaseModel):
    """What the bundled ffmpeg and the file's MP4 boxes say about a finished video (see `video_probe`)."""

    duration_s: float
    planned_duration_s: float | None = Field(None, description="The timeline's duration the render was made from.")
    size_bytes: int
    codec: str = Field(description="ffmpeg's name of the video codec, e.g. h264.")
    pix_fmt: str = Field(description="e.g. yuv420p (what every player shows).")
    width: int
    height: int
    fps: float
    frames: int = Field(description="Video frames counted in the file.")
    faststart: bool = Field(description="The index (moov) is before the media: playback starts before the end.")
    audio_codec: str | None = Field(None, description="None: the video has no sound.")

    @property
    def summary(self) -> str:
        """One line, e.g. '1280x720 H.264 yuv420p 30 fps, 10.0 s, 2.1 MB, faststart, no audio'."""
        codec = _CODEC_NAMES.get(self.codec, self.codec)
        fps = f"{self.fps:g}" if self.fps >= 1 else f"{self.fps:.3g}"
        size = f"{self.size_bytes / 1e6:.1f} MB" if self.size_bytes >= 100_000 else f"{self.size_bytes / 1e3:.0f} KB"
        layout = "faststart" if self.faststart else "index at the end (not faststart)"
        audio = f"{self.audio_codec} audio" if self.audio_codec else "no audio"
        picture = f"{self.width}x{self.height} {codec} {self.pix_fmt} {fps} fps"
        return f"{picture}, {self.duration_s:.1f} s, {size}, {layout}, {audio}"


class RenderJob(JobRecord):
    """A render job as persisted in the cache, so that a restart resumes it rather than paying twice."""

    status: RenderState = "starting"
    progress: int = 0
    url: str | None = None
    error: str | None = None
    draft_fingerprint: str | None = Field(None, description="Fingerprint of the draft this job renders.")
    file_path: str | None = None
    saved_path: str | None = Field(None, description="Where export_video(save_to=…) put a checked copy.")
    saved_note: str | None = None
    planned_duration_s: float | None = Field(None, description="The timeline's duration when the render started.")
    probe: VideoProbe | None = Field(None, description="The finished file's check, once it passed.")
    keyframes: list[str] = Field(
        default_factory=list, description="The checked file's JPEG stills (start, middle, end), kept in the cache."
    )
    credits_before: Credits | None = Field(None, description="The balance read just before the render started.")

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")

    @property
    def unchecked(self) -> bool:
        """Finished on the backend, and its file not yet fetched to this machine or not yet checked there
        (`render_job` does both): not ready yet, whatever the backend says."""
        return self.status == "completed" and self.probe is None


class ProjectState(BaseModel):
    """The session's latest state. `draft` is kept as opaque JSON: unknown keys survive."""

    session_id: str
    draft: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict, description="Other state keys, kept as sent.")


# --- The explicit options of an edit: one definition for the tool schema, the checks and the local engine ---

Aspect = Literal["16:9", "9:16", "1:1"]
Transition = Literal["fade", "slide", "wipe", "dissolve", "none"]
Motion = Literal["kenburns", "static"]
Fit = Literal["blur", "contain", "cover", "smart"]
"""How a picture whose shape differs from the frame's fills it: over a blurred, darkened copy of itself
(what phone slideshow apps do), inside black bars, cropped to fill, or `smart`: cropped to a window
that keeps the photo's subject (chosen from the image by the renderer)."""
Look = Literal["none", "bw", "sepia", "warm", "cool"]
"""A colour look over a photo: none, black-and-white, sepia, warmer or cooler tones."""
TextRole = Literal["title", "caption", "end_card"]
"""What a text overlay is: the opening title, a caption over one photo, or the closing card."""
TextPosition = Literal["top", "center", "bottom"]
"""Where a text overlay sits in the frame (inside the safe margins)."""

MIN_DURATION_S, MAX_DURATION_S = 1.0, 600.0
MAX_TITLE_CHARS = 200
MAX_INSTRUCTION_CHARS = 4000

DurationS = Annotated[float, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)]
TitleText = Annotated[str, Field(max_length=MAX_TITLE_CHARS)]


class EditOptions(BaseModel):
    """Explicit wishes that win over the free-text instruction (used fully by the local backend).

    Only allowed values get in: a backend never sees (or charges for) an option it cannot honour.
    """

    duration_s: DurationS | None = None
    aspect: Aspect | None = None
    transition: Transition | None = None
    motion: Motion | None = None
    title: TitleText | None = None
    music_path: str | None = None
    fit: Fit | None = Field(None, description="blur, contain or cover: how a photo fills a frame of another shape.")


# --- Events of one edit turn, as the backends report them ---------------------------------------


class TextEvent(BaseModel):
    kind: Literal["text"] = "text"
    text: str
    partial: bool = False


class StepEvent(BaseModel):
    """The editor started or finished a step of its work, named in words a person reads (progress only)."""

    kind: Literal["step"] = "step"
    label: str = Field(description="What the editor is doing, e.g. 'generating video clips'.")
    finished: bool = False


class QuestionEvent(BaseModel):
    """The editor asks the user something before it goes on; `choices` are the answers it offers, if any."""

    kind: Literal["question"] = "question"
    question: str
    choices: list[str] = Field(default_factory=list)


class HeartbeatEvent(BaseModel):
    kind: Literal["heartbeat"] = "heartbeat"


StreamFailure = Literal["no_credits", "other"]
"""Why the editor said it failed: the account has no credits left, or anything else (its message says)."""


class StreamErrorEvent(BaseModel):
    """The backend reported a failure inside the stream."""

    kind: Literal["error"] = "error"
    message: str
    reason: StreamFailure = "other"


class ProgressEvent(BaseModel):
    """Local work reporting its own progress (0-100)."""

    kind: Literal["progress"] = "progress"
    percent: float
    message: str


EditEvent = TextEvent | StepEvent | QuestionEvent | HeartbeatEvent | StreamErrorEvent | ProgressEvent
