"""Smart framing: the crop window of a photo that keeps its subject, chosen from the image itself.

When a photo's shape is far from the frame's (`needs_smart_fit`: a 3:2 landscape in a 9:16 frame shows
as a band 38 % of the frame high), a person crops it, keeping what the photo is of. The subject is
found from an energy map of a small copy (Pillow only, 128 px: 10 ms for 1 MP, 90 ms for 24 MP): edges,
colour distance from the photo's mean colour (what stands out) and saturation (people, flowers, signs
stand out from sky, sand and walls). The frame-shaped window is slid along the photo's long side to the
place holding the most energy; on a flat photo it stays centred. numpy would do the same sums faster,
but on 128 px there is nothing to speed up.

The window's subject point (`SmartCrop.subject`, the energy centroid inside it) lets ken burns zoom
toward the subject instead of the centre (`kenburns_window`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageChops, ImageFilter, ImageStat

from nemo_video_mcp.render.y4m import read_y4m_planes

if TYPE_CHECKING:
    from nemo_video_mcp.models import Fit
    from nemo_video_mcp.render.plan import EditPlan

SMART_RATIO = 1.6
"""A photo whose aspect ratio differs from the frame's by more than this factor (either way) is cropped
smartly by default: a landscape photo in a vertical frame (3:2 in 9:16: 2.7) or the reverse, not a 3:2
photo in a 16:9 or square frame (1.2, 1.5), which a blurred backdrop fills well."""
ANALYSIS_SIDE = 128
"""The energy map is made on a copy at most this many pixels on its longer side."""
CENTRE_MARGIN = 1.05
"""The window leaves the centre only for a place with at least this much more energy."""
WEIGHTS = (0.45, 0.35, 0.2)
"""Edges, colour distance, saturation."""


@dataclass(frozen=True)
class SmartCrop:
    """A crop window in the photo's pixels (left, top, right, bottom) and its subject point (fractions of
    the window, 0-1 from its left and top)."""

    box: tuple[float, float, float, float]
    subject: tuple[float, float]

    def fractions(self, size: tuple[int, int]) -> tuple[float, float, float, float]:
        """The window as fractions 0-1 of a photo of `size` (the plan's `crop` form)."""
        left, top, right, bottom = self.box
        return (left / size[0], top / size[1], right / size[0], bottom / size[1])


def needs_smart_fit(photo: tuple[int, int], frame: tuple[int, int]) -> bool:
    """Whether the photo's shape is far enough from the frame's to be cropped to its subject by default."""
    ratio = (photo[0] / photo[1]) / (frame[0] / frame[1])
    return max(ratio, 1 / ratio) > SMART_RATIO


def fits_for(plan: EditPlan, photos: Sequence[tuple[int, int] | None]) -> list[Fit]:
    """The fit each photo of the timeline is drawn with, given its shown size (`photos[slot]`, None when
    unknown): the one asked for (the photo's, else the plan's), else smart when its shape is far from the
    frame's (`needs_smart_fit`), else blur."""
    return [
        plan.fit_of(image, "smart" if photo and needs_smart_fit(photo, plan.size) else "blur")
        for image, photo in zip(plan.images, photos, strict=True)
    ]


def energy_map(image: Image.Image) -> Image.Image:
    """Where the photo's subject is likely to be, as an "L" image at most `ANALYSIS_SIDE` px."""
    scale = min(1.0, ANALYSIS_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # scaled down first, converted after: a full-size RGB copy of a 24 MP photo would be 72 MB
    small = image.resize(size, Image.Resampling.BOX).convert("RGB")
    grey = small.convert("L")
    edges = Image.new("L", small.size, 0)  # the filter sees an edge all round the border: left out
    edges.paste(grey.filter(ImageFilter.FIND_EDGES).crop((1, 1, small.width - 1, small.height - 1)), (1, 1))
    mean = tuple(round(value) for value in ImageStat.Stat(small).mean)
    distance = ImageChops.difference(small, Image.new("RGB", small.size, mean)).convert("L")
    saturation = small.convert("HSV").getchannel("S")
    energy = Image.new("L", small.size, 0)
    for layer, weight in zip((edges, distance, saturation), WEIGHTS, strict=True):
        energy = ImageChops.add(energy, layer.point(lambda value, w=weight: value * w))
    energy = energy.filter(ImageFilter.GaussianBlur(max(1.0, max(small.size) / 40)))
    floor = ImageStat.Stat(energy).mean[0]  # what does not stand out from the photo's usual level counts nothing
    return energy.point(lambda value: max(0.0, value - floor) * 2)


def smart_crop(image: Image.Image, shape: tuple[int, int]) -> SmartCrop:
    """The largest window of `shape`'s aspect ratio in `image` that holds the most of its subject."""
    width, height = image.size
    energy = energy_map(image)
    x_scale, y_scale = energy.width / width, energy.height / height
    if width * shape[1] > height * shape[0]:  # wider than the frame: slide the window sideways
        inner = height * shape[0] / shape[1]
        left = _best_start(_profile(energy, horizontal=True), inner * x_scale) / x_scale
        box = (left, 0.0, left + inner, float(height))
    else:
        inner = width * shape[1] / shape[0]
        top = _best_start(_profile(energy, horizontal=False), inner * y_scale) / y_scale
        box = (0.0, top, float(width), top + inner)
    left, top, right, bottom = box
    return SmartCrop(box, _centroid(energy, (left * x_scale, top * y_scale, right * x_scale, bottom * y_scale)))


def _profile(energy: Image.Image, *, horizontal: bool) -> list[float]:
    """Mean energy of each column (`horizontal`) or row."""
    size = (energy.width, 1) if horizontal else (1, energy.height)
    return [float(value) for value in energy.resize(size, Image.Resampling.BOX).tobytes()]


def _best_start(profile: list[float], window: float) -> float:
    """Where a window `window` samples long starts to hold the most of `profile` (fractional samples);
    the centre unless another place holds `CENTRE_MARGIN` times more."""
    span = max(1, min(len(profile), round(window)))
    sums = [sum(profile[:span])]
    for start in range(1, len(profile) - span + 1):
        sums.append(sums[-1] - profile[start - 1] + profile[start + span - 1])
    centre = (len(profile) - span) // 2
    best = max(range(len(sums)), key=lambda start: (sums[start], -abs(start - centre)))
    if sums[best] < sums[centre] * CENTRE_MARGIN:
        best = centre
    return min(max(0.0, best * (len(profile) - window) / max(1, len(profile) - span)), len(profile) - window)


def _centroid(energy: Image.Image, box: tuple[float, float, float, float]) -> tuple[float, float]:
    """The energy's centre of mass inside `box` (map pixels), as fractions of the box."""
    left, top, right, bottom = (round(value) for value in box)
    part = energy.crop((left, top, max(right, left + 1), max(bottom, top + 1)))
    columns, rows = _profile(part, horizontal=True), _profile(part, horizontal=False)
    return (_mean_position(columns), _mean_position(rows))


def _mean_position(profile: list[float]) -> float:
    total = sum(profile)
    if total <= 0:
        return 0.5
    return sum((i + 0.5) * value for i, value in enumerate(profile)) / total / len(profile)


def kenburns_window(progress: float, subject: tuple[float, float], zoom: float) -> tuple[float, float, float]:
    """The part of the still shown at `progress` (0-1) of a zoom from the whole still in toward
    `subject`: its centre (fractions of the still) and its width (a fraction). The same path as the
    zoompan expressions `graph` writes (`kenburns_toward`)."""
    shown = 1 / (1 + zoom * progress)
    centre = []
    for point in subject:
        wanted = 0.5 + (point - 0.5) * progress
        centre.append(min(max(wanted, shown / 2), 1 - shown / 2))
    return centre[0], centre[1], shown


def subject_of(image: Image.Image) -> tuple[float, float]:
    """The subject point of a whole picture (e.g. a still already cropped to its window), as fractions."""
    energy = energy_map(image)
    return _centroid(energy, (0.0, 0.0, float(energy.width), float(energy.height)))


def subject_of_still(path: Path) -> tuple[float, float]:
    """The subject point of a prepared `.y4m` still, read at a quarter of its size (planes, no decoding)."""
    luma, blue, red = read_y4m_planes(path)
    small = (max(1, blue.width // 2), max(1, blue.height // 2))
    planes = [plane.resize(small, Image.Resampling.BOX) for plane in (luma, blue, red)]
    return subject_of(Image.merge("YCbCr", planes).convert("RGB"))
