"""Still images, read once with Pillow and composed at the frame size ffmpeg will use.

A picture whose shape differs from the frame's is fitted by `fit`: "blur" puts it over a blurred,
darkened copy of itself scaled to cover the frame (made from a small copy: blurring at 1/16 scale and
scaling up costs a few milliseconds), "contain" over black bars, "cover" cropped to fill. It is done
here, once per image, so ffmpeg's work per frame does not depend on it.

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

import os
import re
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin, UnidentifiedImageError

from nemo_video_mcp.errors import MediaFileError
from nemo_video_mcp.render.crop import needs_smart_fit, smart_crop
from nemo_video_mcp.render.y4m import write_yuv420p

Window = tuple[float, float, float, float]
"""A part of a photo: left, top, right, bottom as fractions 0-1 of it upright (a plan's `crop`)."""

if TYPE_CHECKING:  # the plan module (pydantic) is not needed to make pictures, e.g. in `prepare_worker`
    from nemo_video_mcp.render.plan import Fit

MIN_SIDE = 16
MAX_PIXELS = 64_000_000
MAX_JPEG_PIXELS = 1_000_000_000
KENBURNS_MARGIN = 1.25
"""Ken burns stills are this much larger than the frame, so zooming in never upscales."""
BACKDROP_SCALE = 16
"""The blurred backdrop is made at 1/this of the frame size, then scaled up."""
BACKDROP_BLUR = 2.5
"""Gaussian blur radius in backdrop pixels (times BACKDROP_SCALE in frame pixels)."""
BACKDROP_BRIGHTNESS = 0.55
"""The backdrop is darkened so the picture in front stands out."""

_ROTATED = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# We apply our own pixel limits (above), so Pillow's warning would only be noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageUnreadableError(MediaFileError):
    """An image cannot be decoded. With `name`, it is an uploaded image (kept in the cache under its
    content hash) found damaged at render time, named as the user knows it."""

    code = 4001

    def __init__(self, path: Path, detail: str, *, name: str | None = None) -> None:
        if name is None:
            message = f"{path.name} could not be read as an image ({detail})."
            step = (
                "Check that the file is a complete JPEG, PNG, GIF or WebP (re-export it if needed), "
                "then call upload_images again."
            )
        else:
            message = (
                f"The uploaded image {name} can no longer be read ({detail}), so every render that uses it "
                "fails the same way."
            )
            step = (
                f"Re-export {name} from the original (or take another copy of it), call upload_images with the "
                "new file, then generate_video and export_video."
            )
        super().__init__(message, step)
        self.detail = detail


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


def chosen_fit(source: Path, size: tuple[int, int], fit: Fit | None, crop: Window | None = None) -> Fit:
    """`fit` if one was asked for, else what the photo's shown shape (its `crop` window's) calls for in
    a frame of `size`: smart when it is far from the frame's (`crop.needs_smart_fit`), else blur."""
    if fit is not None:
        return fit
    info = inspect_image(source)
    left, top, right, bottom = crop or (0.0, 0.0, 1.0, 1.0)
    shown = (max(1, round(info.width * (right - left))), max(1, round(info.height * (bottom - top))))
    return "smart" if needs_smart_fit(shown, size) else "blur"


def still_size(frame: tuple[int, int], motion: str) -> tuple[int, int]:
    """The size of the normalized still: the frame, or the frame with a ken burns margin (even sides)."""
    if motion != "kenburns":
        return frame
    return tuple(2 * round(side * KENBURNS_MARGIN / 2) for side in frame)  # type: ignore[return-value]


def normalize_image(
    source: Path,
    target: Path,
    size: tuple[int, int],
    fit: Fit = "blur",
    *,
    name: str | None = None,
    crop: Window | None = None,
) -> Path:
    """Write `source` (its `crop` window, when one is given) fitted into exactly `size` (see `fit_image`)
    at `target`.

    A `.y4m` (or headerless `.yuv`) target gets one yuv420p frame (limited range, BT.601, as ffmpeg's
    own conversion): ffmpeg reads it without decoding or converting, and holds only 1.5 bytes a pixel
    per image. Any other suffix is saved by Pillow in that format (e.g. `.png` for a preview).
    `name` is the uploaded file's own name, for the error if `source` (its copy) cannot be decoded.
    """
    try:
        image = fit_image(source, size, fit, crop)
    except ImageUnreadableError as exc:
        if name is None:
            raise
        raise ImageUnreadableError(source, exc.detail, name=name) from exc
    if target.suffix.lower() in (".y4m", ".yuv"):
        write_yuv420p(image, target)
    else:
        image.save(target)
    return target


def fit_image(source: Path, size: tuple[int, int], fit: Fit = "blur", crop: Window | None = None) -> Image.Image:
    """`source` upright, in RGB, exactly `size`: over a blurred copy of itself, on black, or cropped to fill.

    `crop` (left, top, right, bottom as fractions 0-1 of the upright photo) is the part of it to show: the
    photo is cut to that window first, and the window is what is fitted."""
    left, top, right, bottom = crop or (0.0, 0.0, 1.0, 1.0)
    with open_image(source) as image:
        full_w, full_h = _shown_size(image)
        shown_w, shown_h = max(1, round(full_w * (right - left))), max(1, round(full_h * (bottom - top)))
        fits = (max if fit in ("cover", "smart") else min)(size[0] / shown_w, size[1] / shown_h)
        scaled = (max(1, round(shown_w * fits)), max(1, round(shown_h * fits)))
        if image.format == "JPEG" and fits < 1:
            stored = image.size
            whole = (round(full_w * fits), round(full_h * fits))  # the whole photo at the window's scale
            wanted = whole[::-1] if _orientation(image) in _ROTATED else whole
            image.draft(None, (min(stored[0], wanted[0]), min(stored[1], wanted[1])))
        try:
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            rgb = _to_rgb(image)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageUnreadableError(source, str(exc) or type(exc).__name__) from exc
        if crop:
            width, height = rgb.size
            x0, y0 = round(left * width), round(top * height)
            rgb = rgb.crop((x0, y0, max(round(right * width), x0 + 1), max(round(bottom * height), y0 + 1)))
        if fit in ("cover", "smart"):
            box = smart_crop(rgb, size).box if fit == "smart" else _centred_box(rgb.size, size)
            return rgb.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=2.0)
        if rgb.size != scaled:
            rgb = rgb.resize(scaled, Image.Resampling.LANCZOS, reducing_gap=2.0)
        elif rgb is image:
            rgb = rgb.copy()  # the opened image is closed on leaving this block
    if scaled == size:
        return rgb
    canvas = _backdrop(rgb, size) if fit == "blur" else Image.new("RGB", size)
    canvas.paste(rgb, ((size[0] - scaled[0]) // 2, (size[1] - scaled[1]) // 2))
    return canvas


def _backdrop(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`picture` cropped to the frame's shape, blurred and darkened at a small size, scaled up to `size`."""
    small = (max(1, size[0] // BACKDROP_SCALE), max(1, size[1] // BACKDROP_SCALE))
    backdrop = picture.resize(small, Image.Resampling.BILINEAR, box=_centred_box(picture.size, size), reducing_gap=2.0)
    backdrop = backdrop.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR))
    backdrop = backdrop.point(lambda value: value * BACKDROP_BRIGHTNESS)
    return backdrop.resize(size, Image.Resampling.BICUBIC)


def _centred_box(have: tuple[int, int], shape: tuple[int, int]) -> tuple[float, float, float, float]:
    """The largest box of `shape`'s aspect ratio centred in an image of size `have`."""
    width, height = have
    if width * shape[1] > height * shape[0]:
        inner = height * shape[0] / shape[1]
        return ((width - inner) / 2, 0.0, (width + inner) / 2, float(height))
    inner = width * shape[1] / shape[0]
    return (0.0, (height - inner) / 2, float(width), (height + inner) / 2)


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """Open `path` lazily, enforcing our size limits instead of Pillow's decompression-bomb guard."""
    try:
        image: Image.Image = Image.open(path)
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
        if image.format == "PNG" and "exif" not in image.info:
            return _late_png_orientation(image)
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except (OSError, ValueError, TypeError, struct.error):
        return 1


def _late_png_orientation(image: Image.Image) -> int:
    """The orientation in an eXIf chunk after the pixels (older writers put it there), or 1.

    Found by reading chunk headers and seeking past their data: Pillow's `getexif()` decodes the whole
    image to look there (90-340 ms and +23 MB in the server process for a photo-sized PNG).
    """
    filename = getattr(image, "filename", None)
    if not filename:
        return 1
    with open(filename, "rb") as handle:
        if handle.read(8) != _PNG_SIGNATURE:
            return 1
        while len(header := handle.read(8)) == 8:
            length, kind = struct.unpack(">I4s", header)
            if kind == b"eXIf":
                exif = Image.Exif()
                exif.load(handle.read(length))
                return int(exif.get(_ORIENTATION_TAG, 1))
            if kind == b"IEND":
                break
            handle.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
    return 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat
