"""The render's Pillow work runs in a child process: used, reaped, and its errors keep their type and next step."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from nemo_video_mcp.errors import MediaFileError
from nemo_video_mcp.render import images, prepare
from nemo_video_mcp.render.images import ImageTooSmallError, ImageUnreadableError
from nemo_video_mcp.render.plan import build_plan
from nemo_video_mcp.render.prepare import PrepareError, rebuild_error
from nemo_video_mcp.render.prepare_worker import Task, describe_error, run_tasks
from nemo_video_mcp.render.slideshow import PREPARE_SHARE, render_slideshow

from .conftest import assert_process_gone
from .test_render_images import striped_image


def _plan(paths: list[Path], **options):
    return build_plan(
        range(len(paths)), duration_s=2.0, transition="fade", transition_s=0.3, motion="static", **options
    ).with_images(paths)


@pytest.fixture
def children(monkeypatch):
    """The processes started by `prepare` (not ffmpeg's), to check that they ran and were reaped."""
    started: list[asyncio.subprocess.Process] = []
    original = asyncio.create_subprocess_exec

    async def spy(*args, **kwargs):
        process = await original(*args, **kwargs)
        if prepare.WORKER_MODULE in args or "-c" in args:
            started.append(process)
        return process

    monkeypatch.setattr(prepare.asyncio, "create_subprocess_exec", spy)
    return started


async def test_the_stills_are_made_in_a_child_process(tmp_path, monkeypatch, children):
    def not_here(*_args, **_kwargs):
        raise AssertionError("the calling process decoded an image")

    monkeypatch.setattr(images, "normalize_image", not_here)
    monkeypatch.setattr(images, "fit_image", not_here)
    paths = [striped_image(tmp_path / f"in{i}.png", (800, 600), "navy") for i in range(3)]
    seen: list[float] = []
    work = tmp_path / "work"
    work.mkdir()
    info = await render_slideshow(
        _plan(paths, title="Child"), tmp_path / "out.mp4", on_progress=seen.append, work_dir=work
    )

    assert (info.width, info.height) == (1920, 1080)
    assert len(children) == 1 and children[0].returncode == 0
    assert_process_gone(children[0])
    preparing = [p for p in seen if p <= PREPARE_SHARE]
    assert len(preparing) >= 5 and preparing == sorted(preparing)  # 3 stills + 2 transitions, in order
    assert seen[-1] == 100 and seen == sorted(seen)
    assert os.listdir(work) == []


async def test_a_corrupt_image_fails_in_the_child_with_its_message_and_next_step(tmp_path, children):
    good = striped_image(tmp_path / "good.png", (800, 600), "navy")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    with pytest.raises(ImageUnreadableError) as expected:
        images.normalize_image(broken, tmp_path / "x.y4m", (1920, 1080), name="broken.jpg")
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(ImageUnreadableError) as caught:
        await render_slideshow(_plan([good, broken]), tmp_path / "out.mp4", work_dir=work)

    assert isinstance(caught.value, MediaFileError) and caught.value.code == 4001
    assert caught.value.message == expected.value.message and "broken.jpg" in caught.value.message
    assert caught.value.next_step == expected.value.next_step and "upload_images" in caught.value.next_step
    assert len(children) == 1
    assert_process_gone(children[0])
    assert os.listdir(work) == [] and not (tmp_path / "out.mp4").exists()


async def test_a_too_small_image_keeps_its_type(tmp_path, children):
    tiny = striped_image(tmp_path / "tiny.png", (10, 40), "navy")
    with pytest.raises(ImageTooSmallError, match=r"tiny\.png is only 10x40 px") as caught:
        await render_slideshow(_plan([tiny, tiny]), tmp_path / "out.mp4")
    assert "larger version" in caught.value.next_step


async def test_cancel_kills_the_child_and_leaves_no_files(tmp_path, monkeypatch, children):
    monkeypatch.setattr(prepare, "worker_argv", lambda: [sys.executable, "-c", "import time; time.sleep(60)"])
    paths = [striped_image(tmp_path / f"in{i}.png", (800, 600), "navy") for i in range(2)]
    work = tmp_path / "work"
    work.mkdir()
    task = asyncio.create_task(render_slideshow(_plan(paths), tmp_path / "out.mp4", work_dir=work))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if children:
            break
    assert children, "the child never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_process_gone(children[0])
    assert os.listdir(work) == []


async def test_a_crashing_child_is_a_render_error_with_its_text(tmp_path, monkeypatch, children):
    crash = "import sys; sys.stdin.read(); sys.stderr.write('segfault-ish'); sys.exit(3)"
    monkeypatch.setattr(prepare, "worker_argv", lambda: [sys.executable, "-c", crash])
    paths = [striped_image(tmp_path / f"in{i}.png", (800, 600), "navy") for i in range(2)]
    with pytest.raises(PrepareError, match="code 3: segfault-ish") as caught:
        await render_slideshow(_plan(paths), tmp_path / "out.mp4")
    assert "export_video" in caught.value.next_step
    assert_process_gone(children[0])


async def test_a_hanging_child_times_out(tmp_path, monkeypatch, children):
    monkeypatch.setattr(prepare, "worker_argv", lambda: [sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(PrepareError, match="did not finish within"):
        await prepare.prepare_in_child({"stills": []}, timeout_s=0.5)
    assert_process_gone(children[0])


def test_errors_round_trip_by_class_and_others_become_prepare_errors(tmp_path):
    original = ImageTooSmallError(tmp_path / "a.png", (4, 4))
    rebuilt = rebuild_error(describe_error(original))
    assert type(rebuilt) is ImageTooSmallError
    assert (rebuilt.message, rebuilt.next_step, rebuilt.code) == (original.message, original.next_step, 4001)
    assert str(rebuilt) == str(original)

    other = rebuild_error(describe_error(ValueError("bad mode")))
    assert isinstance(other, PrepareError) and "ValueError: bad mode" in other.message
    foreign = rebuild_error({"type": "os.system", "message": "x", "next_step": "y"})
    assert isinstance(foreign, PrepareError)


def test_a_transition_starts_only_after_its_stills_and_a_failure_stops_the_rest():
    order: list[str] = []
    steps: list[int] = []

    def work(name: str, delay: float = 0.0):
        def run() -> None:
            time.sleep(delay)
            order.append(name)

        return run

    tasks = [
        Task(work("a", 0.1), makes="a"),
        Task(work("b"), makes="b"),
        Task(work("c", 0.2), makes="c"),
        Task(work("ab"), needs=("a", "b")),
        Task(work("bc"), needs=("b", "c")),
    ]
    run_tasks(tasks, lambda: steps.append(1))
    assert order.index("ab") > order.index("a") and order.index("bc") > order.index("c")
    assert order.index("ab") < order.index("c")  # it did not wait for every still
    assert len(steps) == 5

    def broken() -> None:
        raise ImageTooSmallError(Path("x.png"), (1, 1))

    order.clear()
    with pytest.raises(ImageTooSmallError):
        run_tasks([Task(broken, makes="a"), Task(work("b"), makes="b"), Task(work("ab"), needs=("a", "b"))], print)
    assert "ab" not in order
