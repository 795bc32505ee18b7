"""Notices belong to the call that caused them, even with calls running side by side."""

from __future__ import annotations

import asyncio

from nemo_video_mcp import notices


async def test_concurrent_calls_keep_their_own_notices() -> None:
    async def call(name: str) -> list[str]:
        with notices.collecting() as gathered:
            notices.note(f"{name} started")
            await asyncio.sleep(0.01)
            notices.note(f"{name} done")
            notices.note(f"{name} done")
            return gathered

    first, second = await asyncio.gather(call("a"), call("b"))
    assert first == ["a started", "a done"] and second == ["b started", "b done"]


def test_outside_a_call_a_notice_only_reaches_the_log() -> None:
    notices.note("nobody listens")
    assert notices.current() == []
