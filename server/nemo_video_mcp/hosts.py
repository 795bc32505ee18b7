"""Where each MCP host keeps its server list, and our entry in it: found, added, replaced or removed.

Every host here reads the same shape, `{"mcpServers": {"<name>": {"command", "args", "env"}}}`.
A change is merged into the host's file (every other key and server kept), the previous file is
copied aside first, and the new one is written whole under a temp name and renamed over it. A file
that is not valid JSON is never written over: the error says where it is broken.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from nemo_video_mcp.atomic import replacing

HostName = Literal["claude-desktop", "cursor", "claude-code", "openclaw"]
HOSTS: tuple[HostName, ...] = get_args(HostName)
SERVER_NAME = "nemo-video"
SCRIPT_NAME = "nemo-video-mcp"
HOST_TITLES: dict[HostName, str] = {
    "claude-desktop": "Claude Desktop",
    "cursor": "Cursor",
    "claude-code": "Claude Code (this project's .mcp.json)",
    "openclaw": "OpenClaw (mcporter)",
}


class HostConfigError(Exception):
    """A host's file cannot be read or changed safely; the message says what to fix."""


@dataclass(frozen=True)
class Place:
    """What the paths depend on, so tests can use a temp home."""

    home: Path
    cwd: Path
    env: Mapping[str, str]
    platform: str = sys.platform

    @classmethod
    def here(cls) -> Place:
        return cls(home=Path.home(), cwd=Path.cwd(), env=os.environ)


@dataclass(frozen=True)
class Change:
    """What `install` or `uninstall` did to a host's file."""

    path: Path
    action: Literal["added", "replaced", "unchanged", "removed", "absent"]
    backup: Path | None = None


def config_path(host: HostName, place: Place) -> Path:
    """The file `host` reads its MCP servers from."""
    env = place.env
    if host == "claude-desktop":
        if place.platform == "darwin":
            folder = place.home / "Library" / "Application Support" / "Claude"
        elif place.platform.startswith("win"):
            folder = Path(env.get("APPDATA") or place.home / "AppData" / "Roaming") / "Claude"
        else:
            folder = _xdg_config(place) / "Claude"
        return folder / "claude_desktop_config.json"
    if host == "cursor":
        return place.home / ".cursor" / "mcp.json"
    if host == "claude-code":
        return place.cwd / ".mcp.json"
    return _mcporter_config(place)


def _xdg_config(place: Place) -> Path:
    xdg = place.env.get("XDG_CONFIG_HOME", "").strip()
    return Path(xdg) if xdg and Path(xdg).is_absolute() else place.home / ".config"


def _mcporter_config(place: Place) -> Path:
    """mcporter (0.12) reads MCPORTER_CONFIG when set; else the first existing of
    `$XDG_CONFIG_HOME/mcporter/mcporter.json[c]` and `~/.mcporter/mcporter.json[c]`; else we create the first."""
    explicit = place.env.get("MCPORTER_CONFIG", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    legacy = place.home / ".mcporter"
    xdg = place.env.get("XDG_CONFIG_HOME", "").strip()
    folders = [Path(xdg) / "mcporter"] if xdg and Path(xdg).is_absolute() else []
    folders.append(legacy)
    candidates = [folder / name for folder in folders for name in ("mcporter.json", "mcporter.jsonc")]
    return next((path for path in candidates if path.exists()), candidates[0])


def server_command() -> list[str]:
    """How a host starts this server: the absolute path of this interpreter's `nemo-video-mcp` script,
    else this interpreter with `-m nemo_video_mcp` (a checkout run without installing)."""
    scripts = Path(sysconfig.get_path("scripts"))
    for folder in (scripts, Path(sys.executable).parent):
        found = shutil.which(SCRIPT_NAME, path=str(folder))
        if found:
            return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "nemo_video_mcp"]


def server_entry(command: list[str], backend: str | None = None) -> dict[str, Any]:
    """Our entry in a host's `mcpServers`. No token: the server gets an anonymous one, or reads NEMO_TOKEN."""
    entry: dict[str, Any] = {"command": command[0], "args": command[1:]}
    if backend:
        entry["env"] = {"NEMO_BACKEND": backend}
    return entry


def snippet(entry: dict[str, Any]) -> str:
    """A whole config file holding only our entry, as a host reads it."""
    return json.dumps({"mcpServers": {SERVER_NAME: entry}}, indent=2) + "\n"


def claude_mcp_add_line(entry: dict[str, Any]) -> str:
    """The `claude mcp add` command that makes the same entry in Claude Code (project scope)."""
    env = [f"--env={key}={value}" for key, value in entry.get("env", {}).items()]
    words = ["claude", "mcp", "add", "--scope", "project", *env, SERVER_NAME, "--", entry["command"], *entry["args"]]
    return shlex.join(words)


def read_servers(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole document at `path` (empty when missing) and its `mcpServers` object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, {}
    except OSError as exc:
        raise HostConfigError(f"Cannot read {path}: {exc.strerror or exc}. Check its permissions.") from exc
    if not text.strip():
        return {}, {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise HostConfigError(
            f"{path} is not valid JSON ({exc.msg if isinstance(exc, json.JSONDecodeError) else exc}{where}), so it was "
            "left as it is. Fix that spot (comments and trailing commas are not JSON), or move the file away, "
            "then run this again."
        ) from exc
    if not isinstance(document, dict):
        raise HostConfigError(f"{path} holds a JSON {type(document).__name__}, not an object; it was left as it is.")
    servers = document.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise HostConfigError(f'"mcpServers" in {path} is not an object; it was left as it is. Fix it, then run again.')
    return document, servers


def find_entry(path: Path) -> dict[str, Any] | None:
    """Our entry in the file at `path`, or None (missing file, no entry, or a file we cannot read)."""
    try:
        _, servers = read_servers(path)
    except HostConfigError:
        return None
    entry = servers.get(SERVER_NAME)
    return entry if isinstance(entry, dict) else None


def install(path: Path, entry: dict[str, Any]) -> Change:
    """Add (or replace) our entry in the file at `path`, keeping everything else."""
    document, servers = read_servers(path)
    previous = servers.get(SERVER_NAME)
    if previous == entry:
        return Change(path, "unchanged")
    document["mcpServers"] = {**servers, SERVER_NAME: entry}
    backup = _write(path, document)
    return Change(path, "added" if previous is None else "replaced", backup)


def uninstall(path: Path) -> Change:
    """Remove our entry (only ours) from the file at `path`."""
    document, servers = read_servers(path)
    if SERVER_NAME not in servers:
        return Change(path, "absent")
    document["mcpServers"] = {name: value for name, value in servers.items() if name != SERVER_NAME}
    return Change(path, "removed", _write(path, document))


def _write(path: Path, document: dict[str, Any]) -> Path | None:
    """Copy the current file aside (if any), then replace it whole, keeping its permissions (new: 0600)."""
    backup = None
    mode = 0o600
    if path.exists():
        mode = path.stat().st_mode & 0o777
        backup = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path, mode=mode) as temp, temp.open("x", encoding="utf-8") as handle:
        handle.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return backup
