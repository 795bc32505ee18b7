"""A server process that has already imported the server, and forks a fresh one for each launch.

A stdio server start is about 1.1 s of CPU, nearly all of it importing the MCP SDK (its ~600 pydantic
models), and the end-to-end tests start about a hundred: on two cores that was a third of the suite.
The zygote imports `nemo_video_mcp` once per test worker; `zygote_shim.py`, started by the SDK's
`stdio_client` in the server's place, hands it its stdin, stdout, stderr, arguments, environment and
folder; the zygote forks, and the child runs `nemo_video_mcp.cli.main` on them: a process of its own,
with its own pid, lease, environment, cache, stdio and children, as a started one has. The shim
forwards the signals it gets and ends with the server's exit status; a shim that dies takes its server
with it (SIGKILL, as the SDK's process-tree kill would have).

Started with `python -m tests.e2e.zygote SOCKET`; it exits when its stdin closes (its test worker ended).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import selectors
import signal
import socket
import sys
import tempfile

MAX_MESSAGE = 1 << 20


def serve(path: str) -> int:
    """Fork a server for each shim that connects; return only in a child, with the server's exit code."""
    from nemo_video_mcp import app, cli  # noqa: F401  (what a start would import: the point of the zygote)

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    gc.collect()
    gc.freeze()  # the imported objects stay shared with the children, untouched by their collections
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "worker")
    shims: dict[int, socket.socket] = {}  # server pid -> its shim's connection
    pidfds: dict[int, int] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "worker":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid in shims:
                        _kill(pid, signal.SIGKILL)
                    return 0
            elif key.data == "accept":
                conn, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(conn, MAX_MESSAGE, 3)
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    for other in shims.values():
                        other.close()
                    for pidfd in pidfds.values():
                        os.close(pidfd)
                    conn.close()
                    return _become_server(json.loads(message), fds)
                for fd in fds:
                    os.close(fd)
                shims[pid] = conn
                pidfds[pid] = os.pidfd_open(pid)
                selector.register(pidfds[pid], selectors.EVENT_READ, ("exited", pid))
                selector.register(conn, selectors.EVENT_READ, ("shim", pid))
                conn.sendall(f"pid {pid}\n".encode())
            elif key.data[0] == "exited":
                pid = key.data[1]
                _, status = os.waitpid(pid, 0)
                selector.unregister(pidfds[pid])
                os.close(pidfds.pop(pid))
                conn = shims.pop(pid)
                with contextlib.suppress(KeyError):
                    selector.unregister(conn)
                with contextlib.suppress(OSError):
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()
            else:  # the shim closed its end or forwards a signal
                pid = key.data[1]
                data = b""
                with contextlib.suppress(OSError):
                    data = key.fileobj.recv(64)  # type: ignore[union-attr]
                if not data:
                    selector.unregister(key.fileobj)
                    _kill(pid, signal.SIGKILL)
                else:
                    for line in data.decode().split():
                        _kill(pid, int(line))


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _become_server(request: dict[str, object], fds: list[int]) -> int:
    """In the child: take the shim's stdio, environment, folder and arguments, and run the server's entry point."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])  # type: ignore[arg-type]
    os.chdir(request["cwd"])  # type: ignore[arg-type]
    tempfile.tempdir = None  # found again from TMPDIR and the rest, as a fresh process would
    random.seed()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    args: list[str] = list(request["args"])  # type: ignore[call-overload]
    sys.argv = [str(request["argv0"]), *args]
    from nemo_video_mcp.cli import main

    try:
        return main(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(serve(sys.argv[1]))
