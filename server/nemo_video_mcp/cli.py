"""Entry points: `serve` (the MCP server, the default), `render` (images to MP4 from a terminal),
`install` (add the server to a host's config), `doctor` (check everything it needs).

The MCP server's stdout is its channel, so `serve` prints nothing there; the other commands print
their own output to stdout only where it is their result (`install --print`, `doctor --json`) and
speak to the person on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_video_mcp import __version__
from nemo_video_mcp.hosts import HOSTS
from nemo_video_mcp.terminal import LogHandler, ProgressLine

if TYPE_CHECKING:
    from nemo_video_mcp.config import Settings

PROG = "nemo-video-mcp"


def main(argv: list[str] | None = None) -> int:
    parser, commands = _parser()
    args, extra = parser.parse_known_args(argv)
    command = args.command or "serve"
    if extra:  # said by the command's own parser, so its usage is the one printed
        commands[command].error(f"unrecognized arguments: {' '.join(extra)}")
    _configure_logging(verbose=args.verbose, quiet=command != "serve")
    try:
        if command == "serve":
            return _serve(args)
        if command == "render":
            return _render(args, commands["render"])
        if command == "install":
            return _install(args, commands["install"])
        from nemo_video_mcp.doctor import run_doctor

        return run_doctor(_settings(args), as_json=args.json)
    except KeyboardInterrupt:
        return 130
    except ValueError as exc:  # a bad setting (config.py says which variable)
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and each command's own (which prints that command's usage)."""
    parser = argparse.ArgumentParser(prog=PROG, description="Turn still images into videos (MCP server and CLI).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show log lines (debug level) on stderr")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    serve = subcommands.add_parser("serve", parents=[verbose], help="run the MCP server (stdio by default)")
    _backend_option(serve)
    serve.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="streamable-http: the address to listen on (loopback)")
    serve.add_argument("--port", type=int, default=8000, help="streamable-http: the port (default 8000)")

    render = subcommands.add_parser(
        "render",
        parents=[verbose],
        help="make an MP4 from images, from the terminal",
        description="Upload the images, describe the video, render it and save it as an MP4.",
    )
    render.add_argument("images", nargs="+", help="image files (or http(s) URLs with the cloud backend)")
    render.add_argument("-p", "--prompt", required=True, help="what the video should be, in words")
    render.add_argument("-o", "--output", help="an .mp4 file or a folder (default: NEMO_OUTPUT_DIR or your Videos)")
    render.add_argument("--open", action="store_true", help="open the video when it is ready")
    _backend_option(render)

    install = subcommands.add_parser(
        "install",
        parents=[verbose],
        help="add this server to an MCP host's configuration",
        description="Add (or with --uninstall remove) this server's entry in a host's MCP configuration, "
        "keeping every other entry and a backup of the previous file.",
    )
    install.add_argument("--host", choices=HOSTS, help="the host to configure (optional with --print)")
    install.add_argument("--backend", choices=("cloud", "local"), help="write NEMO_BACKEND into the entry")
    install.add_argument("--print", action="store_true", help="print the configuration instead of writing it")
    install.add_argument("--uninstall", action="store_true", help="remove this server's entry (only ours)")

    doctor = subcommands.add_parser(
        "doctor", parents=[verbose], help="check the settings, the backend and the renderer"
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON on stdout")
    _backend_option(doctor)
    return parser, {"serve": serve, "render": render, "install": install, "doctor": doctor}


def _backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("cloud", "local"), help="overrides NEMO_BACKEND")


def _configure_logging(*, verbose: bool, quiet: bool, line: ProgressLine | None = None) -> None:
    """Logs go to stderr only (stdout is the MCP channel). A person's command shows warnings and
    worse unless `--verbose`; the server logs at info level for the host's log file."""
    root = logging.getLogger()
    root.handlers[:] = [LogHandler(line)]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _settings(args: argparse.Namespace) -> Settings:
    from nemo_video_mcp.config import Settings

    overrides = {"backend": args.backend} if getattr(args, "backend", None) else {}
    return Settings.from_env(**overrides)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if getattr(args, "transport", "stdio") == "streamable-http":  # a bare `nemo-video-mcp` has no serve options
        from nemo_video_mcp.http_serve import serve_http

        return serve_http(settings, host=args.host, port=args.port)
    from nemo_video_mcp.app import build_app

    build_app(settings).run("stdio")
    return 0


# --- render ---------------------------------------------------------------------------------------


