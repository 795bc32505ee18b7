"""media: type by content, size limits, images that decode, allowed folders, files that must never be read."""

from __future__ import annotations

import io
import os
import socket
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from nemo_video_mcp.errors import MAX_UPLOAD_BYTES, FileTooLargeError, MediaFileError, UnsupportedFileError
from nemo_video_mcp.media import (
    SUPPORTED_KINDS,
    DamagedImageError,
    OutsideAllowedFoldersError,
    TooManyPixelsError,
    check_media_file,
    check_music_file,
    detect_format,
    is_remote_url,
    upload_name,
)


def pillow_bytes(image_format: str, **save_options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 40, 40)).save(buffer, format=image_format, **save_options)
    return buffer.getvalue()


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    brands = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands + b"\x00\x00\x00\x08free"


def riff(form: bytes) -> bytes:
    return b"RIFF" + (100).to_bytes(4, "little") + form + b"fmt " + b"\x00" * 40


def ebml(doctype: bytes) -> bytes:
    body = b"\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + b"\x18\x53\x80\x67" + b"\x00" * 32


FORMAT_CASES = [
    # (file name, content, kind, format, mime type)
    ("photo.jpg", pillow_bytes("JPEG"), "image", "jpeg", "image/jpeg"),
    ("photo.png", pillow_bytes("PNG"), "image", "png", "image/png"),
    ("anim.gif", pillow_bytes("GIF", duration=100, loop=0), "image", "gif", "image/gif"),  # GIF89a
    ("photo.webp", pillow_bytes("WEBP"), "image", "webp", "image/webp"),
    ("old.gif", pillow_bytes("GIF"), "image", "gif", "image/gif"),  # GIF87a
    ("phone.heic", ftyp(b"heic", b"mif1", b"heic"), "image", "heic", "image/heic"),
    ("phone2.heic", ftyp(b"heix", b"mif1"), "image", "heic", "image/heic"),
    ("burst.heic", ftyp(b"hevc", b"msf1"), "image", "heic", "image/heic"),
    ("still.heif", ftyp(b"mif1", b"miaf"), "image", "heif", "image/heif"),
    ("seq.heif", ftyp(b"msf1"), "image", "heif", "image/heif"),
    ("clip.mp4", ftyp(b"isom", b"iso2", b"avc1", b"mp41"), "video", "mp4", "video/mp4"),
    ("clip2.mp4", ftyp(b"mp42", b"isom"), "video", "mp4", "video/mp4"),
    ("itunes.m4v", ftyp(b"M4V ", b"M4A ", b"mp42"), "video", "mp4", "video/mp4"),
    ("odd-major.mp4", ftyp(b"xxxx", b"zzzz", b"isom"), "video", "mp4", "video/mp4"),
    ("camera.mov", ftyp(b"qt  ", b"qt  "), "video", "mov", "video/quicktime"),
    ("legacy.mov", b"\x00\x00\x00\x08wide\x00\x00\x10\x00mdat" + b"\x00" * 20, "video", "mov", "video/quicktime"),
    ("voice.m4a", ftyp(b"M4A ", b"isom", b"mp42"), "audio", "m4a", "audio/mp4"),
    ("clip.avi", riff(b"AVI "), "video", "avi", "video/x-msvideo"),
    ("clip.webm", ebml(b"webm"), "video", "webm", "video/webm"),
    ("clip.mkv", ebml(b"matroska"), "video", "mkv", "video/x-matroska"),
    ("tagged.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 30, "audio", "mp3", "audio/mpeg"),
    ("bare.mp3", b"\xff\xfb\x90\x64" + b"\x00" * 40, "audio", "mp3", "audio/mpeg"),
    ("mpeg2.mp3", b"\xff\xf3\x84\xc4" + b"\x00" * 40, "audio", "mp3", "audio/mpeg"),
    ("sound.wav", riff(b"WAVE"), "audio", "wav", "audio/wav"),
    ("song.aac", b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 30, "audio", "aac", "audio/aac"),
    ("song2.aac", b"\xff\xf9\x50\x80\x02\x1f\xfc" + b"\x00" * 30, "audio", "aac", "audio/aac"),
    ("raw.aac", b"ADIF" + b"\x00" * 30, "audio", "aac", "audio/aac"),
]


@pytest.mark.parametrize(("name", "content", "kind", "media_format", "mime"), FORMAT_CASES)
def test_every_supported_format_is_detected_by_content(
    tmp_path: Path, name: str, content: bytes, kind: str, media_format: str, mime: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    media = check_media_file(str(path))

    assert (media.kind, media.format, media.mime_type) == (kind, media_format, mime)
    assert media.path == path.resolve()
    assert media.size_bytes == len(content)
    assert media_format in SUPPORTED_KINDS[kind]


def test_every_supported_format_has_a_case() -> None:
    covered = {case[3] for case in FORMAT_CASES}
    assert covered == {fmt for formats in SUPPORTED_KINDS.values() for fmt in formats}


@pytest.mark.parametrize(
    ("name", "content", "issue"),
    [
        ("notes.jpg", b"these are my holiday notes\n", "named .jpg, but its content is plain text"),
        ("page.png", "<html>café</html>".encode(), "plain text"),
        ("doc.mp4", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        ("archive.jpg", b"PK\x03\x04\x14\x00\x00\x00", "a ZIP archive"),
        ("song.mp3", b"fLaC\x00\x00\x00\x22" + b"\x00" * 30, "a FLAC audio file"),
        ("photo.heic", ftyp(b"avif", b"mif1", b"miaf"), "an AVIF image"),
        ("phone.mp4", ftyp(b"3gp4", b"3gp4"), "brand '3gp4'"),
        ("noise", bytes(range(1, 32)) * 3, "matches no supported format"),
        ("fake.mp3", b"\xff\xff\xff\xff" + b"\x00" * 20, "matches no supported format"),
    ],
)
def test_unsupported_content_is_refused_naming_the_issue(tmp_path: Path, name: str, content: bytes, issue: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(UnsupportedFileError) as caught:
        check_media_file(str(path))

    assert caught.value.code == 4001
    assert issue in caught.value.message
    assert "png" in caught.value.agent_message and "mp3" in caught.value.agent_message
    assert "Next step:" in caught.value.agent_message


def test_a_png_named_txt_is_accepted_as_png(tmp_path: Path) -> None:
    path = tmp_path / "screenshot.txt"
    path.write_bytes(pillow_bytes("PNG"))

    assert check_media_file(str(path)).format == "png"


def test_a_symlink_is_followed_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.jpg"
    target.write_bytes(pillow_bytes("JPEG"))
    link = tmp_path / "link.jpg"
    link.symlink_to(target)

    media = check_media_file(str(link))

    assert media.path == target.resolve()
    assert media.format == "jpeg"


def test_home_and_file_urls_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "my photo.png").write_bytes(pillow_bytes("PNG"))

    assert check_media_file("~/my photo.png").path == (tmp_path / "my photo.png").resolve()
    assert check_media_file(f"file://{tmp_path}/my%20photo.png").format == "png"
    assert check_media_file(f"  {tmp_path}/my photo.png\n").format == "png"


def make_fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    return path


def make_socket(tmp_path: Path) -> Path:
    path = tmp_path / "s.png"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def make_dangling_link(tmp_path: Path) -> Path:
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "deleted.jpg")
    return link


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(pillow_bytes("JPEG"))
    return folder


def make_empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.jpg"
    path.touch()
    return path


@pytest.mark.parametrize(
    ("make_path", "said", "next_step"),
    [
        (lambda tmp: tmp / "nope.jpg", "No file at", "absolute path"),
        (lambda tmp: Path("relative/nope.jpg"), "relative path", "absolute path"),
        (lambda tmp: tmp / "file.jpg" / "inside.jpg", "No file at", "absolute path"),
        (make_dangling_link, "symbolic link to", "existing file"),
        (make_folder, "is a folder", "image files inside it"),
        (lambda tmp: Path("/dev/zero"), "is not a regular file (it is a device)", "saved on disk"),
        (make_fifo, "is not a regular file (it is a named pipe", "saved on disk"),
        (make_socket, "is not a regular file (it is a socket)", "saved on disk"),
        (make_empty, "is empty", "finished saving"),
        (lambda tmp: Path("   "), "No file path", "absolute path"),
    ],
    ids=["missing", "relative", "under-a-file", "dangling", "folder", "dev-zero", "fifo", "socket", "empty", "blank"],
)
def test_unusable_paths_are_refused_promptly_with_a_next_step(
    tmp_path: Path, make_path, said: str, next_step: str
) -> None:
    if make_path is make_socket and len(str(tmp_path)) > 90:
        pytest.skip("tmp path too long for an AF_UNIX socket")
    if make_path is make_fifo and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    (tmp_path / "file.jpg").write_bytes(pillow_bytes("JPEG"))
    path = make_path(tmp_path)

    started = time.monotonic()
    with pytest.raises(MediaFileError) as caught:
        check_media_file(str(path))

    assert time.monotonic() - started < 2, "must never block on a special file"
    assert not isinstance(caught.value, UnsupportedFileError)
    assert said in caught.value.message
    assert f"Next step: {caught.value.next_step}" in caught.value.agent_message
    assert next_step in caught.value.next_step


def test_the_dangling_link_error_names_the_link(tmp_path: Path) -> None:
    link = make_dangling_link(tmp_path)

    with pytest.raises(MediaFileError, match=r"gone\.jpg"):
        check_media_file(str(link))


def test_a_permission_error_on_open_is_reported_as_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.jpg"
    path.write_bytes(pillow_bytes("JPEG"))
    real_open = os.open

    def refuse(file: object, *args: object, **kwargs: object) -> int:
        if Path(str(file)) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refuse)

    with pytest.raises(MediaFileError, match="permission denied") as caught:
        check_media_file(str(path))

    assert "readable" in caught.value.next_step


def sparse_jpeg(path: Path, size: int) -> Path:
    with path.open("wb") as file:
        file.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
        file.truncate(size)
    return path


def test_over_200_mb_is_too_large_without_reading_it(tmp_path: Path) -> None:
    path = sparse_jpeg(tmp_path / "huge.jpg", 201 * 1024 * 1024)

    with pytest.raises(FileTooLargeError) as caught:
        check_media_file(str(path))

    assert caught.value.code == 4002
    assert "201 MB" in caught.value.message
    assert "Compress or trim" in caught.value.agent_message


def test_exactly_200_mb_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"  # a video: its size is checked, its content is not decoded here
    with path.open("wb") as file:
        file.write(ftyp(b"isom", b"mp41"))
        file.truncate(MAX_UPLOAD_BYTES)

    media = check_media_file(str(path))

    assert (media.format, media.size_bytes) == ("mp4", MAX_UPLOAD_BYTES)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"", None),
        (b"\xff", None),
        (b"\xff\xd8", None),
        (b"RIFF", None),
        (b"RIFF\x00\x00\x00\x00XXXX", None),
        (b"\x1a\x45\xdf\xa3", "mkv"),
        (b"\x1a\x45\xdf\xa3\x9f...webm", "webm"),
        (b"\xff\xeb\x90\x64", None),  # MPEG version bits 01 are reserved
        (b"\xff\xe3\x18\xc4", "mp3"),  # MPEG 2.5 layer III
    ],
)
def test_detect_format_tolerates_short_and_odd_headers(header: bytes, expected: str | None) -> None:
    assert detect_format(header) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://example.com/a.jpg", True),
        ("http://cdn.example.com/x?y=1", True),
        ("  HTTPS://EXAMPLE.COM/a.png ", True),
        ("ftp://example.com/a.jpg", False),
        ("file:///tmp/a.jpg", False),
        ("/tmp/https.jpg", False),
        ("https://", False),
        ("example.com/a.jpg", False),
        ("C:\\photos\\a.jpg", False),
    ],
)
def test_is_remote_url(text: str, expected: bool) -> None:
    assert is_remote_url(text) is expected


