"""`nemo-video-mcp doctor`: a rejected token, an unreachable backend and a read-only cache each give ✗
with their fix and a non-zero exit; offline it skips the network; the token is never printed."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nemo_video_mcp import doctor
from nemo_video_mcp.config import Settings
from tests.sim.server import RunningSimulator, run_simulator

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
SECRET = "nmv_usr_doctorsecret1"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with run_simulator() as running:
        yield running


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "HOME": str(tmp_path / "home"), "NEMO_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(
        [str(SCRIPT), "doctor", *args], capture_output=True, text=True, env={**base, **env}, timeout=120
    )


def line(result: subprocess.CompletedProcess[str], name: str) -> str:
    return next(text for text in result.stderr.splitlines() if text[2:].startswith(name + ":"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_offline_every_check_passes_and_the_network_is_skipped(tmp_path: Path) -> None:
    result = run(tmp_path, "--backend", "local", NEMO_TOKEN=SECRET)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    names = [text[2:].split(":", 1)[0] for text in result.stderr.splitlines()[1:-1]]
    assert len(names) >= 8 and {"python", "MCP SDK", "cache", "backend", "token", "skill", "ffmpeg"} <= set(names)
    assert line(result, "backend").startswith("– backend: local") and "http" not in line(result, "backend")
    assert line(result, "token").startswith("– token: not used")
    assert line(result, "cache").startswith("✓ cache:") and "700, files 600" in line(result, "cache")
    assert line(result, "ffmpeg").startswith("✓ ffmpeg:") and "encoded a test frame" in line(result, "ffmpeg")
    assert "X-Skill-Source=image-to-video-online-ai" in line(result, "skill")
    assert SECRET not in result.stderr


def test_a_rejected_token_is_a_failure_with_its_fix(tmp_path: Path, sim: RunningSimulator) -> None:
    result = run(tmp_path, NEMO_API_BASE=sim.base_url, NEMO_TOKEN=SECRET)
    assert result.returncode == 1
    token = line(result, "token")
    assert token.startswith("✗ token: NEMO_TOKEN was rejected")
    assert "fix: set NEMO_TOKEN to a fresh token" in token
    assert line(result, "backend").startswith(f"✓ backend: cloud at {sim.base_url} answers")
    assert SECRET not in result.stderr + result.stdout


def test_an_accepted_token_says_so(tmp_path: Path, sim: RunningSimulator) -> None:
    sim.config.registered_token = "nmv_usr_registered_doctor"
    result = run(tmp_path, NEMO_API_BASE=sim.base_url, NEMO_TOKEN="nmv_usr_registered_doctor")
    token = line(result, "token")
    assert token.startswith("✓ token: NEMO_TOKEN is accepted") and "credits available" in token
    assert "nmv_usr_registered_doctor" not in result.stderr


def test_an_unreachable_backend_is_a_failure_with_its_fix(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    result = run(tmp_path, "--json", NEMO_API_BASE=base)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    backend = next(check for check in report["checks"] if check["name"] == "backend")
    assert report["ok"] is False
    assert backend["status"] == "fail" and base in backend["detail"] and "cannot be reached" in backend["detail"]
    assert "NEMO_API_BASE" in backend["fix"] and "NEMO_BACKEND=local" in backend["fix"]


def test_a_cache_that_cannot_be_written_is_a_failure_with_its_fix(tmp_path: Path) -> None:
    """A whole process, as a user runs it; the cache path lies under a file, which no user (root
    included, as in CI) can create a folder in."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    cache = tmp_path / "blocker" / "cache"
    result = run(tmp_path, "--backend", "local", NEMO_CACHE_DIR=str(cache))
    assert result.returncode == 1
    assert line(result, "cache").startswith(f"✗ cache: {cache} is not writable") and "NEMO_CACHE_DIR" in result.stderr


def test_a_read_only_cache_fails_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check where the suite runs as root (which may write into a 0500 folder)."""

    def read_only(folder: Path) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(doctor, "_probe_write", read_only)
    check = doctor.cache_check(tmp_path / "cache")
    assert check.status == "fail" and "not writable (Read-only file system)" in check.detail
    assert "NEMO_CACHE_DIR" in check.fix
    settings = Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path / "cache"), "NEMO_BACKEND": "local"})
    assert doctor.run_doctor(settings) == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_cache_others_can_read_is_a_failure(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "auth.json").write_text("{}")
    (cache / "auth.json").chmod(0o644)
    check = doctor.cache_check(cache)
    assert check.status == "fail" and "auth.json" in check.detail and "chmod -R go-rwx" in check.fix
    cache.chmod(0o755)
    (cache / "auth.json").chmod(0o600)
    check = doctor.cache_check(cache)
    assert check.status == "fail" and "mode 755" in check.detail


def test_hosts_found_missing_and_stale(tmp_path: Path) -> None:
    from nemo_video_mcp import hosts

    place = hosts.Place(home=tmp_path, cwd=tmp_path / "project", env={}, platform="linux")
    hosts.install(hosts.config_path("cursor", place), hosts.server_entry([str(SCRIPT)]))
    hosts.install(hosts.config_path("claude-desktop", place), hosts.server_entry(["/gone/.venv/bin/nemo-video-mcp"]))
    found = {check.name: check for check in doctor.host_checks(place)}
    assert found["host Cursor"].status == "ok"
    assert found["host Claude Desktop"].status == "fail" and "/gone/" in found["host Claude Desktop"].detail
    assert found["host Claude Desktop"].fix == "nemo-video-mcp install --host claude-desktop"
    assert found["host OpenClaw (mcporter)"].status == "skip"