def _render(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    prompt = args.prompt.strip()
    if not prompt:
        parser.error("the prompt (-p) is empty: say what the video should be, e.g. -p 'a 15-second slideshow'")
    output = _output_place(args.output, parser)
    settings = _settings(args)
    line = ProgressLine(verbose=args.verbose)
    _configure_logging(verbose=args.verbose, quiet=True, line=line)
    return asyncio.run(_make_video(settings, list(args.images), prompt, output, line, open_it=args.open))


def _output_place(requested: str | None, parser: argparse.ArgumentParser) -> str:
    """`-o` as an absolute path (a person means the current folder), or "" for the default folder."""
    if requested is None:
        return ""
    if not requested.strip():
        parser.error("the output (-o) is empty: give an .mp4 file or a folder")
    path = Path(requested).expanduser().absolute()
    if path.suffix and path.suffix.lower() != ".mp4" and not path.is_dir():
        parser.error(f"the output (-o) {requested!r} is not an .mp4 file: give a name ending in .mp4, or a folder")
    return str(path) + (os.sep if requested.endswith(("/", "\\")) else "")


async def _make_video(
    settings: Settings, images: list[str], prompt: str, output: str, line: ProgressLine, *, open_it: bool
) -> int:
    from nemo_video_mcp.backends import create_backend
    from nemo_video_mcp.errors import NemoError
    from nemo_video_mcp.person import for_person
    from nemo_video_mcp.service import VideoService
    from nemo_video_mcp.store import Store

    store = Store(settings.cache_dir)
    service = VideoService(settings, create_backend(settings, store), store)
    try:
        await service.upload_images(images, line)
        generated = await service.generate_video(prompt, reporter=line)
        if generated.question:
            line.finish()
            choices = "".join(f"\n  - {choice}" for choice in generated.choices)
            print(
                f"{PROG}: the editor asks: {generated.question}{choices}\n"
                "Next step: run the command again with your answer in the prompt (-p).",
                file=sys.stderr,
            )
            return 1
        exported = await service.export_video(wait=True, reporter=line, save_to=output)
        line.finish()
    except NemoError as exc:
        line.finish()
        print(f"{PROG}: {for_person(exc.agent_message)}", file=sys.stderr)
        return 1
    except OSError as exc:
        line.finish()
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"{PROG}: a file could not be read or written{where}: {exc.strerror or exc}.\n"
            "Next step: check the folder exists and is writable and the disk has room (`nemo-video-mcp doctor` "
            "checks the cache), then run the command again.",
            file=sys.stderr,
        )
        return 1
    finally:
        await service.aclose()
    if exported.status != "completed" or not exported.saved_path:
        print(f"{PROG}: {for_person(exported.message)}", file=sys.stderr)
        return 1
    saved = Path(exported.saved_path)
    summary = generated.timeline or (generated.reply.splitlines()[0] if generated.reply else "")
    size_mb = saved.stat().st_size / 1e6
    print(f"Wrote {saved} ({size_mb:.1f} MB){' - ' + for_person(summary) if summary else ''}", file=sys.stderr)
    if open_it:
        _open_file(saved)
    return 0


def _open_file(path: Path) -> None:
    """Open `path` in the person's video player; say so (never fail the command) when that is not possible."""
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", str(path)])
        elif sys.platform.startswith("win"):
            os.startfile(str(path))  # type: ignore[attr-defined]
        else:
            subprocess.Popen(["xdg-open", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        print(f"Could not open the video ({exc.strerror or exc}); it is at {path}.", file=sys.stderr)


# --- install --------------------------------------------------------------------------------------


def _install(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from nemo_video_mcp import hosts

    if args.host is None and not args.print:
        parser.error(f"--host is required (one of: {', '.join(HOSTS)}), unless you only --print the entry")
    entry = hosts.server_entry(hosts.server_command(), args.backend)
    if args.print:
        if args.uninstall:
            parser.error("--print shows the entry to add; --uninstall removes it: use one of them")
        sys.stdout.write(hosts.snippet(entry))
        if args.host == "claude-code":
            print(f"or run: {hosts.claude_mcp_add_line(entry)}", file=sys.stderr)
        return 0
    path = hosts.config_path(args.host, hosts.Place.here())
    title = hosts.HOST_TITLES[args.host]
    try:
        change = hosts.uninstall(path) if args.uninstall else hosts.install(path, entry)
    except (hosts.HostConfigError, OSError) as exc:
        print(f"{PROG}: {exc}\nNothing was changed.", file=sys.stderr)
        return 1
    backup = f" (the previous file is kept as {change.backup})" if change.backup else ""
    said = {
        "added": f"Added {hosts.SERVER_NAME} to {path}{backup}.",
        "replaced": f"Updated {hosts.SERVER_NAME} in {path}{backup}.",
        "unchanged": f"{hosts.SERVER_NAME} is already in {path}, as it should be; nothing was changed.",
        "removed": f"Removed {hosts.SERVER_NAME} from {path}{backup}; every other entry is kept.",
        "absent": f"{hosts.SERVER_NAME} is not in {path}; nothing was changed.",
    }[change.action]
    print(said, file=sys.stderr)
    if change.action in ("added", "replaced", "removed"):
        print(f"Restart {title} (or reload its MCP servers) to see the change.", file=sys.stderr)
    if args.host == "claude-code" and not args.uninstall:
        print(f"The same, with Claude Code's own command: {hosts.claude_mcp_add_line(entry)}", file=sys.stderr)
    return 0
