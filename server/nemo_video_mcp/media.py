"""Check a local media file before anything is sent: it exists, is a regular file, fits, and is a
supported format judged by its content (magic bytes), never by its name.

The only I/O is `os.stat` and reading the first few KB of a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import unquote, urlparse

from nemo_video_mcp.errors import MAX_UPLOAD_BYTES, FileTooLargeError, MediaFileError, UnsupportedFileError
from nemo_video_mcp.models import MediaFile, MediaKind

SUPPORTED_KINDS: dict[MediaKind, tuple[str, ...]] = {
    "image": ("jpeg", "png", "gif", "webp", "heic", "heif"),
    "video": ("mp4", "mov", "avi", "webm", "mkv"),
    "audio": ("mp3", "wav", "m4a", "aac"),
}
"""Every format `check_media_file` accepts, by kind (format names as it reports them)."""

MIME_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
}

HEADER_BYTES = 4096
"""How much of a file is read to detect its format (Matroska's doctype may sit past the first bytes)."""

# ISO base media (ftyp) brands -> format. Checked on the major brand first, then the compatible ones.
_FTYP_BRANDS: dict[bytes, str] = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"), "heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "heif"),
    b"qt  ": "mov",
    **dict.fromkeys((b"M4A ", b"M4B "), "m4a"),
    **dict.fromkeys(
        (b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71", b"avc1"),
        "mp4",
    ),
    **dict.fromkeys((b"dash", b"mmp4", b"M4V ", b"M4VH", b"M4VP", b"f4v ", b"MSNV", b"NDAS"), "mp4"),
}
# Old QuickTime files start with a top-level atom instead of ftyp.
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

# Recognised but unsupported content, to name the issue in the error.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"OggS", "an Ogg file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x7fELF", "a program (ELF binary)"),
    (b"8BPS", "a Photoshop document"),
)


def is_remote_url(text: str) -> bool:
    """True when `text` is an http(s) URL the backend can fetch itself (no local file involved)."""
    parsed = urlparse(text.strip())
    return parsed.scheme.lower() in ("http", "https") and bool(parsed.netloc)


def check_media_file(path_text: str) -> MediaFile:
    """Check one local file and describe it; raise a `MediaFileError` that says what to do otherwise.

    Accepts `~` and `file://` URLs. Symlinks are followed and their target is checked. Returns the
    resolved absolute path, the kind and format detected from the content, and the size.
    """
    path = _path_from_text(path_text)
    info = _stat_regular_file(path)
    if info.st_size == 0:
        raise MediaFileError(
            f"{path} is empty (0 bytes).",
            "Check that the file finished saving or downloading, then pass it again.",
        )
    if info.st_size > MAX_UPLOAD_BYTES:
        raise FileTooLargeError(str(path), info.st_size)

    header = _read_header(path)
    media_format = detect_format(header)
    if media_format is None:
        raise UnsupportedFileError(f"{path} ({_describe_unsupported(path, header)})")
    kind = next(kind for kind, formats in SUPPORTED_KINDS.items() if media_format in formats)
    return MediaFile(
        path=path.resolve(),
        kind=kind,
        format=media_format,
        mime_type=MIME_TYPES[media_format],
        size_bytes=info.st_size,
    )


