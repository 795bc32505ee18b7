"""One offline render of the Hidden Peaks video, shared by the tests that check it.

The MCP story (tests/unit/test_local_mcp.py) and the engine's own check (tests/unit/test_render_output.py)
need the same render: three striped stills as a vertical 12-second ken-burns video titled "Hidden Peaks".
It is the slowest thing the suite does, so it is done once per run: through the five tools, with
a spy on the engine's `render_slideshow` that keeps the plan it was given, the progress it reported and
what it returned. Each test still asserts everything it did before, on that one file.
"""

from __future__ import annotations

import asyncio
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the server is imported when the fixture runs: a plugin that fails to import stops every test
    from mcp.types import CallToolResult

    from nemo_video_mcp.config import Settings
    from nemo_video_mcp.render.plan import EditPlan
    from nemo_video_mcp.render.probe import VideoInfo

INSTRUCTION = 'a vertical 12-second video with ken burns motion and the title "Hidden Peaks"'
COLORS = ("darkred", "darkgreen", "navy")


@dataclass
class EngineCall:
    """What the engine's `render_slideshow` was asked and answered during the story."""

    plan: EditPlan
    output: Path
    progress: list[float] = field(default_factory=list)
    info: VideoInfo | None = None


@dataclass
class HiddenPeaks:
    """The story's tool results, the MCP progress of the export, and the engine's one call."""

    settings: Settings
    images: list[str]
    results: dict[str, CallToolResult]
    export_progress: list[float]
    engine: list[EngineCall]


def _spy(original: Callable[..., Any], calls: list[EngineCall]) -> Callable[..., Any]:
    async def render_slideshow(plan: EditPlan, output: Path, *, on_progress=None, **kwargs: Any) -> VideoInfo:
        call = EngineCall(plan=plan, output=Path(output))
        calls.append(call)

        def report(percent: float) -> None:
            call.progress.append(percent)
            if on_progress is not None:
                on_progress(percent)

        call.info = await original(plan, output, on_progress=report, **kwargs)
        return call.info

    return render_slideshow


async def _story(settings: Settings, images: list[str]) -> tuple[dict[str, CallToolResult], list[float]]:
    from mcp import Client

    from nemo_video_mcp.app import build_app

    export_progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        export_progress.append(done)

    results: dict[str, CallToolResult] = {}
    async with Client(build_app(settings)) as client:
        results["upload_images"] = await client.call_tool("upload_images", {"paths": images})
        results["generate_video"] = await client.call_tool("generate_video", {"instruction": INSTRUCTION})
        results["get_state"] = await client.call_tool("get_state", {})
        results["get_credits"] = await client.call_tool("get_credits", {})
        results["export_video"] = await client.call_tool("export_video", {}, progress_callback=on_progress)
    return results, export_progress


@pytest.fixture(scope="session")
def hidden_peaks(tmp_path_factory: pytest.TempPathFactory) -> HiddenPeaks:
    """The Hidden Peaks story, run once for the whole run (about a third of a minute of ffmpeg).

    Under pytest-xdist the workers share it through their common temp folder: the first to need it renders
    (holding a lock), the others wait for it and read the outcome. (Grouping the tests on one worker with
    `xdist_group` is not enough: pytest 9.2 ignores the node-id suffix that `--dist loadgroup` relies on.)
    """
    from nemo_video_mcp.store import Store

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "hidden-peaks"
    saved = root / "outcome.pickle"
    with Store(root).locked():
        if saved.exists():
            return pickle.loads(saved.read_bytes())
        outcome = _render(root)
        saved.write_bytes(pickle.dumps(outcome))
    return outcome


def _render(root: Path) -> HiddenPeaks:
    from nemo_video_mcp.backends import local
    from nemo_video_mcp.config import Settings

    from .conftest import API, WEB
    from .test_render_images import striped_image

    photos = root / "photos"
    photos.mkdir()
    images = [str(striped_image(photos / f"in{i}.png", (800, 600), color)) for i, color in enumerate(COLORS)]
    settings = Settings.from_env(
        {
            "NEMO_API_BASE": API,
            "NEMO_WEB_BASE": WEB,
            "NEMO_CACHE_DIR": str(root / "cache"),
            "NEMO_OUTPUT_DIR": str(root / "out"),
            "NEMO_POLL_INTERVAL": "0.01",
            "NEMO_WAIT_SCALE": "0.001",
            "NEMO_CLIENT_ID": "",
        }
    ).model_copy(update={"backend": "local"})
    engine: list[EngineCall] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local, "render_slideshow", _spy(local.render_slideshow, engine))
        results, export_progress = asyncio.run(_story(settings, images))
    return HiddenPeaks(settings, images, results, export_progress, engine)
