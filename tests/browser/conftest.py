"""Browser tests: Debian's Chromium through Playwright. Without it they are skipped on a developer's machine
and fail in CI (`CI` set, as .ci/run runs them, or NEMO_REQUIRE_BROWSER=1): CI never goes green without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.host import chromium_missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture
def chromium() -> None:
    why = chromium_missing()
    if why is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get("NEMO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests cannot run: {why}")
    pytest.skip(why)


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored; CI keeps them as test artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
