"""Settings, the cache, attribution headers, secret redaction, packaging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nemo_video_mcp import attribution
from nemo_video_mcp.config import DEFAULT_API_BASE, DEFAULT_WEB_BASE, Settings
from nemo_video_mcp.errors import BackendRequestError, NemoError
from nemo_video_mcp.redact import RedactingFormatter, redact, register_secret
from nemo_video_mcp.store import Store

ROOT = Path(__file__).resolve().parents[2]


def test_settings_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path)})
    assert settings.api_base == DEFAULT_API_BASE and settings.web_base == DEFAULT_WEB_BASE
    assert settings.poll_interval == 10.0 and settings.token is None and settings.backend == "cloud"
    assert settings.output_dir == tmp_path / "videos"


def test_without_nemo_cache_dir_the_cache_is_the_user_s_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    user_cache = {"darwin": tmp_path / "Library" / "Caches"}.get(sys.platform, tmp_path / ".cache")
    assert Settings.from_env({}).cache_dir == user_cache / "nemo-video-mcp"
    if sys.platform.startswith("linux"):  # the XDG base directory spec moves it
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert Settings.from_env({}).cache_dir == tmp_path / "xdg" / "nemo-video-mcp"
    assert Settings.from_env({"NEMO_CACHE_DIR": "~/elsewhere"}).cache_dir == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({"NEMO_API_URL": "http://a.test/"}, "api_base", "http://a.test"),
        ({"NEMO_API_BASE": "http://b.test", "NEMO_API_URL": "http://a.test"}, "api_base", "http://b.test"),
        ({"NEMO_WEB_BASE": "http://w.test/"}, "web_base", "http://w.test"),
        ({"NEMO_POLL_INTERVAL": "2.5"}, "poll_interval", 2.5),
        ({"NEMO_LANGUAGE": "zh"}, "language", "zh"),
        ({"NEMO_CLIENT_ID": "abc"}, "client_id", "abc"),
        ({"NEMO_BACKEND": "LOCAL"}, "backend", "local"),
        ({"NEMO_OFFLINE": "1"}, "backend", "local"),
        ({"SKILL_SOURCE": "cursor"}, "skill_source", "cursor"),
    ],
)
def test_settings_from_env(tmp_path: Path, env: dict, field: str, value: object) -> None:
    settings = Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), **env})
    assert getattr(settings, field) == value


def test_token_setting_is_secret(tmp_path: Path) -> None:
    settings = Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), "NEMO_TOKEN": "nmv_usr_abcdef123"})
    assert settings.token is not None and settings.token.get_secret_value() == "nmv_usr_abcdef123"
    assert "nmv_usr_abcdef123" not in repr(settings) and "nmv_usr_abcdef123" not in str(settings)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("NEMO_BACKEND", "gpu", "must be 'cloud' or 'local', not 'gpu'"),
        ("NEMO_POLL_INTERVAL", "0", "('0'): input should be greater than 0"),
        ("NEMO_POLL_INTERVAL", "x", "('x'): input should be a valid number"),
        ("NEMO_WAIT_SCALE", "0", "('0'): input should be greater than 0"),
        ("NEMO_WAIT_SCALE", "2", "('2'): input should be less than or equal to 1"),
        ("NEMO_CALL_BUDGET_S", "soon", "('soon'): input should be a valid number"),
        ("NEMO_ALLOWED_DIRS", "photos", "must list absolute folders, not 'photos'"),
        ("NEMO_TOKEN", "nmv_usr_abc def", "contains whitespace"),
    ],
)
def test_a_bad_setting_names_its_variable_and_how_to_fix_it(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    with pytest.raises(ValueError) as caught:  # the CLI turns a ValueError into exit code 2
        Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), variable: value})
    assert isinstance(caught.value, NemoError)  # a tool call shows it like any other error
    assert caught.value.message.startswith(f"The setting {variable} ") and says in caught.value.message
    assert caught.value.next_step.startswith(f"Fix or unset {variable} in the server's environment")
    assert "restart the server" in caught.value.next_step
    assert "nmv_usr_abc" not in str(caught.value)


def test_a_bad_option_from_the_command_line_is_named_as_the_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path)}, backend="gpu")
    assert isinstance(caught.value, NemoError)
    assert caught.value.message.startswith("The setting backend cannot be used ('gpu')")
    assert caught.value.next_step == "Give backend an allowed value and run the command again."


def test_importing_the_package_reads_no_settings(tmp_path: Path) -> None:
    code = "import nemo_video_mcp.app, nemo_video_mcp.service, nemo_video_mcp.config; print('ok')"
    env = {**os.environ, "NEMO_BACKEND": "not-a-backend", "NEMO_CACHE_DIR": str(tmp_path / "never")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok" and not (tmp_path / "never").exists()


def test_store_writes_owner_only_atomically_and_survives_a_corrupt_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "c")
    store.write("doc", {"a": 1})
    assert store.read("doc") == {"a": 1}
    assert (tmp_path / "c" / "doc.json").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o700
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".")] == []
    (tmp_path / "c" / "doc.json").write_text("{half", encoding="utf-8")
    assert store.read("doc") is None
    assert (tmp_path / "c" / "doc.corrupt").exists()
    store.write("doc", {"b": 2})
    assert store.read("doc") == {"b": 2}


def test_store_tightens_a_loose_directory(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    Store(loose)
    assert loose.stat().st_mode & 0o777 == 0o700


def test_profiles_are_separate_and_name_no_secret(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a, b = store.profile("cloud https://a.test"), store.profile("cloud https://b.test")
    a.write("auth", {"token": "x"})
    assert b.read("auth") is None and a.root != b.root
    assert all(c.isalnum() or c in "-_." for c in a.root.name)


def test_client_id_reuses_the_official_skill_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    official = tmp_path / "client_id"
    official.write_text("0b5c1a5e-1111-4222-8333-944445555666\n", encoding="utf-8")
    monkeypatch.setattr("nemo_video_mcp.store.OFFICIAL_CLIENT_ID_FILE", official)
    store = Store(tmp_path / "cache")
    assert store.client_id() == "0b5c1a5e-1111-4222-8333-944445555666"
    assert store.client_id(override="forced") == "forced"
    official.write_text("not a uuid", encoding="utf-8")
    assert Store(tmp_path / "cache2").client_id() != "not a uuid"


def test_frontmatter_and_headers_come_from_the_skill_file() -> None:
    fields = attribution.read_frontmatter((ROOT / "skill" / "SKILL.md").read_text(encoding="utf-8"))
    headers = attribution.skill_headers()
    assert fields["name"] == "image-to-video-online-ai" == headers["X-Skill-Source"]
    assert headers["X-Skill-Version"] == fields["version"]
    assert attribution.skill_headers("clawhub")["X-Skill-Platform"] == "clawhub"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [(".clawhub/skills/x", "clawhub"), (".cursor/skills/x", "cursor"), ("work/x", "unknown")],
)
def test_platform_from_install_path(tmp_path: Path, relative: str, expected: str) -> None:
    assert attribution.detect_platform(None, [tmp_path / relative], home=tmp_path) == expected
    assert attribution.detect_platform("forced", [tmp_path / relative], home=tmp_path) == "forced"


def test_redaction_covers_known_and_token_shaped_secrets() -> None:
    register_secret("plain-secret-value")
    text = redact("a nmv_usr_AbC123.def b Bearer xyz.987 c plain-secret-value")
    assert "nmv_usr_AbC123" not in text and "xyz.987" not in text and "plain-secret-value" not in text
    error = BackendRequestError(1, "echo nmv_usr_leaky123")
    assert "nmv_usr_leaky123" not in error.agent_message and "nmv_usr_leaky123" not in str(error)


def test_log_records_are_redacted_tracebacks_included() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("Illegal header value b'Bearer nmv_usr_intraceback1'")
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "token %s", ("nmv_usr_inlog999",), exc_info=sys.exc_info()
        )
    text = formatter.format(record)
    assert "Traceback" in text and "[redacted]" in text
    assert "nmv_usr_inlog999" not in text and "nmv_usr_intraceback1" not in text


def test_the_wheel_ships_the_skill_file(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("nemo_video_mcp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "nemo_video_mcp/skill/SKILL.md" in names and "nemo_video_mcp/app.py" in names
    assert "nemo_video_mcp/studio/studio.html" in names, "the studio's app (importlib.resources reads it)"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "nemo-video-mcp = nemo_video_mcp.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not [n for n in names if n.startswith("tests/")]


# --- NEMO_ALLOWED_DIRS ------------------------------------------------------------------------------


def test_allowed_dirs_are_read_as_real_absolute_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    listed = os.pathsep.join([" ~/Pictures ", str(tmp_path / "link"), "", str(tmp_path / "a" / ".." / "real")])
    settings = Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), "NEMO_ALLOWED_DIRS": listed})
    assert settings.allowed_dirs == ((tmp_path / "Pictures").resolve(), (tmp_path / "real").resolve())
    assert Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path)}).allowed_dirs == ()


def test_a_relative_allowed_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), "NEMO_ALLOWED_DIRS": "photos"})


# --- The cache's folders and lock -------------------------------------------------------------------


def test_every_folder_the_store_creates_is_owner_only(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        store = Store(tmp_path / "deep" / "er" / "cache")
        profile = store.profile("local")
        profile.blob_dir()
    finally:
        os.umask(old_umask)
    for folder in (
        tmp_path / "deep",
        tmp_path / "deep" / "er",
        store.root,
        store.root / "profiles",
        profile.root,
        profile.root / "media",
    ):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_an_existing_parent_is_left_as_it_was(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    Store(shared / "cache")
    assert shared.stat().st_mode & 0o777 == 0o755


async def test_run_locked_waits_for_another_process_without_blocking_the_event_loop(tmp_path: Path) -> None:
    import asyncio

    store = Store(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(store.root / '.lock')!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(0.6)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = asyncio.get_running_loop().time()
        result = await store.run_locked(lambda: store.write("doc", {"a": 1}) or "written")
        waited = asyncio.get_running_loop().time() - started
        ticker.cancel()
    finally:
        holder.wait(timeout=10)
    assert result == "written" and store.read("doc") == {"a": 1}
    assert waited > 0.3, "it waited for the other process"
    assert ticks >= waited / 0.02 / 3, f"the loop stalled: {ticks} ticks in {waited:.2f} s"
