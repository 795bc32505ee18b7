"""`nemo-video-mcp doctor`: every thing the server needs, checked, one line each with its fix.

✓ fine, ✗ wrong (the command exits 1), – not used here or optional and absent. The token is never
printed, not even in part.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from nemo_video_mcp import __version__, hosts
from nemo_video_mcp.config import Settings

Status = Literal["ok", "fail", "skip"]
MARKS: dict[Status, str] = {"ok": "✓", "fail": "✗", "skip": "–"}
MCP_SDK_RANGE = ((2, 3), (3, 0))
"""The `mcp` versions pyproject.toml asks for: at least 2.3, below 3."""
PROBE_TIMEOUT_S = 10.0
FFMPEG_TIMEOUT_S = 30.0
NODE_FOR_MCPORTER = (24, 0)
NODE_FOR_INSPECTOR = (22, 19)
MAX_FILES_CHECKED = 5000


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{MARKS[self.status]} {self.name}: {self.detail}{fix}"


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "fail", detail, fix)


def skip(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "skip", detail, fix)


def run_doctor(settings: Settings, *, as_json: bool = False) -> int:
    """Run every check, print them (stderr for a person, stdout with `--json`); 1 when any failed."""
    checks = asyncio.run(all_checks(settings))
    failed = any(check.status == "fail" for check in checks)
    if as_json:
        report = {"version": __version__, "ok": not failed, "checks": [asdict(check) for check in checks]}
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        lines = [f"nemo-video-mcp {__version__} doctor", *(check.line() for check in checks)]
        lines.append("Something needs fixing (see ✗ above)." if failed else "Everything needed is in place.")
        print("\n".join(lines), file=sys.stderr)
    return 1 if failed else 0


async def all_checks(settings: Settings, place: hosts.Place | None = None) -> list[Check]:
    checks = [python_check(), package_check(), sdk_check(), cache_check(settings.cache_dir)]
    checks.append(output_check(settings.save_dir or settings.output_dir))
    backend = await asyncio.to_thread(backend_check, settings)
    checks.append(backend)
    checks.append(await token_check(settings, reachable=backend.status != "fail"))
    checks.append(skill_check())
    checks.append(await asyncio.to_thread(ffmpeg_check))
    checks.append(await asyncio.to_thread(node_check))
    checks.extend(host_checks(place or hosts.Place.here()))
    return checks


# --- this installation ----------------------------------------------------------------------------


def python_check() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    return ok("python", f"{version} at {sys.executable}")


def package_check() -> Check:
    return ok("nemo-video-mcp", f"{__version__} at {Path(__file__).resolve().parent}")


def sdk_check() -> Check:
    try:
        version = importlib.metadata.version("mcp")
    except importlib.metadata.PackageNotFoundError:
        return fail("MCP SDK", "the `mcp` package is not installed", "reinstall: pip install -e .")
    parts = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    low, high = MCP_SDK_RANGE
    if not low <= parts < high:
        return fail("MCP SDK", f"mcp {version}, but this server needs >=2.3,<3", "pip install 'mcp>=2.3,<3'")
    return ok("MCP SDK", f"mcp {version}")


def cache_check(cache_dir: Path) -> Check:
    """Exists (made if missing), writable, 0700, every file in it 0600 (owner only)."""
    name = "cache"
    private = f"chmod 700 '{cache_dir}' && chmod -R go-rwx '{cache_dir}'"
    elsewhere = f"make '{cache_dir}' writable by you, or set NEMO_CACHE_DIR to a folder you own"
    try:
        from nemo_video_mcp.store import Store

        existed = cache_dir.is_dir()
        mode = stat.S_IMODE(cache_dir.stat().st_mode) if existed else None
        Store(cache_dir)
        _probe_write(cache_dir)
    except OSError as exc:
        return fail(name, f"{cache_dir} is not writable ({exc.strerror or type(exc).__name__})", elsewhere)
    if os.name != "posix":
        return ok(name, f"{cache_dir} (writable)")
    if mode is not None and mode & 0o077:
        return fail(name, f"{cache_dir} is readable by others (mode {mode:03o}, not 700)", private)
    loose = _loose_files(cache_dir)
    if loose:
        first, count = loose[0], len(loose)
        return fail(name, f"{count} file(s) readable by others, e.g. {first} (not 600)", private)
    return ok(name, f"{cache_dir} (writable, 700, files 600){'' if existed else ' — created now'}")


def _probe_write(folder: Path) -> None:
    fd, name = tempfile.mkstemp(dir=folder, prefix=".doctor-")
    os.close(fd)
    os.unlink(name)


def _loose_files(root: Path) -> list[Path]:
    """Files (not folders) under `root` that group or others may read or write."""
    loose: list[Path] = []
    seen = 0
    for folder, _, names in os.walk(root):
        for file_name in names:
            seen += 1
            path = Path(folder) / file_name
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode) and mode & 0o077:
                loose.append(path)
            if seen >= MAX_FILES_CHECKED:
                return loose
    return loose


def output_check(folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _probe_write(folder)
    except OSError as exc:
        return fail(
            "videos folder",
            f"{folder} is not writable ({exc.strerror or type(exc).__name__})",
            "set NEMO_OUTPUT_DIR to a folder you can write to",
        )
    return ok("videos folder", f"{folder} (saved videos go here)")


def skill_check() -> Check:
    from nemo_video_mcp.attribution import read_frontmatter, skill_file

    path = skill_file()
    fix = "reinstall the package (pip install -e .): it ships skill/SKILL.md, whose frontmatter names the skill"
    if path is None:
        return fail("skill", "skill/SKILL.md not found (the backend refuses exports without its headers)", fix)
    try:
        fields = read_frontmatter(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return fail("skill", f"cannot read {path} ({exc.strerror})", fix)
    if not fields.get("name") or not fields.get("version"):
        return fail("skill", f"{path} has no name/version frontmatter", fix)
    return ok("skill", f"X-Skill-Source={fields['name']} version {fields['version']} ({path})")


def ffmpeg_check() -> Check:
    """The bundled ffmpeg exists and encodes one H.264 frame (what the local renderer and save_to's check need)."""
    fix = "reinstall imageio-ffmpeg (pip install --force-reinstall imageio-ffmpeg)"
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError, or the import fails
        return fail("ffmpeg", f"the bundled ffmpeg is missing ({type(exc).__name__})", fix)
    with tempfile.TemporaryDirectory(prefix="nemo-doctor-") as folder:
        target = Path(folder) / "frame.mp4"
        command = [exe, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:d=0.04"]
        command += ["-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", str(target)]
        started = time.monotonic()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return fail("ffmpeg", f"{exe} did not run ({type(exc).__name__})", fix)
        if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
            return fail("ffmpeg", f"{exe} could not encode a frame: {reason}", fix)
    return ok("ffmpeg", f"{exe} (encoded a test frame in {1000 * (time.monotonic() - started):.0f} ms)")


def node_check() -> Check:
    """Node/npx run the MCP Inspector and mcporter (OpenClaw's bridge); optional."""
    node, npx = shutil.which("node"), shutil.which("npx")
    if not node or not npx:
        return skip("node/npx", "not found (only needed for the MCP Inspector and mcporter)", "install Node.js 24")
    try:
        text = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S).stdout
    except (OSError, subprocess.TimeoutExpired):
        return skip("node/npx", f"{node} did not answer --version")
    version = tuple(int(n) for n in re.findall(r"\d+", text)[:2])
    shown = text.strip() or "unknown version"
    if version >= NODE_FOR_MCPORTER:
        return ok("node/npx", f"Node {shown} ({node})")
    wants = "mcporter wants Node 24" + ("" if version >= NODE_FOR_INSPECTOR else ", the Inspector 22.19")
    return skip("node/npx", f"Node {shown}: works, with EBADENGINE warnings ({wants})", "install Node.js 24")


def host_checks(place: hosts.Place) -> list[Check]:
    """Our entry in each host's configuration: found, and pointing to a command that exists."""
    checks = []
    for host in hosts.HOSTS:
        name = f"host {hosts.HOST_TITLES[host]}"
        path = hosts.config_path(host, place)
        install = f"nemo-video-mcp install --host {host}"
        try:
            _, servers = hosts.read_servers(path)
        except hosts.HostConfigError as exc:
            checks.append(fail(name, str(exc), "fix the file by hand, then run " + install))
            continue
        entry = servers.get(hosts.SERVER_NAME)
        if not isinstance(entry, dict):
            checks.append(skip(name, f"not configured ({path})", install))
            continue
        command = str(entry.get("command", ""))
        if not (Path(command).is_absolute() and Path(command).exists()) and not shutil.which(command):
            checks.append(fail(name, f"our entry in {path} starts {command!r}, which does not exist", install))
            continue
        checks.append(ok(name, f"configured in {path}"))
    return checks


# --- the backend ----------------------------------------------------------------------------------


def backend_check(settings: Settings) -> Check:
    """The cloud backend answers at its base URL (any HTTP answer counts); the local one needs no network."""
    if settings.backend == "local":
        return skip("backend", "local (renders on this machine; no network, no account)")
    import httpx

    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_S, follow_redirects=False) as client:
            started = time.monotonic()
            response = client.get(settings.api_base + "/")
    except httpx.HTTPError as exc:
        return fail(
            "backend",
            f"cloud at {settings.api_base} cannot be reached ({type(exc).__name__})",
            "check the network and NEMO_API_BASE; or set NEMO_BACKEND=local to render offline",
        )
    elapsed_ms = 1000 * (time.monotonic() - started)
    return ok("backend", f"cloud at {settings.api_base} answers (HTTP {response.status_code}, {elapsed_ms:.0f} ms)")


