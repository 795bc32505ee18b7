"""The finished video: fetched from its URL (with the token only on the API's own paths), else from the
contract's Bearer-protected `/download`; written atomically, checked to be a video, within its cap."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx

from nemo_video_mcp.atomic import replacing
from nemo_video_mcp.backends import bodies
from nemo_video_mcp.backends.cloud.auth import Tokens
from nemo_video_mcp.backends.cloud.transport import NetworkFailure, Transport
from nemo_video_mcp.errors import BackendUnavailableError, BadResponseError

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=120.0)
DOWNLOAD_LIMIT_S = 3600.0
_VIDEO_HEAD_BYTES = 12
_VIDEO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


class Downloads:
    def __init__(self, api_base: str, transport: Transport, tokens: Tokens) -> None:
        self._api_base = api_base
        self._transport = transport
        self._tokens = tokens

    def url_needs_auth(self, url: str) -> bool:
        """Only the API's own paths want the Bearer token; a CDN link (even on the same host) is open."""
        return url.startswith(self._api_base + "/api/")

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        """Fetch the video: its URL first, then the contract's Bearer-protected download as the fallback."""
        candidates = [url] if url else []
        fallback = f"{self._api_base}/api/render/proxy/{job_id}/download"
        if fallback not in candidates:
            candidates.append(fallback)
        problems: list[str] = []
        for candidate in candidates:
            headers = {}
            if self.url_needs_auth(candidate):
                headers["Authorization"] = f"Bearer {(await self._tokens.current()).token}"
            try:
                await self._download(candidate, headers, target)
                return target
            except NetworkFailure as exc:
                problems.append(exc.detail)
            except OSError as exc:
                problems.append(f"disk: {exc.strerror}")
            log.warning("download of render %s failed: %s", job_id, problems[-1])
        raise BackendUnavailableError(f"the finished video could not be downloaded ({'; '.join(problems)})")

    async def _download(self, url: str, headers: dict[str, str], target: Path) -> None:
        """Stream `url` to `target` through a temp file in the same folder; never leave a partial file.

        The body must start like a video and stay under `bodies.MAX_VIDEO_BYTES` (decoded).
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with replacing(target) as partial:
                async with self._transport.exchange(
                    "GET", url, headers=headers, timeout=DOWNLOAD_TIMEOUT, limit_s=DOWNLOAD_LIMIT_S
                ) as response:
                    if response.status_code != 200:
                        raise NetworkFailure(f"{response.url.host} answered HTTP {response.status_code}")
                    await _write_video(response, partial)
        except BadResponseError as exc:
            raise NetworkFailure(exc.message) from None


async def _write_video(response: httpx.Response, partial: Path) -> None:
    """The body to `partial`: it must start like a video and stay under `bodies.MAX_VIDEO_BYTES` (decoded)."""
    host = response.url.host
    written = 0
    head = b""
    with partial.open("wb") as handle:
        async for piece in bodies.decoded(response, "the video download"):
            written += len(piece)
            if written > bodies.MAX_VIDEO_BYTES:
                raise NetworkFailure(f"{host} sent more than {bodies.MAX_VIDEO_BYTES // bodies.MB:,} MB")
            if len(head) < _VIDEO_HEAD_BYTES:
                head += piece[: _VIDEO_HEAD_BYTES - len(head)]
                if len(head) == _VIDEO_HEAD_BYTES:
                    require_video(host, head)
            handle.write(piece)
    if len(head) < _VIDEO_HEAD_BYTES:
        require_video(host, head)


def require_video(host: str, head: bytes) -> None:
    """The first bytes of a download must be MP4/MOV (a box type at offset 4), WebM/Matroska or AVI."""
    if (
        head[4:8] in _VIDEO_BOXES
        or head.startswith(b"\x1aE\xdf\xa3")
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    ):
        return
    start = head.lstrip()[:1]
    if not head:
        what = "an empty file"
    elif start == b"<":
        what = "a web page"
    elif start in (b"{", b"["):
        what = "JSON"
    else:
        what = "bytes of another kind"
    raise NetworkFailure(f"{host} sent {what}, not a video")
