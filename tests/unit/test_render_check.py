"""A finished render is checked before it is a success: a broken file fails the job with a next step (never
returned, resumed or saved), a good one keeps its probe in the ledger and its stills in the cache. A cloud
render is downloaded to be checked whether or not its link needs the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nemo_video_mcp import video_probe
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import RenderFailedError
from nemo_video_mcp.models import RenderStatus
from nemo_video_mcp.paths import file_url
from nemo_video_mcp.render_jobs import RenderLedger
from nemo_video_mcp.store import Store
from tests.sim.videos import broken, named_mp4
from tests.unit.test_service import ScriptedBackend, done, service_for


class RendersHere(ScriptedBackend):
    """A backend that, like the local one, puts each finished video on this machine itself (`file_path`)."""

    def __init__(self, settings: Settings, files: list[bytes]) -> None:
        super().__init__()
        self.settings = settings
        self.files = files

    async def poll_render(self, job_id: str) -> RenderStatus:
        output = self.settings.output_dir / f"{job_id}.mp4"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(self.files.pop(0))
        return RenderStatus(
            job_id=job_id, status="completed", progress=100, url=file_url(output), file_path=str(output)
        )


class OpenLink(ScriptedBackend):
    """A cloud backend whose finished videos sit behind an open CDN link (no token), one file per render."""

    def __init__(self, files: list[bytes]) -> None:
        super().__init__()
        self.files = files
        self.fetched: list[str | None] = []

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        self.render_polls.append(done(PUBLIC))
        return await super().start_render(job_id, draft)

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        self.fetched.append(url)
        await super().download_render(job_id, url, target)
        target.write_bytes(self.files.pop(0))
        return target


GOOD = named_mp4(5000, "good")  # the scripted drafts last 5 s
PUBLIC = "https://cdn.example/v.mp4"


def backend_of(kind: str, settings: Settings, files: list[bytes]) -> ScriptedBackend:
    return RendersHere(settings, files) if kind == "renders_here" else OpenLink(files)


@pytest.mark.parametrize("kind", ["renders_here", "open_link"])
@pytest.mark.parametrize("how", ["no_moov", "cut"])
async def test_a_broken_file_fails_the_render_with_a_next_step_and_the_next_export_renders_again(
    settings: Settings, how: str, kind: str
) -> None:
    backend = backend_of(kind, settings, [broken(GOOD, how), GOOD])
    service = service_for(settings, backend)
    with pytest.raises(RenderFailedError) as raised:
        await service.export_video(save_to="kept/")
    assert "failed its check" in raised.value.message and "export_video again" in raised.value.next_step
    assert not (settings.output_dir / "kept").exists() or not any((settings.output_dir / "kept").iterdir())
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert job.status == "failed" and job.probe is None and "Next step" in (job.error or "")
    looked = await service.get_job(job.job_id)
    assert looked.status == "failed" and looked.error and "export_video again" in looked.error
    assert not looked.keyframes and looked.probe is None
    again = await service.export_video()
    assert again.status == "completed" and again.probe is not None and len(again.keyframes) == 3
    assert len(backend.renders_started) == 2 and again.job_id != job.job_id


async def test_the_probe_and_the_stills_outlive_the_server(settings: Settings) -> None:
    backend = RendersHere(settings, [GOOD])
    gone = Store(settings.cache_dir).private_folder("keyframes", "render_the_ledger_dropped")
    (gone / "start.jpg").write_bytes(b"old")
    first = await service_for(settings, backend).export_video()
    assert not gone.exists(), "the stills of a job the ledger no longer keeps are removed"
    assert first.probe is not None and first.probe.summary in first.message
    assert len(first.keyframes) == 3 and all(still.startswith(b"\xff\xd8") for still in first.keyframes)
    restarted = service_for(settings, backend)
    again = await restarted.export_video()
    looked = await restarted.get_job()
    for result in (again, looked):
        assert result.probe == first.probe and result.keyframes == first.keyframes
    ledger = settings.cache_dir / "renders.json"
    assert ledger.stat().st_size < 4096, "the stills are files in the cache, not in the ledger"
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert [Path(p).name for p in job.keyframes] == ["start.jpg", "middle.jpg", "end.jpg"]
    assert all(Path(p).is_relative_to(settings.cache_dir) for p in job.keyframes)
    assert backend.renders_started == [first.job_id]


async def test_a_server_stopped_before_the_check_leaves_it_to_the_next_look(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = ScriptedBackend()
    backend.render_polls = [done("https://api.private/api/render/proxy/x/download")]

    async def no_ffmpeg(args: list[str], timeout_s: float) -> str:
        raise video_probe.ProbeUnavailableError("ffmpeg could not be started: gone")

    with monkeypatch.context() as patch:
        patch.setattr(video_probe, "run_ffmpeg_report", no_ffmpeg)
        with pytest.raises(video_probe.ProbeUnavailableError):
            await service_for(settings, backend).export_video()
    (job,) = RenderLedger(Store(settings.cache_dir)).all()
    assert job.status == "completed" and job.file_path and job.probe is None
    looked = await service_for(settings, backend).get_job()
    assert looked.status == "completed"
    assert looked.probe is not None and len(looked.keyframes) == 3, "the unchecked file was checked on the next look"
    assert backend.downloads == [job.job_id] and backend.renders_started == [job.job_id]


async def test_a_file_shorter_than_the_timeline_is_not_the_video(settings: Settings) -> None:
    backend = RendersHere(settings, [named_mp4(3000, "short")])  # the timeline lasts 5 s
    with pytest.raises(RenderFailedError, match=r"it lasts 3\.0 s where the timeline lasts 5\.0 s"):
        await service_for(settings, backend).export_video()


async def test_a_render_behind_an_open_link_is_downloaded_checked_and_saved_from_that_copy(
    settings: Settings, tmp_path: Path
) -> None:
    backend = OpenLink([GOOD])
    service = service_for(settings, backend)
    exported = await service.export_video(save_to=f"{tmp_path / 'kept'}/")
    assert exported.status == "completed" and exported.url == PUBLIC
    assert exported.file_path == str(settings.output_dir / f"{exported.job_id}.mp4")
    assert exported.file_path in exported.message and PUBLIC in exported.message
    assert "opens without a token" in exported.message
    assert exported.probe is not None and exported.probe.summary in exported.message
    assert len(exported.keyframes) == 3 and all(still.startswith(b"\xff\xd8") for still in exported.keyframes)
    assert exported.saved_path and Path(exported.saved_path).read_bytes() == GOOD
    looked = await service.get_job()
    assert looked.status == "completed" and looked.probe == exported.probe and looked.keyframes == exported.keyframes
    assert looked.file_path == exported.file_path and PUBLIC in looked.message
    assert backend.fetched == [PUBLIC], "one download: the check and the saved copy share it"


async def test_only_the_cache_s_own_videos_of_dropped_jobs_are_removed(settings: Settings, tmp_path: Path) -> None:
    in_cache = settings.model_copy(update={"output_dir": settings.cache_dir / "videos"})  # NEMO_OUTPUT_DIR unset
    dropped = f"render_{'0' * 32}.mp4"
    for folder in (in_cache.output_dir, settings.output_dir):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / dropped).write_bytes(b"a video of a job the ledger no longer keeps")
        (folder / "holiday.mp4").write_bytes(b"not one of ours")
    first = await service_for(in_cache, OpenLink([GOOD])).export_video()
    assert sorted(p.name for p in in_cache.output_dir.iterdir()) == sorted([f"{first.job_id}.mp4", "holiday.mp4"])
    assert first.file_path and Path(first.file_path).read_bytes() == GOOD
    chosen = settings.model_copy(update={"cache_dir": tmp_path / "another cache"})  # NEMO_OUTPUT_DIR: tmp/out
    second = await service_for(chosen, OpenLink([GOOD])).export_video()
    assert second.probe is not None
    assert (chosen.output_dir / dropped).exists(), "a folder the user chose (NEMO_OUTPUT_DIR) keeps its files"
