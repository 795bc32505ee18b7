"""The on-disk cache: token, session, uploads and render jobs, surviving crashes and restarts.

Every file is JSON, written atomically (temp file + fsync + rename) with mode 0600 inside a
0700 directory. Read-modify-write sequences hold an advisory lock, so two server processes
sharing one cache do not lose each other's writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nemo_video_mcp.atomic import replacing

log = logging.getLogger(__name__)

OFFICIAL_CLIENT_ID_FILE = Path("~/.config/nemovideo/client_id")
LOCK_TIMEOUT_S = 120.0
LOCK_POLL_S = 0.05
T = TypeVar("T")


class Store:
    """The cache root. `profile(name)` gives a sub-store for one backend and API base."""

    def __init__(self, root: Path) -> None:
        self.root = root
        _ensure_private_dir(root)

    def profile(self, name: str) -> Store:
        """A separate namespace, e.g. per backend and API base, so tokens never cross backends."""
        return Store(self.root / "profiles" / _safe_name(name))

    # --- JSON documents -----------------------------------------------------------------------

    def read(self, name: str) -> dict[str, Any] | None:
        """The document `name`, or None when missing or unreadable (a corrupt file is set aside)."""
        path = self.root / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            log.warning("cache file %s is not valid JSON; setting it aside", path.name)
            with contextlib.suppress(OSError):
                path.replace(path.with_suffix(".corrupt"))
            return None
        return data if isinstance(data, dict) else None

    def write(self, name: str, data: dict[str, Any]) -> None:
        """Replace document `name` atomically, owner-only."""
        atomic_write_text(self.root / f"{name}.json", json.dumps(data, indent=1, sort_keys=True))

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / f"{name}.json").unlink()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the profile's advisory lock for a read-modify-write. Blocks: from async code, use
        `run_locked` (or call this in a worker thread)."""
        lock_path = self.root / ".lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
            yield
        finally:
            _unlock(fd)
            os.close(fd)

    async def run_locked(self, work: Callable[[], T], timeout_s: float = LOCK_TIMEOUT_S) -> T:
        """`work()` holding the same lock as `locked()`, taken without blocking the event loop.

        The lock is polled while another process holds it, so progress notifications and other
        calls go on meanwhile; `work` is synchronous, so nothing else in this process runs while it
        holds the lock (a `locked()` elsewhere on this loop can never wait on it).
        """
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await _acquire_polling(fd, "cache", timeout_s)
            try:
                return work()
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    @contextlib.asynccontextmanager
    async def locked_async(self, purpose: str, timeout_s: float = LOCK_TIMEOUT_S) -> AsyncIterator[None]:
        """Hold a named cross-process lock across awaits (e.g. while a token is requested).

        Polls a non-blocking lock, so the event loop is never blocked; two server processes sharing
        the cache take turns instead of both asking the backend for a token or a session.
        """
        fd = os.open(self.root / f".{purpose}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await _acquire_polling(fd, purpose, timeout_s)
            try:
                yield
            finally:
                _unlock(fd)
        finally:
            os.close(fd)

    # --- The client id --------------------------------------------------------------------------

    def client_id(self, override: str | None = None) -> str:
        """The UUID sent as X-Client-Id: NEMO_CLIENT_ID, else ours, else the official skill's, else new."""
        if override:
            return override
        with self.locked():
            stored = (self.read("client") or {}).get("client_id")
            if isinstance(stored, str) and _is_uuid(stored):
                return stored
            client_id = _official_client_id() or str(uuid.uuid4())
            self.write("client", {"client_id": client_id})
            return client_id

    # --- Files (local projects) ------------------------------------------------------------------

    def private_folder(self, *names: str) -> Path:
        """A folder inside the cache (made owner-only, with its parents), e.g. a render's keyframes."""
        path = self.root.joinpath(*names)
        _ensure_private_dir(path)
        return path

    def blob_dir(self) -> Path:
        path = self.root / "media"
        _ensure_private_dir(path)
        return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` via a private temp file in the same directory, then rename."""
    with _replacing(path) as (fd, _), os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_copy_file(source: Path, path: Path) -> None:
    """Copy `source` to `path` via a private temp file in the same directory, then rename."""
    with _replacing(path) as (fd, tmp):
        os.close(fd)
        shutil.copyfile(source, tmp)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[tuple[int, str]]:
    """A temp file beside `path` (fd, name), created owner-only and renamed over `path` if the block
    succeeds (`atomic.replacing`), so `path` is never half-written nor readable by others."""
    _ensure_private_dir(path.parent)
    with replacing(path, mode=0o600) as temp:
        yield os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), str(temp)


async def _acquire_polling(fd: int, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not _try_lock(fd):
        if time.monotonic() > deadline:
            raise TimeoutError(f"another nemo-video-mcp process holds the {what} lock")
        await asyncio.sleep(LOCK_POLL_S)


def _ensure_private_dir(path: Path) -> None:
    """Make `path` and every missing parent owner-only (0700); tighten `path` itself if it is looser.

    `mkdir(parents=True)` would give the parents the umask's mode (often 0755), so they are made
    one by one. Folders that already existed above `path` are left as they are.
    """
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=0o700)
            folder.chmod(0o700)  # whatever the umask took away
    if not path.is_dir():
        path.mkdir(mode=0o700)  # raises the error that explains why (e.g. a file in the way)
    with contextlib.suppress(OSError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)


def _safe_name(name: str) -> str:
    """The first word (e.g. 'cloud') and a hash: a URL with credentials in it never becomes a folder name."""
    kind = "".join(c for c in name.split(" ", 1)[0] if c.isalnum())[:20] or "profile"
    return f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _official_client_id() -> str | None:
    """Reuse the official NemoVideo skill's client id, sparing the user a second anonymous token."""
    try:
        value = OFFICIAL_CLIENT_ID_FILE.expanduser().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value if _is_uuid(value) else None


try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
