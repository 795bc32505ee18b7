"""Stills as single-frame YUV4MPEG2 files: what ffmpeg reads with no decoding or conversion, at 1.5 bytes
a pixel (planar yuv420p, limited range, BT.601, as ffmpeg's own conversion)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def write_yuv420p(image: Image.Image, target: Path) -> None:
    """Planar Y, U, V at limited range; chroma averaged over 2x2 blocks. Sides must be even.

    A `.y4m` target gets the YUV4MPEG2 header and frame marker (see `y4m_header`) before the planes.
    """
    if image.width % 2 or image.height % 2:
        raise ValueError(f"yuv420p needs even sides, not {image.width}x{image.height}")
    luma, blue, red = image.convert("YCbCr").split()
    with open(target, "wb") as handle:
        if target.suffix.lower() == ".y4m":
            handle.write(y4m_header(image.size) + Y4M_FRAME)
        handle.write(luma.point(_LUMA_RANGE).tobytes())
        handle.write(blue.reduce(2).point(_CHROMA_RANGE).tobytes())
        handle.write(red.reduce(2).point(_CHROMA_RANGE).tobytes())


Y4M_FRAME = b"FRAME\n"


def y4m_header(size: tuple[int, int], fps: int = 30) -> bytes:
    """A YUV4MPEG2 stream header: progressive yuv420p, chroma centred (as 2x2 averaging puts it), limited range."""
    return f"YUV4MPEG2 W{size[0]} H{size[1]} F{fps}:1 Ip A1:1 C420jpeg XCOLORRANGE=LIMITED\n".encode()


def y4m_mono_header(size: tuple[int, int], fps: int = 30) -> bytes:
    """A YUV4MPEG2 stream header for grey frames at full range (masks: 0 or 255, read as they are)."""
    return f"YUV4MPEG2 W{size[0]} H{size[1]} F{fps}:1 Ip A1:1 Cmono XCOLORRANGE=FULL\n".encode()


def read_y4m_planes(path: Path) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The Y, U and V planes of the first frame of a `.y4m` file written by `write_yuv420p`, as "L" images."""
    data = path.read_bytes()
    header, _, rest = data.partition(b"\n")
    fields = {field[:1]: field[1:] for field in header.split()[1:]}
    width, height = int(fields[b"W"]), int(fields[b"H"])
    if not rest.startswith(Y4M_FRAME):
        raise ValueError(f"{path.name} is not a YUV4MPEG2 file")
    offset, planes = len(Y4M_FRAME), []
    for plane_size in ((width, height), (width // 2, height // 2), (width // 2, height // 2)):
        end = offset + plane_size[0] * plane_size[1]
        planes.append(Image.frombytes("L", plane_size, rest[offset:end]))
        offset = end
    return planes[0], planes[1], planes[2]


_LUMA_RANGE = [round(16 + value * 219 / 255) for value in range(256)]
_CHROMA_RANGE = [round(16 + value * 224 / 255) for value in range(256)]
