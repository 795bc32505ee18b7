"""The top-level boxes of an MP4 file, from their 16-byte headers: where the index (`moov`) sits and
whether the last box runs past the end of the file. Read by the export check (`video_probe`) and by the
renderer's own probe (`render/probe`), so both agree on what faststart means."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_BOXES = 4096
"""Top-level boxes read at most (a real MP4 has a handful; a hostile one is not walked for ever)."""
FIRST_BOXES = ("ftyp", "moov", "mdat", "free", "skip", "wide")
"""What an MP4 (or a QuickTime file) may start with."""


@dataclass(frozen=True)
class Box:
    kind: str
    offset: int
    size: int


@dataclass(frozen=True)
class BoxLayout:
    """The top-level boxes in file order, and what is wrong with the layout, if anything."""

    boxes: tuple[Box, ...]
    problem: str | None = None

    @property
    def kinds(self) -> list[str]:
        return [box.kind for box in self.boxes]

    @property
    def has_moov(self) -> bool:
        return "moov" in self.kinds

    @property
    def faststart(self) -> bool:
        """The index comes before the media, so a player starts before the download ends."""
        kinds = self.kinds
        return "moov" in kinds and "mdat" in kinds and kinds.index("moov") < kinds.index("mdat")


def read_boxes(handle: BinaryIO, file_size: int, limit: int = MAX_BOXES) -> BoxLayout:
    """Walk the top-level boxes of an open MP4: 32-bit sizes, 64-bit ones (size 1), to-the-end (size 0).

    Only the headers are read. A box whose size is smaller than its header or runs past the end of the
    file stops the walk with a problem: the file was cut off or is not an MP4."""
    boxes: list[Box] = []
    offset = 0
    while offset < file_size:
        if len(boxes) >= limit:
            return BoxLayout(tuple(boxes), f"more than {limit} top-level boxes")
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            return BoxLayout(tuple(boxes), f"a box header cut off at byte {offset}")
        size, raw_kind = struct.unpack(">I4s", header[:8])
        kind = raw_kind.decode("latin-1")
        if not boxes and kind not in FIRST_BOXES:
            return BoxLayout((), "it does not start like an MP4 file")
        header_size = 8
        if size == 1:
            if len(header) < 16:
                return BoxLayout(tuple(boxes), f"the 64-bit size of box {kind!r} cut off")
            (size,) = struct.unpack(">Q", header[8:16])
            header_size = 16
        elif size == 0:
            size = file_size - offset
        if size < header_size:
            return BoxLayout(tuple(boxes), f"box {kind!r} at byte {offset} has an impossible size ({size})")
        boxes.append(Box(kind, offset, size))
        if offset + size > file_size:
            missing = offset + size - file_size
            return BoxLayout(tuple(boxes), f"the file is cut off ({kind!r} box lacks {missing:,} bytes)")
        offset += size
    return BoxLayout(tuple(boxes))


def box_layout(path: Path) -> BoxLayout:
    with path.open("rb") as handle:
        return read_boxes(handle, path.stat().st_size)
