"""Reading a backend reply's body within bounds: the one place the cloud backend reads bytes.

Bodies are read as raw bytes and decoded here, incrementally: each step of gzip or deflate
decoding yields at most `PIECE_BYTES`, so a small compressed body that would inflate to
gigabytes (a "gzip bomb") is stopped at the cap on its *decoded* size with only one piece in
memory. We ask only for the encodings we decode this way (`ACCEPT_ENCODING`); a reply in any
other encoding is refused rather than trusted to a decoder without an output bound.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from nemo_video_mcp.errors import BadResponseError, ReplyTooLargeError

MB = 1024 * 1024
MAX_JSON_BYTES = 16 * MB
"""A JSON reply (decoded) larger than this is not read: the largest real one, a state, is far smaller."""
MAX_VIDEO_BYTES = 4 * 1024 * MB
"""A finished video larger than this is not written to disk (an H.264 MP4 up to 1080x1920 is far smaller)."""
PIECE_BYTES = 256 * 1024
"""The most one decoding step produces."""
ACCEPT_ENCODING = "gzip, deflate"


class _Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), with a bound on each output piece."""

    def __init__(self, encoding: str, what: str) -> None:
        self._encoding = encoding
        self._what = what
        self._gzip = encoding in ("gzip", "x-gzip")
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._started = False
        self._head = b""  # deflate: zlib or raw is told by the first two bytes, which may come apart

    def feed(self, data: bytes, *, final: bool = False) -> Iterator[bytes]:
        if not self._gzip and not self._started:
            data = self._head + data
            if len(data) < 2 and data and not final:
                self._head = data
                return
            self._head = b""
        while True:
            try:
                piece = self._inflate.decompress(data, PIECE_BYTES)
            except zlib.error:
                if self._gzip or self._started:
                    raise BadResponseError(
                        f"the {self._encoding} compression of the reply to {self._what} is corrupt"
                    ) from None
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, without the zlib header
                self._started = True
                continue
            self._started = True
            data = self._inflate.unconsumed_tail
            if piece:
                yield piece
            # Input left over, or a full piece (zlib may hold more output): go on; else wait for input.
            if self._inflate.eof or (not data and len(piece) < PIECE_BYTES):
                return

    def finish(self) -> Iterator[bytes]:
        yield from self.feed(b"", final=True)  # never `flush()`: it returns everything still pending, unbounded


def _decoders(response: httpx.Response, what: str) -> list[_Inflater]:
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",") if e.strip()]
    decoders = []
    for encoding in encodings:
        if encoding == "identity":
            continue
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise BadResponseError(
                f"the reply to {what} came in the {encoding!r} encoding, which this server did not ask for"
            )
        decoders.append(_Inflater(encoding, what))
    return list(reversed(decoders))  # the last encoding applied is the first to undo


def _through(decoders: list[_Inflater], data: bytes, *, last: bool = False) -> Iterator[bytes]:
    """`data` run through each decoder in turn, piece by piece (no stage ever holds more than a piece)."""
    pieces: Iterator[bytes] = iter((data,)) if data else iter(())
    for decoder in decoders:
        pieces = _stage(decoder, pieces, last=last)
    return pieces


def _stage(decoder: _Inflater, pieces: Iterator[bytes], *, last: bool) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)
    if last:
        yield from decoder.finish()


async def decoded(response: httpx.Response, what: str) -> AsyncIterator[bytes]:
    """The body of `response`, decoded, in pieces of at most `PIECE_BYTES` (undecoded chunks pass as they come).

    `what` names the reply in error messages ("the project state").
    """
    decoders = _decoders(response, what)
    async for chunk in response.aiter_raw():
        for piece in _through(decoders, chunk):
            yield piece
    if decoders:
        for piece in _through(decoders, b"", last=True):
            yield piece


async def read_text(response: httpx.Response, what: str, limit: int = MAX_JSON_BYTES) -> str:
    """The whole decoded body as text (UTF-8; a byte that is not becomes U+FFFD), or `ReplyTooLargeError`
    as soon as it passes `limit` bytes (or declares that it will).

    Text rather than bytes: the JSON parser would make a text copy of bytes anyway, and for the
    largest replies that copy is what pushes peak memory up.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and not response.headers.get("content-encoding") and int(declared) > limit:
        raise ReplyTooLargeError(what, limit)
    body = bytearray()
    async for piece in decoded(response, what):
        if len(body) + len(piece) > limit:
            raise ReplyTooLargeError(what, limit)
        body += piece
    return body.decode("utf-8-sig", "replace")
