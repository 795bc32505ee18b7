"""The command line: version, doctor, bad settings; nothing printed to stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nemo_video_mcp import __version__

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_doctor_reports_on_stderr_only(tmp_path: Path) -> None:
    result = run("doctor", env={"NEMO_CACHE_DIR": str(tmp_path / "c"), "NEMO_TOKEN": "nmv_usr_doctorsecret1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "cache: writable" in result.stderr and "ffmpeg:" in result.stderr
    assert "X-Skill-Source=image-to-video-online-ai" in result.stderr
    assert "nmv_usr_doctorsecret1" not in result.stderr


def test_bad_setting_is_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    result = run("doctor", env={"NEMO_CACHE_DIR": str(tmp_path), "NEMO_BACKEND": "gpu"})
    assert result.returncode == 2
    assert "NEMO_BACKEND must be 'cloud' or 'local'" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_closed_stdin_exits_quietly(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SCRIPT)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NEMO_CACHE_DIR": str(tmp_path)},
    )
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
