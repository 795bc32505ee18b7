"""Started in the server's place (`python -I -S zygote_shim.py ARGS...`, about 10 ms): hands this process's
stdin, stdout, stderr, arguments, environment and folder to the zygote (`zygote.py`), which forks the server;
records the server's pid; forwards the signals it gets; exits with the server's exit status."""

import json
import os
import signal
import socket
import sys

ZYGOTE = "NEMO_TEST_ZYGOTE"
PID_FILE = "NEMO_TEST_SERVER_PIDS"


def main() -> int:
    env = dict(os.environ)
    path, pid_file = env.pop(ZYGOTE), env.pop(PID_FILE)
    request = {"args": sys.argv[1:], "env": env, "cwd": os.getcwd(), "argv0": "nemo-video-mcp"}
    zygote = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    zygote.connect(path)
    socket.send_fds(zygote, [json.dumps(request).encode()], [0, 1, 2])
    nothing = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # the server's pipes are the server's alone: its exit must close them
        os.dup2(nothing, fd)
    replies = zygote.makefile("r")
    pid = int(replies.readline().split()[1])
    with open(pid_file, "a") as pids:
        pids.write(f"{pid}\n")

    def forward(signum: int, frame: object) -> None:
        zygote.sendall(f"{signum}\n".encode())

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    said = replies.readline().split()
    if not said:  # the zygote went away
        return 1
    code = int(said[1])
    if code < 0:  # killed by a signal: end the same way, as the server's own process would have
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main())
