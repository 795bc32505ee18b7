"""Still normalization: orientation, colour modes, alpha, tiny, huge and broken files.

The image makers here are also used by the other render tests.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from nemo_video_mcp.render.images import (
    ImageTooLargeError,
    ImageTooSmallError,
    ImageUnreadableError,
    chosen_fit,
    fit_image,
    inspect_image,
    normalize_image,
    still_size,
)


def striped_image(path: Path, size: tuple[int, int], color: str, **save: object) -> Path:
    """A flat colour with white vertical stripes every 64 px (so zoom and pan change the pixels)."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 64):
        image.paste("white", (x, 0, x + 8, size[1]))
    image.save(path, **save)
    return path


def flat_grey_jpeg(width: int, height: int) -> bytes:
    """A baseline greyscale JPEG of flat mid-grey, written block by block without holding its pixels.

    Every 8x8 block codes DC difference 0 ("00") then end-of-block ("1010"): 6 bits; 4 blocks = 3 bytes.
    """

    def segment(marker: int, payload: bytes) -> bytes:
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    dc_counts = bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    ac_counts = bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D])
    ac_symbols = bytes.fromhex(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435"
        "363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798"
        "999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4"
        "f5f6f7f8f9fa"
    )
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "001010" * (blocks % 4)
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1s, as JPEG requires
    tail = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"),
            segment(0xC4, b"\x00" + dc_counts + bytes(range(12)) + b"\x10" + ac_counts + ac_symbols),
            segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
            b"\x28\xa2\x8a" * (blocks // 4),
            tail,
            b"\xff\xd9",
        ]
    )


def _pixel(path: Path, size: tuple[int, int], xy: tuple[int, int]) -> tuple[int, ...]:
    return fit_image(path, size).getpixel(xy)  # type: ignore[return-value]


