"""The simulator's HTTP surface: the contract's endpoints, the open /cdn/ files, and /_sim/ controls.

Handlers raise `SimError`; one exception handler shapes it in the right envelope. A small ASGI
middleware records every contract request and injects the transport faults (503s, a 429, stalls).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.sim import hostile
from tests.sim.config import SimConfig
from tests.sim.edits import EditPlan, wants_chinese
from tests.sim.errors import SimError
from tests.sim.replies import Replies
from tests.sim.streams import edit_turn, heartbeats_only
from tests.sim.videos import broken, render_video
from tests.sim.world import RecordedRequest, Render, Session, User, World, iso

SKILL_HEADERS = ("x-skill-source", "x-skill-version", "x-skill-platform")
RECORD_KEY = "sim.record"
CLAIM_TTL_S = 7 * 24 * 3600


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class _NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parts: list[_Part] = Field(min_length=1)


class RunSseBody(BaseModel):
    """Exactly the body the contract allows on /run_sse; anything else (e.g. `streaming`) is a 422."""

    model_config = ConfigDict(extra="forbid")
    app_name: Literal["nemo_agent"]
    user_id: Literal["me"]
    session_id: str
    new_message: _NewMessage


class RecordingMiddleware:
    """Records each contract request (not /_sim/, not /cdn/) and injects transport faults (503, 429, stall)."""

    def __init__(self, app: ASGIApp, world: World) -> None:
        self.app = app
        self.world = world

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/_sim", "/cdn")):
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        content_type = headers.get("content-type", "")
        body = _CountedBody(receive)
        raw = await body.read_whole() if "json" in content_type else b""
        record = self.world.record(
            RecordedRequest(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                body.size,
                _json_or_none(raw, content_type),
            )
        )
        body.record = record
        scope[RECORD_KEY] = record

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                await body.drain()  # the whole request is received before any answer, as when it was buffered
                record.status = message["status"]
            await send(message)

        if scope["path"].startswith(tuple(self.world.config.stall_paths)):
            await _stall(body.receive, capture, self.world.config.stall_s)
            return

        fault = self.world.take_transport_fault()
        if fault == 503:
            page = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
            await Response(page, 503, media_type="text/html")(scope, body.receive, capture)
            return
        if fault == 429:
            response = Replies(self.world).business_error(SimError(429, "rate limited"))
            await response(scope, body.receive, capture)
            return

        await self.app(scope, body.receive, capture)


class _CountedBody:
    """A request body passed on as it arrives, its size counted into the record.

    Only a JSON body is held (to record it; it is small): an upload of 190 MB streams through to
    the multipart parser, which spools it to disk, instead of being copied whole three times.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._replay: Message | None = None
        self.size = 0
        self.complete = False
        self.record: RecordedRequest | None = None

    async def receive(self) -> Message:
        if self._replay is not None:
            message, self._replay = self._replay, None
            return message
        message = await self._receive()
        if message["type"] == "http.request":
            self.size += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.record is not None:
                self.record.body_size = self.size
        else:
            self.complete = True
        return message

    async def read_whole(self) -> bytes:
        """Read the whole body now, and hand it on as one message."""
        chunks = []
        while not self.complete:
            message = await self.receive()
            chunks.append(message.get("body", b""))
        body = b"".join(chunks)
        self._replay = {"type": "http.request", "body": body, "more_body": False}
        return body

    async def drain(self) -> None:
        """Read what the app left of the body, and throw it away."""
        while not self.complete:
            await self.receive()