# --- Images must decode; bombs are refused from the header ----------------------------------------


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims `width` x `height` (8-bit grey) with one tiny IDAT: its size costs nothing to write."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def noisy_jpeg(size: tuple[int, int] = (640, 480), **save_options: object) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buffer, format="JPEG", **save_options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("garbage.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "starts like a PNG image but cannot be decoded"),
        ("cut.png", pillow_bytes("PNG")[:-20], "truncated or damaged"),
        ("cut.jpg", noisy_jpeg()[: len(noisy_jpeg()) // 2], "truncated"),
        ("cut-progressive.jpg", noisy_jpeg(progressive=True)[:3000], "truncated or damaged"),
        ("header.jpg", noisy_jpeg()[:200], "starts like a JPEG image"),
        ("cut.gif", pillow_bytes("GIF")[:20], "starts like a GIF image"),
        ("cut.webp", pillow_bytes("WEBP")[:40], "starts like a WEBP image"),
    ],
)
def test_a_damaged_image_is_refused_with_a_way_to_fix_it(tmp_path: Path, name: str, content: bytes, said: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(DamagedImageError) as caught:
        check_media_file(str(path))

    assert said in caught.value.message and str(path) in caught.value.message
    assert "export (save) it again" in caught.value.next_step
    assert caught.value.code == 4001


@pytest.mark.parametrize(("width", "height", "said"), [(30000, 30000, "900 megapixels"), (12000, 9000, "12000x9000")])
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path, width: int, height: int, said: str) -> None:
    path = png_header_only(tmp_path / "bomb.png", width, height)

    started = time.monotonic()
    with pytest.raises(TooManyPixelsError) as caught:
        check_media_file(str(path))

    assert time.monotonic() - started < 1, "refused from the header, never decoded"
    assert said in caught.value.message and "100 megapixel limit" in caught.value.message
    assert "Shrink the image" in caught.value.next_step


