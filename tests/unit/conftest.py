"""Shared fixtures for unit tests: settings pointing at a fake API base, a private cache."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from nemo_video_mcp.config import Settings
from nemo_video_mcp.store import Store

API = "https://api.test"
WEB = "https://web.test"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "NEMO_API_BASE": API,
            "NEMO_WEB_BASE": WEB,
            "NEMO_CACHE_DIR": str(tmp_path / "cache"),
            "NEMO_OUTPUT_DIR": str(tmp_path / "out"),
            "NEMO_POLL_INTERVAL": "0.01",
            "NEMO_WAIT_SCALE": "0.001",
            "NEMO_CLIENT_ID": "",
            "NEMO_CONFIRM_ABOVE": "0",  # the cost tests turn it on; elsewhere a form is the editor's question
        }
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings.cache_dir)


def assert_process_gone(process: asyncio.subprocess.Process) -> None:
    """The child was reaped (no zombie) and no longer exists."""
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
