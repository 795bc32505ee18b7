"""Notices belong to the call that caused them, even with calls running side by side."""

from __future__ import annotations

import asyncio
import logging

import pytest

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


def test_outside_a_call_a_notice_only_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="nemo_video_mcp.notices"):
        notices.note("nobody listens")
    assert [record.getMessage() for record in caplog.records] == ["notice: nobody listens"]
    assert notices.current() == []
    with notices.collecting() as gathered:  # a later call does not inherit it
        notices.note("heard")
        assert notices.current() == ["heard"]
    assert gathered == ["heard"] and notices.current() == []


def test_a_nested_call_shares_the_outer_call_s_notices() -> None:
    with notices.collecting() as outer:
        notices.note("outer")
        with notices.collecting() as inner:
            notices.note("inner")
        assert inner is outer
    assert outer == ["outer", "inner"]
