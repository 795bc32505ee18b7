"""`serve --transport streamable-http`: the SDK's streamable-HTTP transport, one runtime per client connection.

A stdio server has one client, so one runtime (service, token, editing session) is right. Over HTTP
several clients may connect, and none may see another's timeline: each connection (an MCP session,
opened by `initialize`) gets its own server built by `build_app`, with its own cache folder (so its
own session, uploads, jobs and anonymous token) and the token its client sent in `X-Nemo-Token`, else
the server's `NEMO_TOKEN`. Requests are routed to their connection by `Mcp-Session-Id`; a connection
ends when its client deletes it, after `IDLE_TIMEOUT_S` without requests, or when the server stops,
and its folder goes with it (finished videos stay in NEMO_OUTPUT_DIR).

The 2026-07-28 protocol has no connection (each request stands alone), so such requests are refused
with a JSON-RPC error; SDK clients in `auto` mode then fall back to the `initialize` handshake.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import SecretStr

from nemo_video_mcp.config import Settings

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MCP_PATH = "/mcp"
TOKEN_HEADER = b"x-nemo-token"
SESSION_HEADER = b"mcp-session-id"
IDLE_TIMEOUT_S = 1800.0
REAP_EVERY_S = 30.0
MAX_CONNECTIONS = 100
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Connection:
    """One client's runtime: its own MCP server (and so its own service) over its own cache folder."""

    def __init__(self, settings: Settings, *, host: str, json_response: bool) -> None:
        from nemo_video_mcp.app import build_app

        self.settings = settings
        self.app = build_app(settings)
        self.app.streamable_http_app(json_response=json_response, host=host)  # makes the session manager
        self.manager = self.app.session_manager
        self.last_used = time.monotonic()
        self.in_flight = 0
        self._closed = anyio.Event()
        self._ended = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until `close()`: the SDK's session manager, then the runtime's shutdown, then its folder."""
        try:
            async with self.manager.run():
                task_status.started()
                await self._closed.wait()
        finally:
            shutil.rmtree(self.settings.cache_dir, ignore_errors=True)
            self._ended.set()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.in_flight += 1
        try:
            await self.manager.handle_request(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.last_used = time.monotonic()

    async def close(self) -> None:
        self._closed.set()
        await self._ended.wait()

    def idle_for(self) -> float:
        return 0.0 if self.in_flight else time.monotonic() - self.last_used


class PerConnectionApp:
    """An ASGI app that gives every MCP connection its own `Connection` and routes requests to it."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        json_response: bool = False,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        from nemo_video_mcp.store import Store

        self._settings = settings
        self._host = host
        self._json_response = json_response
        self._idle_timeout_s = idle_timeout_s
        self._max_connections = max_connections
        self._folder = settings.cache_dir / "connections" / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Every connection asks for tokens as this machine (the backend grants one anonymous token per machine).
        self._client_id = Store(settings.cache_dir).client_id(settings.client_id)
        self._connections: dict[str, Connection] = {}
        self._tasks: TaskGroup | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tasks = await self._stack.enter_async_context(anyio.create_task_group())
                self._tasks.start_soon(self._reap_idle)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """End every connection (each runtime shuts down as a stdio server's does)."""
        for session_id in list(self._connections):
            await self._end(session_id)
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
            await self._stack.aclose()
            self._tasks = None
        shutil.rmtree(self._folder, ignore_errors=True)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].rstrip("/") != MCP_PATH:
            await _reply(send, 404, None, f"Not found: the MCP endpoint is {MCP_PATH}.")
            return
        headers = dict(scope["headers"])
        version = headers.get(b"mcp-protocol-version", b"").decode("latin-1")
        if version and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await _reply(
                send,
                400,
                -32600,
                f"This server keeps one project per connection, so it speaks the protocol versions that open one "
                f"with initialize ({', '.join(HANDSHAKE_PROTOCOL_VERSIONS)}), not {version}.",
            )
            return
        session_id = headers.get(SESSION_HEADER, b"").decode("latin-1")
        if session_id:
            await self._to_connection(session_id, scope, receive, send)
        else:
            await self._open(headers.get(TOKEN_HEADER, b"").decode("latin-1").strip(), scope, receive, send)

    async def _to_connection(self, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        connection = self._connections.get(session_id)
        if connection is None:
            await _reply(send, 404, -32001, "Session not found: it ended or expired. Connect again (initialize).")
            return
        await connection.handle(scope, receive, send)
        if scope["method"] == "DELETE":
            await self._end(session_id)

    async def _open(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a session: the start of a new connection, with its own runtime."""
        if self._tasks is None:
            raise RuntimeError("PerConnectionApp needs the ASGI lifespan (uvicorn runs it)")
        if len(self._connections) >= self._max_connections:
            await _reply(send, 503, -32000, "Too many open connections; try again later.")
            return
        connection = Connection(self._connection_settings(token), host=self._host, json_response=self._json_response)
        await self._tasks.start(connection.run)
        opened: list[str] = []

        async def noting_the_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                found = dict(message.get("headers", [])).get(SESSION_HEADER)
                if found:
                    opened.append(found.decode("latin-1"))
                    self._connections[opened[0]] = connection
            await send(message)

        try:
            await connection.handle(scope, receive, noting_the_session)
        finally:
            if not opened:  # not an initialize (or refused): nothing to keep
                await connection.close()
            else:
                log.info("connection %s opened (%d open)", opened[0][:8], len(self._connections))

    def _connection_settings(self, token: str) -> Settings:
        folder = self._folder / uuid.uuid4().hex
        update: dict[str, object] = {"cache_dir": folder, "client_id": self._client_id}
        if token:
            update["token"] = SecretStr(token)
        return self._settings.model_copy(update=update)

    async def _end(self, session_id: str) -> None:
        connection = self._connections.pop(session_id, None)
        if connection is not None:
            await connection.close()
            log.info("connection %s closed (%d open)", session_id[:8], len(self._connections))

    async def _reap_idle(self) -> None:
        while True:
            await anyio.sleep(REAP_EVERY_S)
            for session_id, connection in list(self._connections.items()):
                if connection.idle_for() > self._idle_timeout_s:
                    await self._end(session_id)


async def _reply(send: Send, status: int, code: int | None, message: str) -> None:
    """A JSON-RPC error (or, without a code, plain text) as the whole HTTP response."""
    if code is None:
        body, kind = message.encode(), b"text/plain; charset=utf-8"
    else:
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
        body, kind = json.dumps(error).encode(), b"application/json"
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})


def serve_http(settings: Settings, *, host: str, port: int) -> int:
    """Serve until interrupted. Loopback by default; another address is said out loud."""
    import uvicorn

    if host not in LOOPBACK:
        log.warning(
            "serving on %s: anyone who can reach it can use this server's token and credits; "
            "put it behind TLS and an authenticating proxy",
            host,
        )
    app = PerConnectionApp(settings, host=host)
    print(
        f"nemo-video-mcp: MCP over streamable HTTP at http://{_url_host(host)}:{port}{MCP_PATH}",
        flush=True,
        file=sys.stderr,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="on")
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
