"""The command line as a person uses it: its own usage per command, checks before any upload, its own
words for errors, a progress line that logs never cut, `--open`; nothing on stdout but results."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_video_mcp import __version__, errors
from nemo_video_mcp.person import TOOL_NAMES, for_person
from nemo_video_mcp.terminal import ProgressLine

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
SAMPLES = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "samples").glob("*.jpg"))


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=120
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


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
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "usage", "says"),
    [
        (
            ["render", "a.jpg", "-p", "x", "--fps", "60"],
            "usage: nemo-video-mcp render",
            "unrecognized arguments: --fps",
        ),
        (["render", "a.jpg"], "usage: nemo-video-mcp render", "-p/--prompt"),
        (["doctor", "--colour"], "usage: nemo-video-mcp doctor", "unrecognized arguments: --colour"),
        (["install", "--host", "vim"], "usage: nemo-video-mcp install", "invalid choice: 'vim'"),
    ],
)
def test_each_command_prints_its_own_usage(args: list[str], usage: str, says: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(usage) and says in result.stderr


@pytest.mark.parametrize(("option", "value"), [("-p", ""), ("-p", "   "), ("-o", "out.mov")])
def test_render_refuses_a_bad_argument_before_uploading(tmp_path: Path, option: str, value: str) -> None:
    cache = tmp_path / "cache"
    args = ["-p", "a video", option, value] if option == "-o" else [option, value]
    result = run("render", *SAMPLES, "--backend", "local", *args, env={"NEMO_CACHE_DIR": str(cache)})
    assert result.returncode == 2
    assert result.stderr.startswith("usage: nemo-video-mcp render")
    assert not (cache / "profiles").exists()  # nothing was uploaded (the local backend copies uploads there)


def test_render_makes_a_video_from_the_shipped_samples_and_opens_it(tmp_path: Path) -> None:
    output = tmp_path / "out" / "demo.mp4"  # given relative: a person means the current folder
    opener = tmp_path / "bin" / "xdg-open"  # what `--open` runs on Linux; here it notes its argument
    opener.parent.mkdir()
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened"}\n')
    opener.chmod(0o755)
    result = run(
        "render",
        *SAMPLES,
        "--backend",
        "local",
        "-p",
        'a square 3-second video titled "Peaks"',
        "-o",
        "out/demo.mp4",
        "--open",
        env={
            "NEMO_CACHE_DIR": str(tmp_path / "cache"),
            "NEMO_OUTPUT_DIR": str(tmp_path / "videos"),
            "PATH": f"{opener.parent}{os.pathsep}{os.environ['PATH']}",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(f"Wrote {output}") and "1:1" in last_line
    assert " INFO " not in result.stderr and "info:" not in result.stderr  # logs only with --verbose
    from nemo_video_mcp.render.probe import probe_video

    info = probe_video(output)
    assert (info.width, info.height) == (1080, 1080) and abs(info.duration_s - 3.0) < 0.05
    if sys.platform.startswith("linux"):
        for _ in range(50):  # the player is started, not waited for
            if (tmp_path / "opened").exists():
                break
            import time

            time.sleep(0.1)
        assert (tmp_path / "opened").read_text().strip() == str(output)


def test_render_with_a_missing_image_speaks_to_a_person(tmp_path: Path) -> None:
    result = run("render", "nope.jpg", "--backend", "local", "-p", "x", env={"NEMO_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert "No file at nope.jpg" in result.stderr and "Next step" in result.stderr
    assert "current folder" in result.stderr and "server" not in result.stderr
    assert "Traceback" not in result.stderr


# --- the words: every error the CLI can meet, said without tool names ------------------------------

AGENT_ERRORS = [
    errors.UnsupportedFileError("a.txt"),
    errors.FileTooLargeError("a.mp4", 300 * 2**20),
    errors.TokenRejectedError(anonymous=True),
    errors.TokenRejectedError(anonymous=False),
    errors.SessionLostError(),
    errors.NoCreditsError("https://nemovideo.com?bind=u1"),
    errors.NoCreditsError(None),
    errors.BackendUnsupportedFileError("x"),
    errors.BackendFileTooLargeError(),
    errors.MissingClientIdError(),
    errors.ExportBlockedError("https://nemovideo.com"),
    errors.RateLimitedError(),
    errors.AnonymousTokenLimitError("https://nemovideo.com"),
    errors.BackendUnavailableError("timed out"),
    errors.BadResponseError("not JSON"),
    errors.ReplyTooLargeError("the state", 1024),
    errors.TokenRenewalRefusedError("https://nemovideo.com", 10),
    errors.BackendRequestError(7, "odd"),
    errors.LockBusyError("renewing the token", "/cache"),
    errors.EditLostError(3),
    errors.EditUncertainError("cut"),
    errors.NothingToExportError(),
    errors.RenderFailedError("r1", "ffmpeg stopped"),
    errors.MediaFileError(
        "/etc is a folder, not a file.", "Pass the image files inside it one by one, then call upload_images again."
    ),
]


@pytest.mark.parametrize("error", AGENT_ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_reads_as_advice_to_a_person(error: errors.NemoError) -> None:
    text = for_person(error.agent_message)
    assert not [name for name in TOOL_NAMES if name in text], text
    for agent_words in ("the agent", "the user", "the tool", "call ", "server's"):
        assert agent_words not in text.lower(), text
    what, _, step = text.partition("\nNext step: ")
    assert what == error.message and step and step[0].isupper() and step.endswith("."), text


@pytest.mark.parametrize(
    ("error", "keeps"),
    [
        (errors.FileTooLargeError("a.mp4"), "Compress or trim the file to under 200 MB"),
        (errors.NoCreditsError("https://nemovideo.com?bind=u1"), "Register at https://nemovideo.com?bind=u1, then run"),
        (errors.ExportBlockedError("https://w"), "Register or upgrade at https://w to unlock export, then run"),
        (errors.RenderFailedError("r1", None), "Run the command again to start a new render."),
        (errors.AnonymousTokenLimitError("https://w"), "NEMO_BACKEND=local"),
    ],
)
def test_advice_without_tool_names_is_kept(error: errors.NemoError, keeps: str) -> None:
    assert keeps in for_person(error.agent_message)


# --- the progress line --------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_a_log_line_never_lands_in_the_progress_line() -> None:
    screen = _Terminal()
    line = ProgressLine(screen, verbose=True)
    await line.progress(3, 50, "Rendering")
    line.write_line("2026-12-01 20:35:06,459 INFO nemo_video_mcp: something")
    await line.progress(4, 50, "Rendering")
    shown = screen.getvalue()
    # The bar is wiped before the log line, the log line ends its own line, and the bar comes back after it.
    assert "\r\033[K2026-12-01 20:35:06,459 INFO nemo_video_mcp: something\n[" in shown
    assert "Rendering2026" not in shown
    assert shown.endswith("\r\033[K[##" + "." * 28 + "]   8.0% Rendering")


async def test_the_works_own_notes_show_only_with_verbose() -> None:
    quiet, verbose = _Terminal(), _Terminal()
    await ProgressLine(quiet).log("info", "Saving the video")
    await ProgressLine(verbose, verbose=True).log("info", "Saving the video")
    await ProgressLine(quiet).log("warning", "disk almost full")
    assert quiet.getvalue() == "warning: disk almost full\n"
    assert verbose.getvalue() == "info: Saving the video\n"
