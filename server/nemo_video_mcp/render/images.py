"""Still images, read once with Pillow and written at the frame size ffmpeg will use.

Policy for awkward inputs:
- EXIF orientation is applied; CMYK, palette, grey and 16-bit images become RGB; transparency is
  flattened on black.
- Images under 16 px on a side are refused (`ImageTooSmallError`): blown up to a frame they are one
  flat colour, which is never what the user meant.
- Huge images: a JPEG is decoded at 1/2..1/8 scale straight from the DCT (`Image.draft`), so a
  20000x20000 JPEG costs about what a 2500x2500 one does; JPEGs up to 1 gigapixel are accepted.
  Other formats must be decoded whole, so they are refused above 64 megapixels (`ImageTooLargeError`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from nemo_video_mcp.errors import MediaFileError

MIN_SIDE = 16
MAX_PIXELS = 64_000_000
MAX_JPEG_PIXELS = 1_000_000_000
KENBURNS_MARGIN = 1.25
"""Ken burns stills are this much larger than the frame, so zooming in never upscales."""

_ROTATED = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112

# We apply our own pixel limits (above), so Pillow's warning would only be noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageUnreadableError(MediaFileError):
    code = 4001

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            f"{path.name} could not be read as an image ({detail}).",
            "Check that the file is a complete JPEG, PNG, GIF or WebP (re-export it if needed), "
            "then call upload_images again.",
        )


class ImageTooSmallError(MediaFileError):
    code = 4001

    def __init__(self, path: Path, size: tuple[int, int]) -> None:
        super().__init__(
            f"{path.name} is only {size[0]}x{size[1]} px; images need at least {MIN_SIDE} px on each side.",
            "Use a larger version of the image, then call upload_images again.",
        )


class ImageTooLargeError(MediaFileError):
    code = 4002

    def __init__(self, path: Path, pixels: int | None, limit: int) -> None:
        size = f"{pixels / 1_000_000:.0f} megapixels" if pixels else "too many pixels"
        super().__init__(
            f"{path.name} has {size}, above the {limit // 1_000_000} megapixel limit for this format.",
            "Resize the image (or save it as JPEG, which is accepted up to 1000 megapixels), "
            "then call upload_images again.",
        )


@dataclass(frozen=True)
class ImageInfo:
    """An image as it will be shown: size after EXIF orientation."""

    width: int
    height: int
    format: str


def inspect_image(path: Path) -> ImageInfo:
    """Check that `path` is an image we can use, reading only its header."""
    with open_image(path) as image:
        return ImageInfo(*_shown_size(image), format=(image.format or "").lower())


def still_size(frame: tuple[int, int], motion: str) -> tuple[int, int]:
    """The size of the normalized still: the frame, or the frame with a ken burns margin (even sides)."""
    if motion != "kenburns":
        return frame
    return tuple(2 * round(side * KENBURNS_MARGIN / 2) for side in frame)  # type: ignore[return-value]


def normalize_image(source: Path, target: Path, size: tuple[int, int]) -> Path:
    """Write `source` fitted into exactly `size` (aspect kept, black bars) at `target`.

    A `.yuv` target gets raw yuv420p (limited range, BT.601, as ffmpeg's own conversion): ffmpeg
    reads it without decoding or converting, and holds only 1.5 bytes a pixel per image. Any
    other suffix is saved by Pillow in that format (e.g. `.png` for a preview).
    """
    image = fit_image(source, size)
    if target.suffix.lower() == ".yuv":
        write_yuv420p(image, target)
    else:
        image.save(target)
    return target


def fit_image(source: Path, size: tuple[int, int]) -> Image.Image:
    """`source` upright, in RGB, scaled to fit `size` and centred on black."""
    with open_image(source) as image:
        shown_w, shown_h = _shown_size(image)
        scale = min(size[0] / shown_w, size[1] / shown_h)
        fitted = (max(1, round(shown_w * scale)), max(1, round(shown_h * scale)))
        if image.format == "JPEG" and scale < 1:
            stored = image.size
            wanted = fitted[::-1] if _orientation(image) in _ROTATED else fitted
            image.draft(None, (min(stored[0], wanted[0]), min(stored[1], wanted[1])))  # type: ignore[arg-type]
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
            rgb = _to_rgb(upright)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageUnreadableError(source, str(exc) or type(exc).__name__) from exc
    if rgb.size != fitted:
        rgb = rgb.resize(fitted, Image.Resampling.LANCZOS, reducing_gap=2.0)
    if fitted != size:
        canvas = Image.new("RGB", size)
        canvas.paste(rgb, ((size[0] - fitted[0]) // 2, (size[1] - fitted[1]) // 2))
        rgb = canvas
    return rgb


def write_yuv420p(image: Image.Image, target: Path) -> None:
    """Planar Y, U, V at limited range; chroma averaged over 2x2 blocks. Sides must be even."""
    if image.width % 2 or image.height % 2:
        raise ValueError(f"yuv420p needs even sides, not {image.width}x{image.height}")
    luma, blue, red = image.convert("YCbCr").split()
    with open(target, "wb") as handle:
        handle.write(luma.point(_LUMA_RANGE).tobytes())
        handle.write(blue.reduce(2).point(_CHROMA_RANGE).tobytes())
        handle.write(red.reduce(2).point(_CHROMA_RANGE).tobytes())


_LUMA_RANGE = [round(16 + value * 219 / 255) for value in range(256)]
_CHROMA_RANGE = [round(16 + value * 224 / 255) for value in range(256)]


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """Open `path` lazily, enforcing our size limits instead of Pillow's decompression-bomb guard."""
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as exc:
        image = _open_big_jpeg(path, exc)
    except FileNotFoundError as exc:
        raise ImageUnreadableError(path, "file not found") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadableError(path, "not a known image format or damaged") from exc
    try:
        width, height = image.size
        if min(width, height) < MIN_SIDE:
            raise ImageTooSmallError(path, image.size)
        limit = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PIXELS
        if width * height > limit:
            raise ImageTooLargeError(path, width * height, limit)
        yield image
    finally:
        image.close()


def _open_big_jpeg(path: Path, guard: Image.DecompressionBombError) -> Image.Image:
    """Open a JPEG past Pillow's pixel guard: we decode it reduced, so its full size never lands in memory."""
    with open(path, "rb") as handle:
        is_jpeg = handle.read(3) == b"\xff\xd8\xff"
    if not is_jpeg:
        pixels = re.search(r"\((\d+) pixels\)", str(guard))
        raise ImageTooLargeError(path, int(pixels.group(1)) if pixels else None, MAX_PIXELS) from guard
    try:
        return JpegImagePlugin.JpegImageFile(str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadableError(path, "damaged JPEG") from exc


def _shown_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    return (height, width) if _orientation(image) in _ROTATED else (width, height)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except (OSError, ValueError, TypeError):
        return 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat
