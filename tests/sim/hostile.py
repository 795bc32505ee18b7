"""The simulator's hostile replies: bodies too large, endless, inflating, nested or numerically absurd.

Each is what a broken or malicious backend could send; the switches that turn them on are in
`config.py` ("hostile replies"). Large bodies are made lazily while they are sent, so the simulator
itself never holds them whole.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

MB = 1024 * 1024
BOMB_BYTES = 1024 * MB
"""What the gzip bomb inflates to: 1 GB of zeros (about 1 MB on the wire)."""
ENDLESS_TRACK = b'{"tt":0,"sg":[{"d":1000,"m":{"name":"again and again"}}]},'
DEEP_TEXT = "this event is nested too deep to be read"


async def gzip_zeros(total: int = BOMB_BYTES) -> AsyncIterator[bytes]:
    """`total` zero bytes, gzip-compressed a megabyte at a time as the client reads."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MB)
    for _ in range(total // MB):
        out = compressor.compress(block)
        if out:
            yield out
        await asyncio.sleep(0)
    yield compressor.flush()


async def endless_state() -> AsyncIterator[bytes]:
    """A state reply that starts well and never ends: one more track, for as long as the client reads."""
    yield b'{"code":0,"data":{"session_id":"endless","state":{"draft":{"t":['
    chunk = ENDLESS_TRACK * 1000
    while True:
        yield chunk
        await asyncio.sleep(0)


def nested(depth: int) -> str:
    """JSON text of lists nested `depth` deep (json.dumps cannot write it: it recurses)."""
    return "[" * depth + "]" * depth


def with_deep_value(text: str, depth: int) -> str:
    """A JSON object's text with one more key, `deep`, holding a value nested `depth` deep."""
    if not text.endswith("}"):
        return text
    separator = "" if text[:-1].rstrip().endswith("{") else ","
    return f'{text[:-1]}{separator}"deep":{nested(depth)}}}'


def deep_event(depth: int) -> bytes:
    """One ADK text event whose parts also carry a value nested `depth` deep."""
    return f'{{"content":{{"parts":[{{"text":"{DEEP_TEXT}","x":{nested(depth)}}}],"role":"model"}}}}'.encode()


def huge_text_event(size_bytes: int) -> Iterator[bytes]:
    """One ADK text event of about `size_bytes` on a single line, in pieces (never whole in memory)."""
    sentence = b"The video is ready, here is everything about it in great detail. "
    piece = sentence * (MB // len(sentence))
    head = b'{"content":{"parts":[{"text":"'
    tail = b'"}],"role":"model"},"turnComplete":true}'
    yield head
    left = size_bytes - len(head) - len(tail)
    while left > 0:
        yield piece[:left]
        left -= len(piece)
    yield tail


@functools.lru_cache(maxsize=2)
def big_draft(segments: int) -> dict[str, Any]:
    """A draft with one video track of `segments` photos (100,000 of them is about 10 MB of JSON).

    Cached: callers must not change it."""
    clips = [
        {"id": f"seg_{i:06d}", "d": 3000, "m": {"name": f"photo {i}.jpg", "src": f"u/{i:08d}.jpg"}, "fx": {"kb": 1}}
        for i in range(segments)
    ]
    return {"t": [{"tt": 0, "sg": clips}], "d": 3000 * segments, "m": {"width": 1080, "height": 1920}}


def with_infinity(draft: dict[str, Any]) -> dict[str, Any]:
    """A copy of `draft` with Infinity as its first track's `tt` and a segment's volume (json.dumps writes
    `Infinity`, which Python's json reads back but strict JSON does not have)."""
    spoiled = copy.deepcopy(draft)
    tracks = spoiled.setdefault("t", [])
    if not tracks:
        tracks.append({"tt": 0, "sg": [{"d": 3000, "m": {"name": "photo"}}]})
    tracks[0]["tt"] = float("inf")
    segments = tracks[0].setdefault("sg", [{"d": 3000}])
    if segments:
        segments[0]["volume"] = float("inf")
    spoiled["d"] = float("-inf")
    return spoiled


RAW_1E999 = "__raw_1e999__"
"""A placeholder the JSON replies turn into the bare number 1e999 (no Python float writes as that)."""


def raw_numbers(text: str) -> str:
    return text.replace(json.dumps(RAW_1E999), "1e999")
