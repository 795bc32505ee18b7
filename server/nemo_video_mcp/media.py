"""Check a local media file before anything is sent: it lies in an allowed folder, exists, is a
regular file, fits, is a supported format judged by its content (magic bytes, never its name), and,
for an image, decodes.

Every local file the server reads for the user goes through `check_media_file` (uploads) or
`check_music_file` (music_path). An image is opened lazily with Pillow: its pixel count is checked
before any pixel is decoded (a decompression bomb is refused from its header), the file is verified,
and it is decoded where that is cheap (a JPEG at 1/8 scale, straight from the DCT; any image up to
`DECODE_CHECK_PIXELS`). A truncated or damaged image is refused here, not at export.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from struct import error as struct_error
from urllib.parse import urlparse

from nemo_video_mcp.errors import MAX_UPLOAD_BYTES, FileTooLargeError, MediaFileError, UnsupportedFileError
from nemo_video_mcp.models import MediaFile, MediaKind
from nemo_video_mcp.paths import user_path

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
MAX_IMAGE_PIXELS = 100_000_000
"""Above this many pixels an image is refused from its header: a decompression bomb never gets decoded."""
DECODE_CHECK_PIXELS = 8_000_000
"""Images up to this size are decoded whole to prove they are complete (baseline JPEGs always are, at
1/8 scale); larger ones are verified by Pillow without decoding, so the check never costs much memory."""
MAX_UPLOAD_NAME_CHARS = 200

_DECODED_FORMATS = ("jpeg", "png", "gif", "webp")
"""Image formats Pillow decodes here; HEIC/HEIF have no decoder in this process and are left to the backend."""

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


class OutsideAllowedFoldersError(MediaFileError):
    code = "outside_allowed_dirs"

    def __init__(self, path: Path, real: Path, allowed: Sequence[Path]) -> None:
        really = f" (really {real})" if real != path else ""
        folders = ", ".join(str(folder) for folder in allowed)
        super().__init__(
            f"{path}{really} is outside the folders this server may read (NEMO_ALLOWED_DIRS: {folders}).",
            f"Copy the file into one of {folders} and pass its new path, or ask the user to add its folder "
            "to NEMO_ALLOWED_DIRS in the server's settings.",
        )


class DamagedImageError(MediaFileError):
    code = 4001

    def __init__(self, path: Path, media_format: str, detail: str) -> None:
        super().__init__(
            f"{path} starts like a {media_format.upper()} image but cannot be decoded ({detail}): "
            "it is truncated or damaged.",
            "Open the original in an image editor or viewer and export (save) it again, or copy it again "
            "from where it came from, then pass the new file.",
        )


class TooManyPixelsError(MediaFileError):
    code = 4002

    def __init__(self, path: Path, pixels: int | None, size: tuple[int, int] | None = None) -> None:
        shown = f"{size[0]}x{size[1]} px, " if size else ""
        count = f"{pixels / 1e6:.0f} megapixels" if pixels else "too many pixels"
        super().__init__(
            f"{path} has {shown}{count}, above the {MAX_IMAGE_PIXELS // 1_000_000} megapixel limit.",
            "Shrink the image (e.g. to at most 8000 px on its long side) and save it as a new file, then pass that.",
        )


def check_media_file(path_text: str, allowed_dirs: Sequence[Path] = ()) -> MediaFile:
    """Check one local file and describe it; raise a `MediaFileError` that says what to do otherwise.

    Accepts `~` and `file://` URLs. Symlinks are followed and their target is checked; with
    `allowed_dirs` (real paths, see `config.folder_list`), the target must lie inside one of them,
    which is checked first, so nothing is said about a file outside them. Returns the resolved
    absolute path, the kind and format detected from the content, and the size.
    """
    path = _path_from_text(path_text)
    if allowed_dirs:
        _check_allowed(path, allowed_dirs)
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
    if media_format in _DECODED_FORMATS:
        _check_image_decodes(path, media_format)
    return MediaFile(
        path=path.resolve(),
        kind=kind,
        format=media_format,
        mime_type=MIME_TYPES[media_format],
        size_bytes=info.st_size,
    )


MUSIC_NEXT_STEP = (
    "Pass an existing audio file (mp3, wav, m4a or aac, at most 200 MB) as music_path, or leave music_path out."
)


def check_music_file(path_text: str, allowed_dirs: Sequence[Path] = ()) -> MediaFile:
    """`check_media_file` for `music_path`: the same checks, and the file must be audio."""
    try:
        media = check_media_file(path_text, allowed_dirs)
    except MediaFileError as exc:
        step = exc.next_step if isinstance(exc, OutsideAllowedFoldersError) else MUSIC_NEXT_STEP
        raise MediaFileError(f"The music file cannot be used: {exc.message}", step) from None
    if media.kind != "audio":
        raise MediaFileError(
            f"The music file {media.path} is {'an image' if media.kind == 'image' else 'a video'} "
            f"({media.format}), not audio.",
            MUSIC_NEXT_STEP,
        )
    return media


def upload_name(path: Path) -> str:
    """The file name to send to the backend: `path`'s name with control and format characters (a
    newline, a tab, a bidi override) made spaces, runs of spaces made one, and at most
    `MAX_UPLOAD_NAME_CHARS` characters, keeping the extension. Still readable; never empty."""
    cleaned = "".join(" " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in path.name)
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not 0 < len(suffix) <= 16 or " " in suffix:
        stem, suffix = cleaned, ""
    stem = " ".join(stem.split())[: MAX_UPLOAD_NAME_CHARS - len(suffix) - 1].rstrip() or "file"
    return f"{stem}.{suffix}" if suffix else stem


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
    try:
        return user_path(text)
    except ValueError as exc:
        raise MediaFileError(f"{text[:200]} cannot be used: {exc}.", "Pass the file's absolute path instead.") from None


def _check_allowed(path: Path, allowed_dirs: Sequence[Path]) -> None:
    """Refuse a path whose real location (symlinks and `..` resolved) is outside every allowed folder."""
    real = Path(os.path.realpath(path.absolute()))
    if not any(real == folder or real.is_relative_to(folder) for folder in allowed_dirs):
        raise OutsideAllowedFoldersError(path, real, allowed_dirs)


def _check_image_decodes(path: Path, media_format: str) -> None:
    """Refuse an image that has too many pixels, or that Pillow cannot verify or (where cheap) decode."""
    from PIL import Image, UnidentifiedImageError

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)  # our own limit applies
    try:
        with Image.open(path) as image:  # reads the header only
            size = image.size
            if size[0] * size[1] > MAX_IMAGE_PIXELS:
                raise TooManyPixelsError(path, size[0] * size[1], size)
            jpeg = image.format in ("JPEG", "MPO")  # MPO: a camera's JPEG with extra pictures after it
            baseline_jpeg = jpeg and not image.info.get("progressive")
            image.verify()
        if baseline_jpeg or size[0] * size[1] <= DECODE_CHECK_PIXELS:
            with Image.open(path) as image:
                if jpeg:
                    image.draft(None, (max(1, size[0] // 8), max(1, size[1] // 8)))
                image.load()
    except Image.DecompressionBombError as exc:  # Pillow's own guard, at twice its default limit
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise TooManyPixelsError(path, int(pixels.group(1)) if pixels else None) from None
    except UnidentifiedImageError:
        raise DamagedImageError(path, media_format, "no image decoder recognises its data") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct_error) as exc:
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise DamagedImageError(path, media_format, detail) from None


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
