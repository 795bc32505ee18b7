"""Entry points: `serve` (the MCP stdio server, the default), `render` (images to MP4 from a terminal), `doctor`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_video_mcp import __version__
from nemo_video_mcp.redact import RedactingFormatter

if TYPE_CHECKING:
    from nemo_video_mcp.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    command = args.command or "serve"
    try:
        if command == "serve":
            return _serve(args)
        if command == "render":
            return asyncio.run(_render(args))
        return asyncio.run(_doctor(args))
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # bad settings
        print(f"nemo-video-mcp: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nemo-video-mcp", description="Turn still images into videos (MCP server and CLI)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the MCP server on stdio (the default)")
    serve.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")

    render = commands.add_parser("render", help="render images to an MP4 from the terminal")
    render.add_argument("images", nargs="+", help="image files or URLs")
    render.add_argument("-p", "--prompt", required=True, help="what the video should be")
    render.add_argument("-o", "--output", help="output .mp4 (default: NEMO_OUTPUT_DIR/<name>.mp4)")
    render.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")

    doctor = commands.add_parser("doctor", help="check the settings, the cache and the renderer")
    doctor.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")
    return parser


def _configure_logging(verbose: bool) -> None:
    """Logs go to stderr only: stdout is the MCP channel."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(args: argparse.Namespace) -> Settings:
    from nemo_video_mcp.config import Settings

    overrides = {"backend": args.backend} if getattr(args, "backend", None) else {}
    return Settings.from_env(**overrides)


def _serve(args: argparse.Namespace) -> int:
    from nemo_video_mcp.app import build_app

    app = build_app(_settings(args))
    app.run("stdio")
    return 0


class _TerminalProgress:
    """A one-line progress display on stderr."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = ""

    async def progress(self, done: float, total: float | None, message: str) -> None:
        if total:
            filled = int(30 * min(done / total, 1.0))
            line = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * done / total:5.1f}% {message}"
        else:
            line = f"... {message}"
        if line == self._last:
            return
        self._last = line
        if self._tty:
            sys.stderr.write("\r\033[K" + line[:120])
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    async def log(self, level: str, message: str) -> None:
        self.finish()
        sys.stderr.write(f"{level}: {message}\n")

    def finish(self) -> None:
        if self._tty and self._last:
            sys.stderr.write("\n")
            self._last = ""


async def _render(args: argparse.Namespace) -> int:
    import httpx

    from nemo_video_mcp.backends import create_backend
    from nemo_video_mcp.errors import NemoError
    from nemo_video_mcp.service import VideoService
    from nemo_video_mcp.store import Store

    settings = _settings(args)
    store = Store(settings.cache_dir)
    service = VideoService(settings, create_backend(settings, store), store)
    display = _TerminalProgress()
    try:
        await service.upload_images(list(args.images), display)
        generated = await service.generate_video(args.prompt, reporter=display)
        exported = await service.export_video(wait=True, reporter=display)
        display.finish()
        if exported.status != "completed" or not exported.url:
            print(f"nemo-video-mcp: {exported.message}", file=sys.stderr)
            return 1
        output = await _deliver(exported.url, exported.file_path, args.output, settings.output_dir)
    except NemoError as exc:
        display.finish()
        print(f"nemo-video-mcp: {exc.agent_message}", file=sys.stderr)
        return 1
    except (OSError, httpx.HTTPError) as exc:
        display.finish()
        print(f"nemo-video-mcp: could not save the video: {exc}", file=sys.stderr)
        return 1
    finally:
        await service.aclose()
    summary = generated.timeline or (generated.reply.splitlines()[0] if generated.reply else "")
    size_mb = output.stat().st_size / 1e6
    print(f"Wrote {output} ({size_mb:.1f} MB){' - ' + summary if summary else ''}", file=sys.stderr)
    return 0


async def _deliver(url: str, file_path: str | None, requested: str | None, output_dir: Path) -> Path:
    """Put the finished video where the user asked: copy a file on this machine (a `file://` URL, or
    a download the server made), or download the URL."""
    from nemo_video_mcp.paths import is_file_url, path_of_file_url

    local = path_of_file_url(url) if is_file_url(url) else Path(file_path) if file_path else None
    source_name = local.name if local else url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "video.mp4"
    target = Path(requested).expanduser() if requested else output_dir / source_name
    if target.suffix.lower() != ".mp4":
        target = target.with_suffix(".mp4") if not target.is_dir() else target / source_name
    target.parent.mkdir(parents=True, exist_ok=True)
    if local:
        if local.resolve() != target.resolve():
            shutil.copyfile(local, target)
        return target
    import httpx

    partial = target.with_name(f".{target.name}.part")
    timeout = httpx.Timeout(30.0, read=120.0)
    try:
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=timeout) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            with partial.open("wb") as handle:
                async for chunk in response.aiter_bytes():
                    handle.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


async def _doctor(args: argparse.Namespace) -> int:
    """Print what the server would use; exit non-zero when something blocks it."""
    from nemo_video_mcp.attribution import skill_headers
    from nemo_video_mcp.store import Store

    settings = _settings(args)
    problems = 0
    lines = [
        f"nemo-video-mcp {__version__}",
        f"backend: {settings.backend}",
        f"api base: {settings.api_base}",
        f"cache dir: {settings.cache_dir}",
        f"output dir: {settings.output_dir}",
        f"token: {'NEMO_TOKEN is set' if settings.token else 'anonymous (fetched on first use)'}",
    ]
    try:
        Store(settings.cache_dir)
        lines.append("cache: writable")
    except OSError as exc:
        problems += 1
        lines.append(f"cache: NOT writable ({exc})")
    headers = skill_headers(settings.skill_source)
    lines.append("skill headers: " + ", ".join(f"{k}={v}" for k, v in headers.items()))
    try:
        import imageio_ffmpeg

        lines.append(f"ffmpeg: {imageio_ffmpeg.get_ffmpeg_exe()}")
    except Exception as exc:  # the local renderer needs it
        problems += 1
        lines.append(f"ffmpeg: missing ({type(exc).__name__})")
    print("\n".join(lines), file=sys.stderr)
    return 1 if problems else 0