async def token_check(settings: Settings, *, reachable: bool) -> Check:
    """present (NEMO_TOKEN, tried against the backend) / anonymous / expired / rejected; never printed."""
    name = "token"
    if settings.backend == "local":
        return skip(name, "not used by the local backend")
    cached = None if settings.token else _cached_anonymous_token(settings)
    if settings.token is None and cached is None:
        return skip(name, "anonymous: a free token (100 credits, 7 days) is fetched on first use")
    what = "NEMO_TOKEN" if settings.token else "the cached anonymous token"
    if cached is not None and cached < time.time():
        return skip(name, f"the cached anonymous token expired on {_date(cached)}; a new one is fetched on first use")
    if not reachable:
        return skip(name, f"{what} is set, but not tried: the backend cannot be reached")
    from nemo_video_mcp.errors import NemoError, TokenRejectedError

    try:
        credits = await asyncio.wait_for(_credits(settings), PROBE_TIMEOUT_S * 2)
    except TokenRejectedError:
        return fail(
            name,
            f"{what} was rejected by the backend (invalid or expired)",
            "set NEMO_TOKEN to a fresh token from your NemoVideo account, or unset it to use an anonymous one",
        )
    except (NemoError, asyncio.TimeoutError, OSError) as exc:
        detail = exc.message if isinstance(exc, NemoError) else type(exc).__name__
        return fail(name, f"{what} could not be checked: {detail}", "run doctor again in a minute")
    until = f", valid until {_date(cached)}" if cached and cached != float("inf") else ""
    return ok(name, f"{what} is accepted ({credits:g} credits available{until})")


async def _credits(settings: Settings) -> float:
    from nemo_video_mcp.backends import create_backend
    from nemo_video_mcp.store import Store

    backend = create_backend(settings, Store(settings.cache_dir))
    try:
        return (await backend.get_credits()).available
    finally:
        await backend.aclose()


def _cached_anonymous_token(settings: Settings) -> float | None:
    """When the cached anonymous token expires (epoch seconds; +inf when unknown), or None when none is cached.

    Reads the cloud backend's `auth` document in its profile (`cloud <api base>`), as the backend writes it."""
    from nemo_video_mcp.store import Store

    try:
        doc = Store(settings.cache_dir).profile(f"cloud {settings.api_base}").read("auth") or {}
    except OSError:
        return None
    if not isinstance(doc.get("token"), str) or not doc["token"]:
        return None
    expires = doc.get("expires_at")
    if isinstance(expires, (int, float)):
        return float(expires)
    if isinstance(expires, str):
        try:
            moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
        except ValueError:
            return float("inf")
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    return float("inf")


def _date(epoch: float) -> str:
    if epoch == float("inf"):
        return "an unknown date"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
