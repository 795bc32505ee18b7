"""The simulator's in-memory state and the rules of the contract that act on it.

One `World` per simulator. The HTTP layer (`app.py`) calls it from the server thread while a test
reads it from its own thread, so every change happens under `lock`.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from tests.sim.config import ONE_SHOT, SimConfig
from tests.sim.edits import EditPlan, MediaRef, empty_draft, plan_edit, question_plan
from tests.sim.errors import SimError

VIDEO_EXT = {"mp4", "mov", "avi", "webm", "mkv"}
IMAGE_EXT = {"jpg", "jpeg", "png", "gif", "webp", "heic", "heif"}
AUDIO_EXT = {"mp3", "wav", "m4a", "aac"}
FINAL_RENDER = ("completed", "failed", "cancelled")
COPY_BYTES = 1 << 20


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Token:
    value: str
    user_id: str
    client_id: str
    issued_at: float
    expires_at: float
    revoked_by_fault: bool = False

    def valid(self, now: float) -> bool:
        return not self.revoked_by_fault and now < self.expires_at


@dataclass
class User:
    user_id: str
    client_id: str
    available: float
    frozen: float = 0.0
    spent: float = 0.0


@dataclass
class Upload:
    """One file as received, byte for byte, kept on disk (URL uploads have none, and empty `content`)."""

    session_id: str
    filename: str
    file_type: str
    size: int
    sha256: str
    stored: Path | None
    content_type: str | None
    cdn_url: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    fps: float | None = None
    source_url: str | None = None

    @property
    def content(self) -> bytes:
        """The bytes received, read from disk when asked."""
        return self.stored.read_bytes() if self.stored is not None else b""

    def info(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "file_type": self.file_type,
            "cdn_url": self.cdn_url,
            "duration": self.duration,
            "width": self.width,
            "height": self.height,
            "fps": self.fps,
            "hash": self.sha256,
        }


@dataclass
class Session:
    session_id: str
    task_id: str
    user_id: str
    task_name: str
    language: str | None
    draft: dict[str, Any] = field(default_factory=empty_draft)
    uploads: list[Upload] = field(default_factory=list)
    generated_media: list[dict[str, Any]] = field(default_factory=list)
    edits_applied: int = 0
    edits_requested: int = 0
    open_question: str | None = None  # asked by the agent's last turn; the next message answers it

    def state(self) -> dict[str, Any]:
        return {
            "draft": self.draft,
            "video_infos": [u.info() for u in self.uploads],
            "canvas_config": {"width": 1080, "height": 1920, "ratio": "9:16", "fps": 30, "bg": "#000000"},
            "video_analyses": {
                u.sha256: {"summary": f"{u.file_type} {u.filename}", "labels": [u.file_type], "x_score": 0.9}
                for u in self.uploads
            },
            "generated_media": self.generated_media,
        }


@dataclass
class Render:
    id: str
    session_id: str
    user_id: str
    draft: dict[str, Any]
    output: dict[str, Any]
    created_at: float
    status: str = "pending"
    progress: int = 5
    polls: int = 0
    completed_at: float | None = None
    error: str | None = None
    held_credits: float = 0.0

    @property
    def duration_s(self) -> float:
        """The draft's `d`, or else where its last segment ends (as a client reads a draft without one: a
        segment without a `start` follows the one before it on its track)."""
        total = self.draft.get("d")
        if _finite(total) and total > 0:
            return float(total) / 1000
        tracks = self.draft.get("t") if isinstance(self.draft.get("t"), list) else []
        longest = 0.0
        for track in tracks:
            end = 0.0
            for segment in track.get("sg") or [] if isinstance(track, dict) else []:
                if isinstance(segment, dict) and _finite(segment.get("d")):
                    start = segment.get("start")
                    end = (start if _finite(start) else end) + segment["d"]
                    longest = max(longest, end)
        return longest / 1000


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body_size: int
    body_json: Any = None
    uploads: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body_size": self.body_size,
            "body_json": self.body_json,
            "uploads": self.uploads,
            "status": self.status,
        }


class World:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.lock = threading.RLock()
        self._reset_state()

    def _reset_state(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.users: dict[str, User] = {}
        self.sessions: dict[str, Session] = {}
        self.renders: dict[str, Render] = {}
        self.uploads: list[Upload] = []
        self.upload_folder = tempfile.TemporaryDirectory(prefix="nemo-sim-uploads-")  # the old one is removed
        self.requests: list[RecordedRequest] = []
        self.renders_started: Counter[str] = Counter()
        self.render_attempts: Counter[str] = Counter()
        self.claim_tokens: dict[str, str] = {}
        self.cdn_refused: Counter[str] = Counter()

    def reset(self, config: SimConfig | None = None) -> None:
        """Forget everything; keep the config object (so handles stay valid) unless one is given."""
        with self.lock:
            self._reset_state()
            if config is not None:
                self.config.update(config.model_dump())

    # --- switches ------------------------------------------------------------------------------

    def take(self, switch: str) -> bool:
        """Fire a one-shot switch: True once, then it is off again."""
        assert switch in ONE_SHOT, switch
        with self.lock:
            if getattr(self.config, switch):
                setattr(self.config, switch, False)
                return True
            return False

    def take_transport_fault(self) -> int | None:
        """The HTTP status to answer instead of the request (503 for fail_next_n, 429 once), if any."""
        with self.lock:
            if self.config.fail_next_n > 0:
                self.config.fail_next_n -= 1
                return 503
        return 429 if self.take("rate_limit_once") else None

    # --- auth ----------------------------------------------------------------------------------

    def issue_token(self, client_id: str) -> tuple[Token, User]:
        now = time.time()
        with self.lock:
            if self.config.enforce_token_limit:
                for token in self.tokens.values():
                    if token.client_id == client_id and token.valid(now):
                        raise SimError(429, "one anonymous token per client id per 7 days")
            user = next((u for u in self.users.values() if u.client_id == client_id), None)
            if user is None:
                user = User(f"anon_{secrets.token_hex(8)}", client_id, self.config.initial_credits)
                self.users[user.user_id] = user
            value = self.config.secret_token or f"nmv_usr_{secrets.token_urlsafe(24)}"
            token = Token(value, user.user_id, client_id, now, now + self.config.token_ttl_s)
            self.tokens[value] = token
            return token, user

    def authenticate(self, authorization: str | None) -> User:
        code = self.config.auth_error_code
        scheme, _, value = (authorization or "").partition(" ")
        with self.lock:
            if self.take("expire_tokens"):
                for token in self.tokens.values():
                    token.revoked_by_fault = True
            value = value.strip() if scheme.lower() == "bearer" else ""
            token = self.tokens.get(value) or self._registered(value)
            if token is not None and self.config.reject_tokens:
                token.revoked_by_fault = True
            if token is None:
                raise SimError(code, "invalid token")
            if not token.valid(time.time()):
                raise SimError(code, "token expired")
            return self.users[token.user_id]

    def _registered(self, value: str) -> Token | None:
        """The registered account's token (`registered_token`), its user created on first use."""
        if not value or value != self.config.registered_token:
            return None
        user = User(f"usr_{secrets.token_hex(8)}", "", self.config.initial_credits)
        self.users[user.user_id] = user
        now = time.time()
        token = Token(value, user.user_id, "", now, now + 365 * 24 * 3600)
        self.tokens[value] = token
        return token

    # --- sessions ------------------------------------------------------------------------------

    def create_session(self, user: User, task_name: str, language: str | None) -> Session:
        with self.lock:
            session_id = str(secrets.randbelow(9 * 10**18) + 10**18)
            session = Session(session_id, f"task_{uuid.uuid4().hex[:16]}", user.user_id, task_name, language)
            self.sessions[session_id] = session
            return session

    def find_session(self, user: User, session_id: str) -> Session:
        with self.lock:
            if self.take("drop_sessions"):
                self.sessions.clear()
            session = self.sessions.get(session_id)
            if session is None or session.user_id != user.user_id:
                raise SimError(1002, "session not found")
            return session

    def forget_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)

    # --- uploads -------------------------------------------------------------------------------

    def add_file(
        self, session: Session, filename: str, received: BinaryIO, content_type: str | None, base_url: str
    ) -> Upload:
        """Keep one received file: copied to the upload folder and hashed a piece at a time, never whole in memory."""
        size = received.seek(0, 2)
        if size > self.config.max_upload_bytes:
            raise SimError(4002, f"{filename} is larger than {self.config.max_upload_bytes} bytes")
        received.seek(0)
        file_type = detect_file_type(filename, received.read(16))
        received.seek(0)
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=self.upload_folder.name, delete=False) as stored:
            while piece := received.read(COPY_BYTES):
                digest.update(piece)
                stored.write(piece)
        sha256 = digest.hexdigest()
        upload = Upload(
            session.session_id,
            filename,
            file_type,
            size,
            sha256,
            Path(stored.name),
            content_type,
            f"{base_url}/cdn/uploads/{sha256[:16]}/{PurePosixPath(filename).name}",
        )
        _describe_media(upload)
        return upload

    def add_url(self, session: Session, url: str) -> Upload:
        name = PurePosixPath(url.split("?")[0]).name or "remote"
        upload = Upload(
            session.session_id,
            name,
            detect_file_type(name, b""),
            0,
            hashlib.sha256(url.encode()).hexdigest(),
            None,
            None,
            url,
            source_url=url,
        )
        _describe_media(upload)
        return upload

    def keep_uploads(self, session: Session, uploads: list[Upload]) -> None:
        with self.lock:
            session.uploads.extend(uploads)
            self.uploads.extend(uploads)

    def find_upload(self, key: str) -> Upload | None:
        with self.lock:
            return next((u for u in self.uploads if u.sha256.startswith(key) and u.stored and u.size), None)

    # --- credits and edits ---------------------------------------------------------------------

    def balance(self, user: User) -> dict[str, float]:
        with self.lock:
            if self.config.credits_zero:
                return {"available": 0, "frozen": 0, "total": 0}
            return {
                "available": user.available,
                "frozen": user.frozen,
                "total": user.available + user.frozen,
            }

    def begin_edit(self, user: User, session: Session, message: str, base_url: str) -> tuple[EditPlan, float]:
        """Plan the next turn and freeze its cost; 2001 when the credits do not cover it."""
        with self.lock:
            config = self.config
            if config.ask_question:
                plan = question_plan(session.draft, config.question_text, config.question_options)
            else:
                media = [MediaRef(u.filename, u.file_type, u.cdn_url, u.duration) for u in session.uploads]
                turn = session.edits_requested
                plan = plan_edit(session.draft, media, turn, message, base_url, answer_to=session.open_question)
            cost = plan.cost(config.edit_cost, config.clip_cost)
            if config.credits_zero or user.available < cost:
                raise SimError(2001, "insufficient credits")
            if plan.question is not None:
                self.take("ask_question")
            session.open_question = None
            session.edits_requested += 1
            user.available -= cost
            user.frozen += cost
            return plan, cost

    def apply_edit(self, user: User, session: Session, plan: EditPlan, cost: float) -> None:
        """End the turn: apply its edit, or (a question turn) leave its question open for the next one."""
        with self.lock:
            if plan.question is not None:
                session.open_question = plan.question["question"]
            else:
                session.draft = plan.draft
                session.generated_media.extend(plan.generated_media)
                session.edits_applied += 1
            user.frozen -= cost
            user.spent += cost

    def refund_edit(self, user: User, cost: float) -> None:
        with self.lock:
            user.frozen -= cost
            user.available += cost

    # --- renders -------------------------------------------------------------------------------

    def start_render(self, user: User, body: dict[str, Any]) -> Render:
        render_id, session_id, draft = body.get("id"), body.get("sessionId"), body.get("draft")
        if not isinstance(render_id, str) or not render_id or not isinstance(session_id, str):
            raise SimError(400, "id and sessionId are required")
        with self.lock:
            self.render_attempts[session_id] += 1
            if render_id in self.renders or self.take("duplicate_id_once"):
                raise SimError(409, "duplicate id")
            session = self.find_session(user, session_id)
            if not is_exportable(draft):
                raise SimError(400, "draft has no segments")
            render = Render(render_id, session.session_id, user.user_id, draft, body.get("output") or {}, time.time())
            render.held_credits = min(self.config.render_frozen_credits, user.available)
            user.available -= render.held_credits
            user.frozen += render.held_credits
            self.renders[render_id] = render
            self.renders_started[session_id] += 1
            return render

    def find_render(self, user: User, render_id: str) -> Render:
        with self.lock:
            render = self.renders.get(render_id)
            if render is None or render.user_id != user.user_id:
                raise SimError(404, "render not found")
            return render

    def poll_render(self, user: User, render_id: str) -> Render:
        with self.lock:
            render = self.find_render(user, render_id)
            if render.status in FINAL_RENDER:
                return render
            render.polls += 1
            config = self.config
            if config.render_seconds:
                done = (time.time() - render.created_at) / config.render_seconds
            else:
                done = render.polls / (config.slow_render_polls if config.slow_render else config.render_polls)
            if done < 1:
                render.status, render.progress = "processing", max(render.progress, 5 + int(90 * done))
            elif config.fail_render:
                render.status, render.error, render.completed_at = "failed", "render failed", time.time()
            else:
                render.status, render.progress, render.completed_at = "completed", 100, time.time()
            if render.status in FINAL_RENDER:
                self._release(render)
            return render

    def _release(self, render: Render) -> None:
        """A render that has ended holds nothing: its frozen credits go back (export is free)."""
        user = self.users[render.user_id]
        user.frozen -= render.held_credits
        user.available += render.held_credits
        render.held_credits = 0.0

    def take_bad_progress(self) -> str | None:
        """The spoilt progress ('nan' or '1e999') the next poll reply carries, if the switches ask for one."""
        with self.lock:
            config = self.config
            if config.render_progress == "number":
                return None
            if config.render_progress_polls is not None:
                if config.render_progress_polls == 0:
                    return None
                config.render_progress_polls -= 1
            return config.render_progress

    def cancel_render(self, user: User, render_id: str) -> Render:
        with self.lock:
            render = self.find_render(user, render_id)
            if render.status not in FINAL_RENDER:
                render.status, render.completed_at = "cancelled", time.time()
                self._release(render)
            return render

    # --- claim ---------------------------------------------------------------------------------

    def claim(self, user: User, task_id: Any, session_id: Any) -> str:
        session = self.find_session(user, str(session_id))
        if session.task_id != task_id:
            raise SimError(1002, "task not found")
        with self.lock:
            value = f"clm_{secrets.token_urlsafe(18)}"
            self.claim_tokens[value] = session.session_id
            return value

    # --- recording -----------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> RecordedRequest:
        with self.lock:
            self.requests.append(request)
            return request

    def requests_to(self, path_part: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "renders_started": dict(self.renders_started),
                "render_attempts": dict(self.render_attempts),
                "tokens_issued": len(self.tokens),
                "sessions": {
                    sid: {"edits_requested": s.edits_requested, "edits_applied": s.edits_applied}
                    for sid, s in self.sessions.items()
                },
                "credits": {
                    uid: {"available": u.available, "frozen": u.frozen, "spent": u.spent}
                    for uid, u in self.users.items()
                },
                "uploads": len(self.uploads),
                "requests": len(self.requests),
                "cdn_refused": dict(self.cdn_refused),
            }