def test_a_large_image_under_the_limit_is_verified_without_being_decoded(tmp_path: Path) -> None:
    path = png_header_only(tmp_path / "wide.png", 5000, 2000)  # 10 MP: its one IDAT is far too short to decode

    assert check_media_file(str(path)).format == "png"


# --- Allowed folders ------------------------------------------------------------------------------


def test_allowed_folders_admit_files_inside_and_refuse_the_rest(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "sub").mkdir(parents=True)
    inside = allowed / "sub" / "a.png"
    inside.write_bytes(pillow_bytes("PNG"))
    outside = tmp_path / "secret.png"
    outside.write_bytes(pillow_bytes("PNG"))
    escape = allowed / "escape.png"
    escape.symlink_to(outside)
    folders = (allowed.resolve(),)

    assert check_media_file(str(inside), folders).path == inside.resolve()
    for sneaky in (str(outside), str(allowed / "sub" / ".." / ".." / "secret.png"), str(escape)):
        with pytest.raises(OutsideAllowedFoldersError) as caught:
            check_media_file(sneaky, folders)
        assert str(allowed.resolve()) in caught.value.message and "NEMO_ALLOWED_DIRS" in caught.value.next_step
    with pytest.raises(OutsideAllowedFoldersError, match="really"):
        check_media_file(str(escape), folders)


