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


def test_render_makes_a_video_from_the_shipped_samples(tmp_path: Path) -> None:
    samples = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "samples").glob("*.jpg"))
    output = tmp_path / "demo.mp4"
    result = run(
        "render",
        *samples,
        "--backend",
        "local",
        "-p",
        'a square 3-second video titled "Peaks"',
        "-o",
        str(output),
        env={"NEMO_CACHE_DIR": str(tmp_path / "cache"), "NEMO_OUTPUT_DIR": str(tmp_path / "videos")},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"Wrote {output}") and "1:1" in last_line
    from nemo_video_mcp.render.probe import probe_video

    info = probe_video(output)
    assert (info.width, info.height) == (1080, 1080) and abs(info.duration_s - 3.0) < 0.05


def test_render_with_a_missing_image_says_what_to_do(tmp_path: Path) -> None:
    result = run(
        "render",
        str(tmp_path / "nope.jpg"),
        "--backend",
        "local",
        "-p",
        "x",
        env={"NEMO_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert result.returncode == 1
    assert "No file" in result.stderr and "Next step" in result.stderr and "Traceback" not in result.stderr
