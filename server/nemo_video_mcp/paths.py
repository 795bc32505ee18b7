"""Local paths and `file://` URLs, made and read in one place.

A file URL is made by `file_url` (percent-encoded, so spaces, `#`, `%` and non-ASCII names survive)
and read back by `path_of_file_url`; `user_path` turns what an agent or a user typed (a path, `~…`, or
a file URL) into a path. Reading a file URL never splits it at `#` or `?`: in a local file URL those
are part of a file name that someone typed, not a fragment or a query.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes
from urllib.request import url2pathname

_SCHEME = "file:"


def is_file_url(text: str) -> bool:
    """True when `text` is a `file:` URL (any case)."""
    return text[: len(_SCHEME)].lower() == _SCHEME


def file_url(path: str | os.PathLike[str]) -> str:
    """The `file://` URL of `path` (made absolute, symlinks resolved)."""
    return Path(path).resolve().as_uri()


def path_of_file_url(url: str) -> Path:
    """The local path a `file:` URL names; `ValueError` if it is not one, or names another machine.

    Accepts `file:///p`, `file://localhost/p` and `file:/p`; percent-escapes are decoded to the
    bytes they stand for, so `path_of_file_url(file_url(p)) == p.resolve()` for every name.
    """
    if not is_file_url(url):
        raise ValueError(f"not a file URL: {url[:80]!r}")
    rest = url[len(_SCHEME) :]
    if rest.startswith("//"):
        host, slash, rest = rest[2:].partition("/")
        if host.lower() not in ("", "localhost"):
            raise ValueError(f"the file URL names another machine ({unquote(host)!r}), not this one")
        rest = slash + rest
    if not rest.startswith("/"):
        raise ValueError("a file URL must hold an absolute path (file:///…)")
    if os.name == "nt":  # pragma: no cover - Windows: drive letters and backslashes
        return Path(url2pathname(rest))
    return Path(os.fsdecode(unquote_to_bytes(rest)))


def user_path(text: str) -> Path:
    """What someone typed as a file (a path, `~/…`, or a file URL) as a path; `ValueError` for an
    unusable file URL. Relative paths stay relative (the caller decides what they are relative to)."""
    if is_file_url(text):
        return path_of_file_url(text)
    return Path(text).expanduser()


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in 1 MB pieces (a video never sits in memory whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
