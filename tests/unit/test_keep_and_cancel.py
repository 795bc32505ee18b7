"""Beyond the seed, in the service: the project link, cancelling a render, keeping a checked copy of the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.errors import InputError, RenderFailedError
from nemo_video_mcp.models import Credits, ProjectLink
from nemo_video_mcp.render.runner import ffmpeg_exe
from tests.unit.test_service import ScriptedBackend, done, running, service_for


def make_mp4(path: Path, seconds: float = 1.0, colour: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"color=c={colour}:s=64x64:d={seconds}"
    argv = [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(argv, check=True)
    return path


class Keeping(ScriptedBackend):
    """Renders with a frozen-credit hold, a claim link, and a download that writes a real MP4 (every finished
    cloud render is downloaded, checked, and saved from that copy)."""

    def __init__(self, source: Path) -> None:
        super().__init__()
        self.source = source
        self.frozen = 30.0
        self.cancelled: list[str] = []
        self.fetched: list[str | None] = []

    async def get_credits(self) -> Credits:
        return Credits(available=70, frozen=self.frozen, total=100, anonymous=True)

    async def cancel_render(self, job_id: str) -> None:
        self.cancelled.append(job_id)
        self.frozen = 0.0

    async def project_link(self) -> ProjectLink:
        return ProjectLink(kind="claim", url="https://web.test/workspace/claim?ct=clm_abc", expires_at=2e9)

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        self.fetched.append(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.source.read_bytes())
        return target


@pytest.fixture
def keeping(tmp_path: Path) -> Keeping:
    return Keeping(make_mp4(tmp_path / "rendered.mp4", seconds=5.0))  # the scripted draft lasts 5 s


async def test_the_link_says_what_to_do_with_it(settings: Settings, keeping: Keeping) -> None:
    result = await service_for(settings, keeping).get_project_link()
    assert result.kind == "claim" and result.url and result.url in result.message
    assert result.expires_at and result.expires_at.startswith("2033")


async def test_cancel_stops_a_running_render_and_says_credits_were_released(
    settings: Settings, keeping: Keeping
) -> None:
    keeping.render_polls = [running(40)] * 500
    service = service_for(settings, keeping)
    started = await service.export_video(wait=False)
    result = await service.cancel_export()
    assert result.cancelled and result.job_id == started.job_id and result.status == "cancelled"
    assert keeping.cancelled == [started.job_id] and result.credits_released == 30
    assert "30 held credits were released" in result.message
    again = await service.cancel_export(started.job_id)
    assert not again.cancelled and "already ended" in again.message
    with call_budget(1.5):
        job = await service.get_job(started.job_id)
    assert job.status == "cancelled"


async def test_cancelling_nothing_is_a_clear_no_op(settings: Settings, keeping: Keeping) -> None:
    result = await service_for(settings, keeping).cancel_export()
    assert not result.cancelled and "nothing was changed" in result.message
    unknown = await service_for(settings, keeping).cancel_export("render_nope")
    assert not unknown.cancelled and "render_nope" in unknown.message


async def test_save_to_a_new_folder_keeps_a_checked_copy(settings: Settings, keeping: Keeping, tmp_path: Path) -> None:
    keeping.render_polls = [done("https://cdn/v.mp4")]
    folder = tmp_path / "My Videos" / "new"
    result = await service_for(settings, keeping).export_video(save_to=f"{folder}/")
    assert result.saved_path == str(folder / f"{result.job_id}.mp4") and result.url == "https://cdn/v.mp4"
    assert Path(result.saved_path).read_bytes() == keeping.source.read_bytes()
    assert "Saved a checked copy" in result.message and not list(folder.glob(".*part*"))
    assert keeping.fetched == ["https://cdn/v.mp4"], "the copy is made from the file checked here, not fetched again"


async def test_save_to_never_replaces_a_different_file(settings: Settings, keeping: Keeping, tmp_path: Path) -> None:
    keeping.render_polls = [done()]
    existing = make_mp4(tmp_path / "out" / "holiday.mp4", colour="blue")
    before = existing.read_bytes()
    result = await service_for(settings, keeping).export_video(save_to=str(existing))
    assert existing.read_bytes() == before
    assert result.saved_path == str(existing.with_name("holiday (2).mp4")) and "different file" in result.message


async def test_saving_an_already_rendered_timeline_needs_no_new_render(
    settings: Settings, keeping: Keeping, tmp_path: Path
) -> None:
    keeping.render_polls = [done()]
    service = service_for(settings, keeping)
    first = await service.export_video()
    saved = await service.export_video(save_to=str(tmp_path / "kept.mp4"))
    assert saved.job_id == first.job_id and saved.saved_path == str(tmp_path / "kept.mp4")
    assert len(keeping.renders_started) == 1


async def test_a_download_that_is_not_a_video_is_not_saved(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"<html>not a video</html>")
    keeping = Keeping(bad)
    keeping.render_polls = [done()]
    with pytest.raises(RenderFailedError, match="failed its check"):
        await service_for(settings, keeping).export_video(save_to=str(tmp_path / "kept.mp4"))
    assert not (tmp_path / "kept.mp4").exists() and not list(tmp_path.glob(".kept*"))


async def test_save_to_a_file_that_is_not_a_video_is_refused_before_anything(
    settings: Settings, keeping: Keeping, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="not a video"):
        await service_for(settings, keeping).export_video(save_to=str(tmp_path / "notes.txt"))
    assert keeping.renders_started == []


def test_a_save_to_name_without_extension_is_a_folder(tmp_path: Path) -> None:
    from nemo_video_mcp.saving import target_for

    assert target_for(str(tmp_path / "My Trip"), tmp_path, "render_1") == tmp_path / "My Trip" / "render_1.mp4"
    assert target_for("clip.mp4", tmp_path, "render_1") == tmp_path / "clip.mp4"
    assert target_for("", tmp_path, "render_1") == tmp_path / "render_1.mp4"


def test_save_to_defaults_to_nemo_output_dir_else_the_user_s_videos_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_VIDEOS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    (tmp_path / "Videos").mkdir()
    base = {"NEMO_CACHE_DIR": str(tmp_path / "cache")}
    assert Settings.from_env(base).save_dir == tmp_path / "Videos"
    chosen = Settings.from_env({**base, "NEMO_OUTPUT_DIR": str(tmp_path / "out")})
    assert chosen.save_dir == tmp_path / "out"