def test_exif_orientation_is_applied(tmp_path):
    # Stored 200x100 (left half red, right half blue), tagged "rotate 90 CW" (6): shown 100x200, red on top.
    image = Image.new("RGB", (200, 100), "red")
    image.paste("blue", (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert (inspect_image(path).width, inspect_image(path).height) == (100, 200)
    fitted = fit_image(path, (100, 200))
    top, bottom = fitted.getpixel((50, 20)), fitted.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def _png_with_late_exif(path: Path, orientation: int) -> None:
    """A 200x100 PNG whose eXIf chunk comes after its pixels, just before IEND."""
    Image.new("RGB", (200, 100), "red").save(path)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    raw = path.read_bytes()
    iend = raw.rindex(b"IEND") - 4
    path.write_bytes(raw[:iend] + chunk + raw[iend:])


def test_png_orientation_is_read_without_decoding_the_pixels(tmp_path, monkeypatch):
    late, plain, early = tmp_path / "late.png", tmp_path / "plain.png", tmp_path / "early.png"
    _png_with_late_exif(late, 6)
    Image.new("RGB", (200, 100), "red").save(plain)
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (200, 100), "red").save(early, exif=exif)

    def no_decoding(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert (inspect_image(late).width, inspect_image(late).height) == (100, 200)
    assert (inspect_image(plain).width, inspect_image(plain).height) == (200, 100)
    assert (inspect_image(early).width, inspect_image(early).height) == (100, 200)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(path)  # pure red ink
    red = _pixel(path, (64, 64), (32, 32))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_alpha_is_flattened_on_black(tmp_path):
    path = tmp_path / "alpha.png"
    image = Image.new("RGBA", (64, 64), (255, 255, 255, 0))
    image.paste((0, 255, 0, 255), (0, 0, 32, 64))
    image.save(path)
    fitted = fit_image(path, (64, 64))
    assert fitted.mode == "RGB"
    assert fitted.getpixel((10, 10)) == (0, 255, 0)
    assert fitted.getpixel((50, 10)) == (0, 0, 0)


@pytest.mark.parametrize("mode", ["P", "LA", "L", "I;16"])
def test_other_modes_become_rgb(tmp_path, mode):
    path = tmp_path / f"{mode.replace(';', '')}.png"
    Image.new("RGB", (40, 40), (200, 200, 200)).convert(mode).save(path)
    assert fit_image(path, (40, 40)).mode == "RGB"


@pytest.mark.parametrize(
    ("fit", "top"),
    [("contain", (0, 0, 0)), ("blur", "backdrop"), ("cover", "picture")],
)
def test_fit_fills_the_frame_by_mode(tmp_path, fit, top):
    path = striped_image(tmp_path / "wide.png", (400, 100), "red")
    fitted = fit_image(path, (200, 200), fit)
    assert fitted.size == (200, 200) and fitted.mode == "RGB"
    assert fitted.getpixel((20, 100))[0] > 200  # the picture in the middle, at full brightness
    red, green, blue = fitted.getpixel((100, 10))  # where contain has its bar
    if top == "backdrop":
        assert 60 < red < 200 and green < red and blue < red  # the picture's colour, blurred and darkened
    elif top == "picture":
        assert red > 200
    else:
        assert (red, green, blue) == top


def test_blurred_backdrop_is_smooth(tmp_path):
    path = striped_image(tmp_path / "tall.png", (100, 400), "navy")
    fitted = fit_image(path, (400, 200), "blur")
    left = [fitted.getpixel((x, 100))[2] for x in range(0, 140, 4)]  # the backdrop left of the picture
    assert max(abs(a - b) for a, b in itertools.pairwise(left)) < 12  # stripes blurred away: no hard edges
    assert min(left) > 20


@pytest.mark.parametrize("size", [(1, 1), (15, 400), (400, 8)])
def test_tiny_images_are_refused(tmp_path, size):
    path = tmp_path / "tiny.png"
    Image.new("RGB", size, "red").save(path)
    with pytest.raises(ImageTooSmallError, match="at least 16 px") as caught:
        inspect_image(path)
    assert "upload_images" in caught.value.next_step


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_files_are_refused(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ImageUnreadableError):
        inspect_image(path)


def test_truncated_jpeg_is_refused_when_decoded(tmp_path):
    path = striped_image(tmp_path / "whole.jpg", (640, 480), "red", quality=90)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageUnreadableError):
        fit_image(path, (320, 240))


def test_huge_jpeg_is_decoded_reduced(tmp_path):
    path = tmp_path / "huge.jpg"
    path.write_bytes(flat_grey_jpeg(20000, 20000))
    assert path.stat().st_size < 6_000_000
    info = inspect_image(path)
    assert (info.width, info.height, info.format) == (20000, 20000, "jpeg")
    target = normalize_image(path, tmp_path / "huge.png", (1920, 1080), "contain")
    with Image.open(target) as still:
        assert still.size == (1920, 1080)
        assert still.getpixel((960, 540)) == (128, 128, 128)
        assert still.getpixel((10, 540)) == (0, 0, 0)  # a square picture in a wide frame: bars
    blurred = fit_image(path, (1920, 1080))
    assert blurred.getpixel((10, 540)) == (70, 70, 70)  # the same grey, darkened


def test_huge_png_is_refused_before_decoding(tmp_path):
    # A PNG header claiming 20000x20000; refused from the header alone.
    def chunk(kind: bytes, data: bytes) -> bytes:
        import zlib

        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(ImageTooLargeError, match="400 megapixels"):
        inspect_image(path)


def test_yuv_still_has_planar_420_layout(tmp_path):
    path = striped_image(tmp_path / "a.png", (64, 32), "blue")
    target = normalize_image(path, tmp_path / "a.yuv", (64, 32))
    data = target.read_bytes()
    assert len(data) == 64 * 32 * 3 // 2
    # Pure blue in BT.601 limited range: Y 41, U 240, V 110 (first pixel is on a white stripe).
    assert (data[20], data[64 * 32 + 5], data[64 * 32 + 32 * 16 + 5]) == (41, 240, 110)


@pytest.mark.parametrize(
    ("frame", "motion", "expected"),
    [((1920, 1080), "static", (1920, 1080)), ((1920, 1080), "kenburns", (2400, 1350)),
     ((1080, 1920), "kenburns", (1350, 2400)), ((1080, 1080), "kenburns", (1350, 1350))],
)  # fmt: skip
def test_still_size(frame, motion, expected):
    size = still_size(frame, motion)
    assert size == expected and size[0] % 2 == 0 and size[1] % 2 == 0


def _quadrants(path: Path, size: tuple[int, int]) -> Path:
    """Red top left, blue top right, green bottom left, white bottom right."""
    width, height = size
    image = Image.new("RGB", size, "white")
    image.paste("red", (0, 0, width // 2, height // 2))
    image.paste("blue", (width // 2, 0, width, height // 2))
    image.paste("green", (0, height // 2, width // 2, height))
    image.save(path, quality=95)
    return path


@pytest.mark.parametrize("fit", ["blur", "contain", "cover", "smart"])
@pytest.mark.parametrize(("name", "size"), [("small.png", (400, 200)), ("big.jpg", (4000, 2000))])  # JPEG: draft
def test_a_crop_window_is_the_part_of_the_photo_shown(tmp_path, fit, name, size):
    path = _quadrants(tmp_path / name, size)
    fitted = fit_image(path, (80, 40), fit, crop=(0.5, 0.0, 1.0, 0.5))  # the top right quarter: blue
    assert fitted.size == (80, 40)
    r, g, b = fitted.getpixel((40, 20))  # type: ignore[misc]
    assert b > 200 and r < 50 and g < 50, (r, g, b)
    if fit != "blur":  # the window has the frame's shape: nothing else of the photo is seen
        colours = fitted.resize((8, 4)).getcolors()
        assert colours is not None and all(c[1][2] > 200 and c[1][0] < 60 for c in colours), colours


def test_a_crop_window_is_of_the_upright_photo(tmp_path):
    # Stored 200x100 (left half red, right half blue), tagged "rotate 90 CW" (6): shown 100x200, red on top.
    image = Image.new("RGB", (200, 100), "red")
    image.paste("blue", (100, 0, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    r, g, b = fit_image(path, (50, 50), "cover", crop=(0.0, 0.5, 1.0, 1.0)).getpixel((25, 25))  # type: ignore[misc]
    assert b > 200 and r < 60, (r, g, b)


def test_auto_fit_follows_the_shape_of_what_is_shown(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 200), "grey").save(path)
    assert chosen_fit(path, (108, 192), None) == "smart"  # 3:2 in 9:16
    assert chosen_fit(path, (108, 192), None, crop=(0.25, 0.0, 0.75, 1.0)) == "blur"  # a 3:4 window of it
    assert chosen_fit(path, (192, 108), None) == "blur" and chosen_fit(path, (108, 192), "cover") == "cover"
