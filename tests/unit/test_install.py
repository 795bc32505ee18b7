"""`nemo-video-mcp install`: each host's file, found in a temp home, merged, backed up, never broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nemo_video_mcp import hosts
from nemo_video_mcp.hosts import HostConfigError, Place

SCRIPT = Path(sys.executable).with_name("nemo-video-mcp")
OTHER = {"command": "npx", "args": ["-y", "other-server"], "env": {"KEEP": "1"}}


def place(tmp_path: Path, platform: str = "linux", **env: str) -> Place:
    return Place(home=tmp_path / "home", cwd=tmp_path / "project", env=env, platform=platform)


@pytest.mark.parametrize(
    ("host", "platform", "env", "expected"),
    [
        ("claude-desktop", "darwin", {}, "home/Library/Application Support/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", {}, "home/.config/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", {"XDG_CONFIG_HOME": "{tmp}/xdg"}, "xdg/Claude/claude_desktop_config.json"),
        ("claude-desktop", "win32", {"APPDATA": "{tmp}/Roaming"}, "Roaming/Claude/claude_desktop_config.json"),
        ("cursor", "linux", {}, "home/.cursor/mcp.json"),
        ("claude-code", "linux", {}, "project/.mcp.json"),
        ("openclaw", "linux", {}, "home/.mcporter/mcporter.json"),
        ("openclaw", "linux", {"XDG_CONFIG_HOME": "{tmp}/xdg"}, "xdg/mcporter/mcporter.json"),
        ("openclaw", "linux", {"MCPORTER_CONFIG": "{tmp}/mine.json"}, "mine.json"),
    ],
)
def test_each_host_file_is_where_the_host_reads_it(
    tmp_path: Path, host: hosts.HostName, platform: str, env: dict[str, str], expected: str
) -> None:
    env = {key: value.replace("{tmp}", str(tmp_path)) for key, value in env.items()}
    assert hosts.config_path(host, place(tmp_path, platform, **env)) == tmp_path / expected


def test_mcporter_uses_the_home_file_that_exists(tmp_path: Path) -> None:
    legacy = tmp_path / "home" / ".mcporter" / "mcporter.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("{}")
    # XDG folder set but empty: mcporter falls back to ~/.mcporter, and so do we.
    assert hosts.config_path("openclaw", place(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg"))) == legacy


@pytest.mark.parametrize("host", hosts.HOSTS)
def test_install_merges_keeps_the_rest_backs_up_and_uninstall_removes_only_ours(
    tmp_path: Path, host: hosts.HostName
) -> None:
    path = hosts.config_path(host, place(tmp_path))
    path.parent.mkdir(parents=True)
    original = {"theme": "dark", "mcpServers": {"other": OTHER}}
    path.write_text(json.dumps(original))
    path.chmod(0o644)
    entry = hosts.server_entry(["/abs/nemo-video-mcp"], "local")

    change = hosts.install(path, entry)

    written = json.loads(path.read_text())
    assert change.action == "added"
    assert written == {"theme": "dark", "mcpServers": {"other": OTHER, "nemo-video": entry}}
    assert entry == {"command": "/abs/nemo-video-mcp", "args": [], "env": {"NEMO_BACKEND": "local"}}
    assert change.backup is not None and json.loads(change.backup.read_text()) == original
    assert path.stat().st_mode & 0o777 == 0o644  # the host's file keeps its permissions
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".part")] == []

    assert hosts.install(path, entry).action == "unchanged"
    assert hosts.install(path, hosts.server_entry(["/new/nemo-video-mcp"])).action == "replaced"
    assert hosts.find_entry(path) == {"command": "/new/nemo-video-mcp", "args": []}

    removed = hosts.uninstall(path)
    assert removed.action == "removed"
    assert json.loads(path.read_text()) == original
    assert hosts.uninstall(path).action == "absent"


def test_install_creates_a_missing_file_owner_only(tmp_path: Path) -> None:
    path = hosts.config_path("cursor", place(tmp_path))
    change = hosts.install(path, hosts.server_entry(["/abs/nemo-video-mcp"]))
    assert change.action == "added" and change.backup is None
    assert json.loads(path.read_text()) == {
        "mcpServers": {"nemo-video": {"command": "/abs/nemo-video-mcp", "args": []}}
    }
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"mcpServers": {"other": {},}}', "line 1, column 29"),
        ("// my servers\n{}", "line 1, column 1"),
        ("[1, 2]", "a JSON list"),
        ('{"mcpServers": []}', '"mcpServers"'),
    ],
)
def test_a_file_that_is_not_a_json_object_is_never_written_over(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text)
    with pytest.raises(HostConfigError, match="left as it is") as caught:
        hosts.install(path, hosts.server_entry(["/abs/nemo-video-mcp"]))
    assert says in str(caught.value) and str(path) in str(caught.value)
    with pytest.raises(HostConfigError):
        hosts.uninstall(path)
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mcp.json"]  # no backup, no temp file


def test_claude_mcp_add_line_quotes_the_path() -> None:
    entry = hosts.server_entry(["/Users/me/My Apps/.venv/bin/nemo-video-mcp"], "local")
    assert hosts.claude_mcp_add_line(entry) == (
        "claude mcp add --scope project --env=NEMO_BACKEND=local nemo-video -- "
        "'/Users/me/My Apps/.venv/bin/nemo-video-mcp'"
    )


def test_server_command_is_this_interpreters_script() -> None:
    assert hosts.server_command() == [str(SCRIPT)]


# --- the command, as a person runs it -----------------------------------------------------------


def run(*args: str, home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "APPDATA": str(home / "AppData"), "XDG_CONFIG_HOME": ""}
    env.pop("MCPORTER_CONFIG", None)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd or home, timeout=60)


@pytest.mark.parametrize("host", hosts.HOSTS)
def test_install_command_writes_an_entry_that_starts_the_server(tmp_path: Path, host: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run("install", "--host", host, "--backend", "local", home=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    path = hosts.config_path(host, Place(home=home, cwd=home, env={}, platform=sys.platform))  # type: ignore[arg-type]
    assert f"Added nemo-video to {path}" in result.stderr
    entry = json.loads(path.read_text())["mcpServers"]["nemo-video"]
    # The host starts exactly this: the command answers, and its env picks the offline backend.
    started = subprocess.run(
        [entry["command"], *entry["args"], "--version"], capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0 and "nemo-video-mcp" in started.stdout
    assert entry["env"] == {"NEMO_BACKEND": "local"}
    if host == "claude-code":
        assert "claude mcp add --scope project --env=NEMO_BACKEND=local nemo-video --" in result.stderr

    removed = run("install", "--host", host, "--uninstall", home=home)
    assert removed.returncode == 0 and "Removed nemo-video" in removed.stderr
    assert json.loads(path.read_text()) == {"mcpServers": {}}


def test_install_refuses_a_broken_file_and_says_where(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cursor = home / ".cursor" / "mcp.json"
    cursor.parent.mkdir(parents=True)
    cursor.write_text('{"mcpServers": {,}}')
    result = run("install", "--host", "cursor", home=home)
    assert result.returncode == 1
    assert "not valid JSON" in result.stderr and "line 1, column 17" in result.stderr
    assert "Nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert cursor.read_text() == '{"mcpServers": {,}}'


EXAMPLE_PATH = "/ABSOLUTE/PATH/TO/nemo-video-mcp/.venv/bin/nemo-video-mcp"


@pytest.mark.parametrize(("backend", "example_name"), [(None, "nemo-video"), ("local", "nemo-video-offline")])
def test_install_print_is_the_example_config_with_this_machines_path(
    tmp_path: Path, backend: str | None, example_name: str
) -> None:
    result = run("install", "--print", *(["--backend", backend] if backend else []), home=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)["mcpServers"]["nemo-video"]
    example = json.loads((Path(__file__).resolve().parents[2] / "mcp.json.example").read_text())["mcpServers"]
    expected = {**example[example_name], "command": str(SCRIPT)}
    if backend is None:  # the example shows where a token would go; empty means anonymous, so install leaves it out
        assert expected.pop("env") == {"NEMO_TOKEN": ""}
    assert printed == expected
    assert example[example_name]["command"] == EXAMPLE_PATH
    started = subprocess.run([printed["command"], *printed["args"], "--version"], capture_output=True, text=True)
    assert started.returncode == 0


def test_an_empty_token_in_the_example_means_anonymous() -> None:
    from nemo_video_mcp.config import Settings

    assert Settings.from_env({"NEMO_TOKEN": "", "NEMO_CACHE_DIR": "/tmp/x"}).token is None


def test_install_without_a_host_prints_installs_usage(tmp_path: Path) -> None:
    result = run("install", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: nemo-video-mcp install") and "--host is required" in result.stderr