def test_a_file_outside_the_allowed_folders_is_refused_before_it_is_looked_at(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()

    for path in ("/etc/shadow", str(tmp_path / "missing.jpg"), "/dev/zero"):
        with pytest.raises(OutsideAllowedFoldersError):
            check_media_file(path, (allowed,))


# --- music_path: the same checks, and audio only ----------------------------------------------------


def test_music_must_be_a_real_audio_file(tmp_path: Path) -> None:
    song = tmp_path / "song.mp3"
    song.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\x00" * 30)
    picture = tmp_path / "cover.png"
    picture.write_bytes(pillow_bytes("PNG"))
    sparse = tmp_path / "huge.mp3"
    with sparse.open("wb") as handle:
        handle.write(b"ID3\x04\x00\x00\x00\x00\x00\x10")
        handle.truncate(300 * 1024 * 1024)

    assert check_music_file(str(song)).kind == "audio"
    for bad, said in [
        ("/etc/passwd", "plain text"),
        (str(picture), "an image (png), not audio"),
        (str(sparse), "larger than the 200 MB"),
        (str(tmp_path / "nope.mp3"), "No file at"),
    ]:
        with pytest.raises(MediaFileError) as caught:
            check_music_file(bad)
        assert said in caught.value.message and "music_path" in caught.value.next_step
    with pytest.raises(MediaFileError, match="outside the folders") as caught:
        check_music_file(str(song), (tmp_path / "elsewhere",))
    assert "NEMO_ALLOWED_DIRS" in caught.value.next_step


# --- The name sent to the backend ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("beach.jpg", "beach.jpg"),
        ("new\nline.png", "new line.png"),
        ("tab\there\r\n.jpg", "tab here.jpg"),
        ("no extension\n", "no extension"),
        ("evil\u202egpj.exe.png", "evil gpj.exe.png"),
        ("été à Paris 视频.jpg", "été à Paris 视频.jpg"),
        ("a" * 300 + ".jpeg", "a" * 195 + ".jpeg"),
        ("\x00\x01.png", "file.png"),
    ],
)
def test_upload_names_are_readable_and_carry_no_control_characters(name: str, sent: str) -> None:
    assert upload_name(Path("/photos") / name) == sent