async def _stall(receive: Receive, send: Send, seconds: float) -> None:
    """Hold an accepted request without a byte of answer until the client hangs up (or `seconds` pass)."""
    try:
        await asyncio.wait_for(_hang_up(receive), seconds)
    except asyncio.TimeoutError:
        await send({"type": "http.response.start", "status": 504, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _hang_up(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _json_or_none(body: bytes, content_type: str) -> Any:
    if not body or "json" not in content_type:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class SimApp:
    """The endpoint handlers, bound to one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.replies = Replies(world)

    # --- helpers -------------------------------------------------------------------------------

    def _user(self, request: Request) -> User:
        return self.world.authenticate(request.headers.get("authorization"))

    @staticmethod
    def _base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise SimError(422, f"invalid JSON body: {exc}") from None
        if not isinstance(body, dict):
            raise SimError(422, "JSON body must be an object")
        return body

    async def on_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SimError)
        path = request.url.path
        if path.startswith("/api/render/proxy"):
            return self.replies.render_error(exc, may_be_soft=path == "/api/render/proxy/lambda")
        return self.replies.business_error(exc)

    # --- auth and sessions ---------------------------------------------------------------------

    async def anonymous_token(self, request: Request) -> Response:
        client_id = request.headers.get("x-client-id", "").strip()
        if not client_id:
            raise SimError(400, "X-Client-Id header is required")
        token, user = self.world.issue_token(client_id)
        return self.replies.business(
            {
                "token": token.value,
                "user_id": user.user_id,
                "expires_at": iso(token.expires_at),
                "credits": user.available,
            }
        )

    async def create_session(self, request: Request) -> Response:
        user = self._user(request)
        body = await self._json(request)
        session = self.world.create_session(user, str(body.get("task_name") or "project"), body.get("language"))
        return self.replies.business(
            {"task_id": session.task_id, "session_id": session.session_id, "user_id": user.user_id}
        )

    async def claim_token(self, request: Request) -> Response:
        user = self._user(request)
        body = await self._json(request)
        claim = self.world.claim(user, body.get("task_id"), body.get("session_id"))
        return self.replies.business({"claim_token": claim, "expires_in": CLAIM_TTL_S})

    async def credits(self, request: Request) -> Response:
        return self.replies.business(self.world.balance(self._user(request)))

    async def state(self, request: Request) -> Response:
        session = self.world.find_session(self._user(request), request.path_params["sid"])
        config = self.world.config
        if config.state_gzip_bomb:
            return StreamingResponse(
                hostile.gzip_zeros(), media_type="application/json", headers={"Content-Encoding": "gzip"}
            )
        if config.state_endless:
            return StreamingResponse(hostile.endless_state(), media_type="application/json")
        with self.world.lock:
            state = session.state()
            if config.big_draft_segments:
                state["draft"] = hostile.big_draft(config.big_draft_segments)
            if config.draft_infinity:
                state["draft"] = hostile.with_infinity(state["draft"])
            data = {
                "session_id": session.session_id,
                "task_id": session.task_id,
                "task_name": session.task_name,
                "state": state,
            }
            return self.replies.business(data)

    # --- upload --------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        user = self._user(request)
        session = self.world.find_session(user, request.path_params["sid"])
        base_url = self._base_url(request)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            async with request.form(max_files=1000, max_fields=1000) as form:
                parts = form.getlist("files")
                if not parts or any(isinstance(p, str) for p in parts):
                    raise SimError(422, "multipart field 'files' with one or more files is required")
                uploads = [
                    self.world.add_file(session, p.filename or "upload", p.file, p.content_type, base_url)
                    for p in parts
                ]
        else:
            body = await self._json(request)
            urls = body.get("urls")
            if body.get("source_type") != "url" or not isinstance(urls, list) or not urls:
                raise SimError(422, "expected multipart 'files' or {'urls': [...], 'source_type': 'url'}")
            uploads = [self.world.add_url(session, str(url)) for url in urls]
        self.world.keep_uploads(session, uploads)
        record: RecordedRequest | None = request.scope.get(RECORD_KEY)
        if record is not None:
            record.uploads = [
                {"filename": u.filename, "size": u.size, "sha256": u.sha256, "file_type": u.file_type} for u in uploads
            ]
        return self.replies.business({"files": [u.info() for u in uploads], "session_state_applied": True})

    # --- edits ---------------------------------------------------------------------------------

    async def run_sse(self, request: Request) -> Response:
        user = self._user(request)
        try:
            body = RunSseBody.model_validate_json(await request.body())
        except ValidationError as exc:
            detail = exc.errors(include_url=False, include_context=False, include_input=False)
            return JSONResponse({"detail": detail}, status_code=422)
        config = self.world.config
        if config.require_sse_accept and "text/event-stream" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": "Accept: text/event-stream required"}, status_code=406)
        if self.world.take("session_404"):
            self.world.forget_session(body.session_id)
            return JSONResponse({"detail": "Session not found"}, status_code=404)
        try:
            session = self.world.find_session(user, body.session_id)
        except SimError:
            if config.run_sse_missing_session == "detail_404":
                return JSONResponse({"detail": "Session not found"}, status_code=404)
            raise
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if config.heartbeats_only:
            stream = heartbeats_only(config.model_copy(), config.heartbeats_only)
            return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
        message = "".join(part.text for part in body.new_message.parts)
        plan, cost = self.world.begin_edit(user, session, message, self._base_url(request))
        stream = edit_turn(self.world, user, session, plan, cost, self._reply(plan, message, session))
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    def _reply(self, plan: EditPlan, message: str, session: Session) -> str:
        mode = self.world.config.reply_text
        if mode == "none" or (mode == "mixed" and session.edits_requested % 3 == 0):
            return ""
        chinese = mode == "zh" or wants_chinese(message, session.language)
        return plan.reply_zh if chinese else plan.reply_en

    # --- renders -------------------------------------------------------------------------------

    def _render_view(self, render: Render, base_url: str) -> dict[str, Any]:
        done = render.status == "completed"
        url = self._output_url(render, base_url) if done else None
        if self.world.config.render_poll_shape == "A":
            view: dict[str, Any] = {
                "id": render.id,
                "status": render.status,
                "progress": render.progress,
                "outputUrl": url,
                "createdAt": iso(render.created_at),
                "completedAt": iso(render.completed_at) if render.completed_at else None,
            }
        else:
            output = {"url": url, "duration": render.duration_s, "size": len(render_video(render))}
            view = {
                "taskId": render.id,
                "status": render.status,
                "progress": render.progress,
                "output": output if done else None,
            }
        if render.error:
            view["error"] = render.error
        return view

    def _output_url(self, render: Render, base_url: str) -> str:
        if self.world.config.output_url == "cdn":
            return f"{base_url}/cdn/renders/{render.id}.mp4"
        return f"{base_url}/api/render/proxy/{render.id}/download"

    async def render_start(self, request: Request) -> Response:
        user = self._user(request)
        if not all(request.headers.get(name, "").strip() for name in SKILL_HEADERS):
            raise SimError(402, "export needs skill traffic headers (X-Skill-Source/Version/Platform)")
        if self.world.config.export_402:
            raise SimError(402, "free plan export blocked: register or upgrade")
        render = self.world.start_render(user, await self._json(request))
        return self.replies.render({"id": render.id, "status": render.status, "progress": render.progress})

    async def render_poll(self, request: Request) -> Response:
        render = self.world.poll_render(self._user(request), request.path_params["render_id"])
        view = self._render_view(render, self._base_url(request))
        spoilt = self.world.take_bad_progress()
        if spoilt is not None:
            view["progress"] = hostile.RAW_1E999 if spoilt == "1e999" else spoilt
        return self.replies.render(view)

    async def render_cancel(self, request: Request) -> Response:
        render = self.world.cancel_render(self._user(request), request.path_params["render_id"])
        return self.replies.render({"id": render.id, "status": render.status, "progress": render.progress})

    async def render_download(self, request: Request) -> Response:
        render = self.world.find_render(self._user(request), request.path_params["render_id"])
        return self._render_file(render)

    def _render_file(self, render: Render) -> Response:
        if render.status != "completed":
            raise SimError(409, f"render is {render.status}")
        return Response(
            broken(render_video(render), self.world.config.broken_video),
            media_type="video/mp4",
            headers={"Content-Disposition": f'attachment; filename="{render.id}.mp4"'},
        )

    # --- open files ----------------------------------------------------------------------------

    async def cdn_upload(self, request: Request) -> Response:
        upload = self.world.find_upload(request.path_params["key"])
        if upload is None:
            return Response(b"not found", 404)
        assert upload.stored is not None
        return FileResponse(upload.stored, media_type=upload.content_type or "application/octet-stream")

    async def cdn_render(self, request: Request) -> Response:
        with self.world.lock:
            render = self.world.renders.get(request.path_params["render_id"])
        if render is None:
            return Response(b"not found", 404)
        if self.world.config.cdn_refuses:
            with self.world.lock:
                self.world.cdn_refused[render.id] += 1
            return Response(b"<html><body><h1>403 Forbidden</h1></body></html>", 403, media_type="text/html")
        return self._render_file(render)

    async def cdn_generated(self, request: Request) -> Response:
        name = unquote(request.path_params["name"])
        media = "audio/mpeg" if name.endswith(".mp3") else "video/mp4"
        return Response(f"nemo-sim generated {name}".encode(), media_type=media)

    # --- /_sim/ controls -----------------------------------------------------------------------

    async def sim_config(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.world.config.update(await request.json())
            except (ValidationError, ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(self.world.config.model_dump())

    async def sim_reset(self, request: Request) -> Response:
        changes = await request.json() if await request.body() else {}
        try:
            self.world.reset(SimConfig.model_validate(changes))
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "config": self.world.config.model_dump()})

    async def sim_requests(self, request: Request) -> Response:
        with self.world.lock:
            return JSONResponse([r.summary() for r in self.world.requests])

    async def sim_stats(self, request: Request) -> Response:
        return JSONResponse(self.world.stats())


def create_app(world: World | None = None) -> Starlette:
    """The simulator as an ASGI app. Pass a `World` to share its state with a test."""
    world = world or World()
    sim = SimApp(world)
    routes = [
        Route("/api/auth/anonymous-token", sim.anonymous_token, methods=["POST"]),
        Route("/api/auth/claim-token", sim.claim_token, methods=["POST"]),
        Route("/api/tasks/me/with-session/nemo_agent", sim.create_session, methods=["POST"]),
        Route("/api/upload-video/nemo_agent/me/{sid}", sim.upload, methods=["POST"]),
        Route("/run_sse", sim.run_sse, methods=["POST"]),
        Route("/api/state/nemo_agent/me/{sid}/latest", sim.state, methods=["GET"]),
        Route("/api/credits/balance/simple", sim.credits, methods=["GET"]),
        Route("/api/render/proxy/lambda", sim.render_start, methods=["POST"]),
        Route("/api/render/proxy/lambda/{render_id}", sim.render_poll, methods=["GET"]),
        Route("/api/render/proxy/lambda/{render_id}/cancel", sim.render_cancel, methods=["POST"]),
        Route("/api/render/proxy/{render_id}/download", sim.render_download, methods=["GET"]),
        Route("/cdn/uploads/{key}/{name:path}", sim.cdn_upload, methods=["GET"]),
        Route("/cdn/renders/{render_id}.mp4", sim.cdn_render, methods=["GET"]),
        Route("/cdn/generated/{name:path}", sim.cdn_generated, methods=["GET"]),
        Route("/_sim/config", sim.sim_config, methods=["GET", "POST"]),
        Route("/_sim/reset", sim.sim_reset, methods=["POST"]),
        Route("/_sim/requests", sim.sim_requests, methods=["GET"]),
        Route("/_sim/stats", sim.sim_stats, methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={SimError: sim.on_error})
    app.add_middleware(RecordingMiddleware, world=world)
    app.state.world = world
    return app