def is_exportable(draft: Any) -> bool:
    tracks = draft.get("t") if isinstance(draft, dict) else None
    return isinstance(tracks, list) and any(isinstance(t, dict) and t.get("sg") for t in tracks)


_MAGIC = (
    (b"\xff\xd8\xff", "image"),
    (b"\x89PNG", "image"),
    (b"GIF8", "image"),
    (b"\x1aE\xdf\xa3", "video"),
    (b"ID3", "audio"),
    (b"\xff\xfb", "audio"),
)


def detect_file_type(filename: str, content: bytes) -> str:
    """image | video | audio from the extension, else from the first bytes; 4001 when neither knows."""
    ext = PurePosixPath(filename).suffix.lower().lstrip(".")
    for kind, exts in (("video", VIDEO_EXT), ("image", IMAGE_EXT), ("audio", AUDIO_EXT)):
        if ext in exts:
            return kind
    if not ext and content:
        for magic, kind in _MAGIC:
            if content.startswith(magic):
                return kind
        if content[4:8] == b"ftyp":
            return "image" if content[8:12] in (b"heic", b"heix", b"mif1") else "video"
        if content[:4] == b"RIFF":
            riff = {b"WEBP": "image", b"WAVE": "audio", b"AVI ": "video"}.get(content[8:12])
            if riff:
                return riff
    raise SimError(4001, f"unsupported file type: {filename}")


def _describe_media(upload: Upload) -> None:
    if upload.file_type == "image":
        try:
            from PIL import Image

            if upload.stored is None:
                raise FileNotFoundError("a URL upload")
            with Image.open(upload.stored) as image:
                upload.width, upload.height = image.size
        except Exception:
            upload.width = upload.height = None
    elif upload.file_type == "video":
        upload.width, upload.height, upload.duration, upload.fps = 1920, 1080, 10.0, 30.0
    else:
        upload.duration = 30.0
