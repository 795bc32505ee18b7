"""Uploads: local files streamed as one multipart request, URLs as the JSON form; recorded, so that a
replaced session gets them again."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.cloud.cache import CloudCache
from nemo_video_mcp.backends.cloud.calls import AGENT_APP, Api
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import BackendError, MediaFileError
from nemo_video_mcp.media import check_media_file, is_remote_url, upload_name
from nemo_video_mcp.models import MediaFile, UploadedFile

log = logging.getLogger(__name__)

UPLOAD_TIMEOUT = httpx.Timeout(30.0, read=300.0, write=300.0)


class Uploads:
    def __init__(self, settings: Settings, cache: CloudCache, api: Api) -> None:
        self._settings = settings
        self._cache = cache
        self._api = api

    async def send(self, session_id: str, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        """Send `files` (read from disk as they go) and `urls` to the session. Not retried: an upload is no read."""
        path = f"/api/upload-video/{AGENT_APP}/me/{session_id}"
        uploaded: list[UploadedFile] = []
        if files:

            def open_files() -> list[tuple[str, Any]]:
                return [("files", (upload_name(f.path), f.path.open("rb"), f.mime_type)) for f in files]

            sources = [str(f.path) for f in files]
            sent = await self._api.call(
                "POST",
                path,
                files=open_files,
                timeout=UPLOAD_TIMEOUT,
                parse=lambda data: wire.parse_uploaded_files(data, sources),
            )
            sizes = {str(f.path): f.size_bytes for f in files}
            uploaded += [u if u.size_bytes else u.model_copy(update={"size_bytes": sizes.get(u.source)}) for u in sent]
        if urls:
            url_list = list(urls)
            uploaded += await self._api.call(
                "POST",
                path,
                json={"urls": url_list, "source_type": "url"},
                parse=lambda data: wire.parse_uploaded_files(data, url_list),
            )
        return uploaded

    async def record(self, session_id: str, uploaded: list[UploadedFile]) -> None:
        """Add `uploaded` to the session's record in the cache (a new session starts a new record)."""

        def append() -> None:
            doc = self._cache.read("uploads")
            if doc.get("session_id") != session_id:
                doc = {"session_id": session_id, "files": []}
            doc["files"] = [*doc.get("files", []), *(f.model_dump(mode="json") for f in uploaded)]
            self._cache.save("uploads", doc)

        await self._cache.profile.run_locked(append)

    def recorded(self, session_id: str | None) -> list[UploadedFile]:
        """The files uploaded to `session_id`, as recorded in the cache."""
        doc = self._cache.read("uploads")
        if doc.get("session_id") != session_id:
            return []
        return [UploadedFile.model_validate(item) for item in doc.get("files", [])]

    async def restore(self, lost: str, session_id: str) -> int:
        """Send the uploads of the `lost` session to its replacement; how many went (files gone since are left out)."""
        doc = self._cache.read("uploads")
        if doc.get("session_id") != lost or not doc.get("files"):
            return 0
        sources = [str(item.get("source", "")) for item in doc["files"]]
        urls = [s for s in sources if is_remote_url(s)]
        files: list[MediaFile] = []
        for source in sources:
            if source and not is_remote_url(source):
                with contextlib.suppress(MediaFileError, ValueError, OSError):  # gone or changed since
                    files.append(check_media_file(source, self._settings.allowed_dirs))
        if not files and not urls:
            return 0
        try:
            uploaded = await self.send(session_id, files, urls)
        except BackendError as exc:
            log.warning("could not restore uploads to the new session: %s", exc.message)
            return 0
        await self.record(session_id, uploaded)
        return len(uploaded)