def detect_format(header: bytes) -> str | None:
    """The supported format whose signature starts `header`, or None. Pure: works on bytes only."""
    if header.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if header[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if header.startswith(b"RIFF") and len(header) >= 12:
        return {b"WEBP": "webp", b"AVI ": "avi", b"WAVE": "wav"}.get(header[8:12])
    if header[4:8] == b"ftyp":
        return _ftyp_format(header)
    if header[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if header.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska_format(header)
    if header.startswith((b"ID3", b"ADIF")):
        return "mp3" if header.startswith(b"ID3") else "aac"
    if len(header) >= 3 and header[0] == 0xFF:
        return _mpeg_audio_format(header[1], header[2])
    return None


def _ftyp_format(header: bytes) -> str | None:
    box_size = int.from_bytes(header[0:4], "big")
    major = header[8:12]
    if major in (b"avif", b"avis"):
        return None
    if major in _FTYP_BRANDS:
        return _FTYP_BRANDS[major]
    end = min(box_size if box_size >= 16 else 16, len(header))
    compatible = (header[offset : offset + 4] for offset in range(16, end - 3, 4))
    return next((_FTYP_BRANDS[brand] for brand in compatible if brand in _FTYP_BRANDS), None)


def _matroska_format(header: bytes) -> str:
    # The EBML DocType element (ID 42 82) holds "webm" or "matroska"; a size byte sits in between.
    doctype_at = header.find(b"\x42\x82")
    if doctype_at != -1 and header[doctype_at + 3 : doctype_at + 7] == b"webm":
        return "webm"
    return "webm" if doctype_at == -1 and b"webm" in header else "mkv"


def _mpeg_audio_format(second: int, third: int) -> str | None:
    if second & 0xE0 != 0xE0:  # no 11-bit frame sync
        return None
    layer = (second >> 1) & 0b11
    if layer == 0:
        return "aac" if second & 0xF6 == 0xF0 else None  # ADTS: FF F1 / FF F9 (and F0 / F8)
    bitrate_index, sample_rate_index = third >> 4, (third >> 2) & 0b11
    if (second >> 3) & 0b11 == 0b01 or bitrate_index == 0xF or sample_rate_index == 0b11:
        return None  # reserved MPEG version or invalid fields: not an MPEG audio frame
    return "mp3"


def _describe_unsupported(path: Path, header: bytes) -> str:
    content = next((what for magic, what in _KNOWN_OTHERS if header.startswith(magic)), None)
    if content is None and header[4:8] == b"ftyp":
        brand = header[8:12].decode("ascii", "replace").strip()
        content = "an AVIF image" if brand in ("avif", "avis") else f"an ISO media file of brand '{brand}'"
    if content is None:
        content = "plain text" if _looks_like_text(header) else "data that matches no supported format"
    suffix = path.suffix.lower()
    named = f"named {suffix}, but its content is" if suffix else "its content is"
    return f"{named} {content}"


def _looks_like_text(header: bytes) -> bool:
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        # The header may cut a multi-byte character at its end.
        try:
            text = header[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(char.isprintable() or char in "\t\r\n\f" for char in text)


def _path_from_text(path_text: str) -> Path:
    text = path_text
    if text.strip() != text and not os.path.lexists(text):  # stray whitespace around a pasted path
        text = text.strip()
    if not text:
        raise MediaFileError("No file path was given.", "Pass the absolute path of an image, video or audio file.")
    if text.lower().startswith("file://"):
        text = unquote(urlparse(text).path)
    return Path(text).expanduser()


def _stat_regular_file(path: Path) -> os.stat_result:
    """Stat `path` (following symlinks) and insist on a regular file; never opens anything."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise MediaFileError(
                f"{path} is a symbolic link to {os.readlink(path)}, which does not exist.",
                "Point the link at an existing file, or pass the real file's absolute path.",
            ) from None
        raise _missing_file(path) from None
    except NotADirectoryError:
        raise _missing_file(path) from None
    except PermissionError:
        raise _unreadable(path) from None
    except OSError as error:  # e.g. a symlink loop, a name too long
        raise MediaFileError(
            f"{path} cannot be checked: {error.strerror or error}.",
            "Pass the absolute path of a regular image, video or audio file.",
        ) from None

    if stat.S_ISDIR(info.st_mode):
        raise MediaFileError(
            f"{path} is a folder, not a file.",
            "Pass the image files inside it one by one (their full paths), then call upload_images again.",
        )
    if not stat.S_ISREG(info.st_mode):
        raise MediaFileError(
            f"{path} is not a regular file (it is {_special_file_kind(info.st_mode)}).",
            "Pass an image, video or audio file saved on disk (not a device, pipe or socket).",
        )
    return info


def _read_header(path: Path) -> bytes:
    """Read the first bytes without ever blocking: O_NONBLOCK, then re-check the opened file is regular."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise _unreadable(path) from None
    except OSError as error:
        raise MediaFileError(
            f"{path} cannot be opened: {error.strerror or error}.",
            "Check the file still exists and is readable, then pass it again.",
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the stat and the open
            raise MediaFileError(
                f"{path} is not a regular file.",
                "Pass an image, video or audio file saved on disk.",
            )
        return os.read(fd, HEADER_BYTES)
    except OSError as error:
        raise MediaFileError(
            f"{path} cannot be read: {error.strerror or error}.",
            "Check the file is not damaged or on a disconnected drive, then pass it again.",
        ) from None
    finally:
        os.close(fd)


def _special_file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _missing_file(path: Path) -> MediaFileError:
    hint = "" if path.is_absolute() else f" (a relative path is read from the server's folder, {Path.cwd()})"
    return MediaFileError(
        f"No file at {path}{hint}.",
        "Check the path for typos, and give the file's absolute path.",
    )


def _unreadable(path: Path) -> MediaFileError:
    return MediaFileError(
        f"{path} cannot be read: permission denied.",
        "Make the file readable by the user running this server (e.g. chmod a+r), or copy it to a "
        "readable folder and pass that path.",
    )
