"""A loopback sink for uploads: `python bench/upload_sink.py --port N`.

It answers just what `upload_images` needs (an anonymous token, a session, and the upload in the
contract's shape) and drains each request body into one reused buffer, keeping nothing: the fastest
endpoint loopback allows, so that what an upload costs the client shows. Plain blocking sockets, one
thread per connection, keep-alive, `Expect: 100-continue` (curl sends it for a large body),
bodies of a known `Content-Length`. `GET /_sim/stats` answers `{}` (what `_common.http_server`
waits for).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import socket
import socketserver

BUFFER = 1 << 20
FILENAME = re.compile(rb'filename="([^"]*)"')


def reply(path: str, head: bytes) -> tuple[int, dict[str, object]]:
    if path == "/api/auth/anonymous-token":
        data = {"token": "nmv_usr_sink", "user_id": "anon_sink", "expires_at": "2099-01-01T00:00:00Z", "credits": 100}
    elif path.startswith("/api/tasks/me/with-session/"):
        data = {"task_id": "task_sink", "session_id": "1000000000000001", "user_id": "anon_sink"}
    elif path.startswith("/api/upload-video/"):
        names = [name.decode("utf-8", "replace") for name in FILENAME.findall(head)] or ["upload"]
        files = [
            {
                "filename": name,
                "file_type": "video",
                "cdn_url": f"http://127.0.0.1/cdn/{name}",
                "duration": 10.0,
                "width": 1920,
                "height": 1080,
                "fps": 30.0,
                "hash": hashlib.sha256(name.encode()).hexdigest(),
            }
            for name in names
        ]
        data = {"files": files, "session_state_applied": True}
    elif path == "/_sim/stats":
        return 200, {}
    else:
        return 404, {"code": 404, "message": f"the sink does not serve {path}"}
    return 200, {"code": 0, "data": data}


class Connection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray(BUFFER)
        self.view = memoryview(self.buffer)
        self.pending = b""  # bytes read past the current request's head
        while self.serve_one(sock):
            pass

    def recv(self, sock: socket.socket) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return sock.recv(BUFFER)

    def serve_one(self, sock: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.recv(sock)
            if not chunk:
                return False
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        _, path = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        first = self.drain(sock, headers, rest)
        status, body = reply(path.split("?")[0], first)
        payload = json.dumps(body).encode()
        sock.sendall(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        return headers.get("connection", "").lower() != "close"

    def drain(self, sock: socket.socket, headers: dict[str, str], rest: bytes) -> bytes:
        """Read the body and throw it away; return its first bytes (where the multipart part headers are)."""
        left = int(headers.get("content-length", "0"))  # httpx and curl -F both send it
        first = rest[:left]
        self.pending = rest[left:]
        left -= len(first)
        while left > 0:
            got = sock.recv_into(self.view, min(left, BUFFER))
            if not got:
                break
            if len(first) < 4096:
                first += bytes(self.view[: min(got, 4096)])
            left -= got
        return first


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with Sink(("127.0.0.1", args.port), Connection) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
