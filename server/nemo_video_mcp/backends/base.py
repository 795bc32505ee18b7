"""The Backend protocol: what the service needs from the cloud or the local engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from nemo_video_mcp.config import BackendName
from nemo_video_mcp.models import (
    Credits,
    EditEvent,
    EditOptions,
    MediaFile,
    ProjectLink,
    ProjectState,
    RenderStatus,
    UploadedFile,
)


class Backend(Protocol):
    """One way of turning images into video. The service never knows which one runs."""

    name: BackendName
    poll_interval: float
    """Seconds the service waits between render polls."""
    max_render_wait: float
    """Seconds a render is followed before the job is left for a later call to resume."""
    edit_recovery_delays_s: tuple[float, ...]
    """After a cut edit stream: the pauses before each state check (the edit is never re-sent)."""

    async def session_id(self) -> str:
        """The current session (creating one if needed)."""
        ...

    async def upload(self, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        """Send checked local files and/or remote URLs to the project."""
        ...

    def uploads(self) -> list[UploadedFile]:
        """The files uploaded to this project, as recorded on this machine (each with its source and URL)."""
        ...

    def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        """Run one edit turn, yielding its events as they arrive.

        A cut stream raises `StreamCutError`: the caller must not re-send the instruction.
        """
        ...

    async def get_state(self) -> ProjectState:
        """The session's latest state (the draft kept as opaque JSON)."""
        ...

    async def get_credits(self) -> Credits: ...

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        """Start rendering `draft` under the client-chosen `job_id`.

        The returned status may carry a different job id (after a duplicate-id retry).
        """
        ...

    async def poll_render(self, job_id: str) -> RenderStatus:
        """Read a render job; `RenderNotFoundError` when the backend does not know it."""
        ...

    async def cancel_render(self, job_id: str) -> None:
        """Stop a render (offline: kill ffmpeg and remove its partial file); a finished one is left as is."""
        ...

    async def project_link(self) -> ProjectLink:
        """Where the user can keep this project (never a link carrying the account's token)."""
        ...

    def url_needs_auth(self, url: str) -> bool:
        """Whether a finished render's URL only opens with this backend's credentials."""
        ...

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        """Write the finished video to `target` (atomically) and return it."""
        ...

    async def aclose(self) -> None: ...


class StreamCutError(Exception):
    """The edit stream ended abnormally (cut, timeout, heartbeats only): the edit may or may not have landed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RenderNotFoundError(Exception):
    """The backend has no render job under this id (e.g. the start request never reached it)."""


class RenderIdTakenError(Exception):
    """The backend already holds a render under this id, and it is not ours: choose a new id."""
