"""Backends: the NemoVideo cloud (HTTP + SSE) and the embedded local renderer, behind one protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nemo_video_mcp.backends.base import Backend
    from nemo_video_mcp.config import Settings
    from nemo_video_mcp.store import Store


def create_backend(settings: Settings, store: Store) -> Backend:
    """Build the backend that `settings.backend` names. Imports lazily to keep start-up lean."""
    if settings.backend == "local":
        from nemo_video_mcp.backends.local import LocalBackend

        return LocalBackend(settings, store)
    from nemo_video_mcp.backends.cloud import CloudBackend

    return CloudBackend(settings, store)
