"""The picture of each storyboard shot: a file on this machine, an upload kept in the cache, or the CDN.

Local drafts point at files (`file://`); cloud drafts at CDN URLs, which the cache's upload records
map back to the files the agent uploaded, when they are still there. Anything else is fetched from
its http(s) URL, within the call's budget and with a size cap. What cannot be had is said, per shot.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, ImageOps

from nemo_video_mcp.budget import bounded
from nemo_video_mcp.errors import NemoError
from nemo_video_mcp.media import is_remote_url
from nemo_video_mcp.models import UploadedFile
from nemo_video_mcp.paths import is_file_url, path_of_file_url
from nemo_video_mcp.render.images import MAX_PIXELS, _to_rgb, open_image

log = logging.getLogger(__name__)
THUMB_BOX = (520, 520)
"""Pictures are cut down to this at once: the sheet shows them at most half as big."""
FETCH_TIMEOUT_S = 8.0
FETCH_MAX_BYTES = 12 * 1024 * 1024
FETCH_AT_ONCE = 4
BUDGET_MARGIN_S = 3.0
"""Time kept for drawing the sheet after the last fetch."""
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")


@dataclass(frozen=True)
class Picture:
    image: Image.Image | None
    origin: str | None = None
    missing: str | None = None


async def pictures_for(sources: Sequence[str | None], uploads: Sequence[UploadedFile]) -> list[Picture]:
    """One picture (or why there is none) per source, in order; each distinct source is read once."""
    by_url = {upload.url: upload for upload in uploads if upload.url}
    by_source = {upload.source: upload for upload in uploads}
    distinct = list(dict.fromkeys(source for source in sources if source))
    slots = asyncio.Semaphore(FETCH_AT_ONCE)
    seconds = max(0.5, bounded(60.0) - BUDGET_MARGIN_S)
    async with httpx.AsyncClient(follow_redirects=True, timeout=min(FETCH_TIMEOUT_S, seconds)) as client:
        tasks = {
            source: asyncio.create_task(_picture(source, by_url.get(source) or by_source.get(source), client, slots))
            for source in distinct
        }
        done, pending = await asyncio.wait(tasks.values(), timeout=seconds) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    late = Picture(None, missing="its picture did not arrive within the call's time")
    found = {source: task.result() if task in done else late for source, task in tasks.items()}
    return [found[source] if source else Picture(None, missing="the draft names no picture") for source in sources]


async def _picture(
    source: str, upload: UploadedFile | None, client: httpx.AsyncClient, slots: asyncio.Semaphore
) -> Picture:
    if (upload is not None and upload.file_type == "video") or _looks_like_video(source):
        return Picture(None, missing="a video clip: no still of it is made here")
    named = _local_path(source)
    local = named or (_local_path(upload.source) if upload is not None else None)
    if local is not None and local.is_file():
        picture = await asyncio.to_thread(_from_file, local)
        if picture.image is not None:
            origin = "file on this machine" if named is not None else "uploaded file kept here"
            return Picture(picture.image, origin=origin)
    remote = source if is_remote_url(source) else upload.source if upload and is_remote_url(upload.source) else None
    if remote is None:
        return Picture(None, missing="its file is not on this machine any more")
    async with slots:
        return await _from_url(remote, client)


def _from_file(path: Path) -> Picture:
    try:
        with open_image(path) as image:
            image.draft("RGB", THUMB_BOX)
            return Picture(_thumbnail(image))
    except (NemoError, OSError, ValueError) as exc:
        log.info("storyboard: could not read %s: %s", path.name, type(exc).__name__)
        return Picture(None, missing="its file could not be read")


async def _from_url(url: str, client: httpx.AsyncClient) -> Picture:
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                return Picture(None, missing=f"the CDN answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > FETCH_MAX_BYTES:
                    return Picture(None, missing="its picture on the CDN is too large to show")
    except httpx.HTTPError as exc:
        return Picture(None, missing=f"the CDN could not be reached ({type(exc).__name__})")
    return await asyncio.to_thread(_from_bytes, bytes(body))


def _from_bytes(data: bytes) -> Picture:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                return Picture(None, missing="its picture on the CDN is too large to show")
            image.draft("RGB", THUMB_BOX)
            return Picture(_thumbnail(image), origin="CDN")
    except (OSError, ValueError, Image.DecompressionBombError):
        return Picture(None, missing="the CDN's file is not a picture")


def _thumbnail(image: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(image) or image
    upright.thumbnail(THUMB_BOX)
    return _to_rgb(upright)


def _local_path(source: str) -> Path | None:
    if is_file_url(source):
        try:
            return path_of_file_url(source)
        except ValueError:
            return None
    return None if "://" in source else Path(source).expanduser()


def _looks_like_video(source: str) -> bool:
    return source.split("?", 1)[0].lower().endswith(VIDEO_SUFFIXES)
