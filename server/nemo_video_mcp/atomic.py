"""Files replaced whole: written under a temp name beside the target, renamed over it on success,
removed on failure, so no reader ever sees half a file.

The temp name is hidden and carries the writer's lease tag (`.<name>.<pid>-<start>.<hex>.part`), so
that a later start can tell a dead writer's leftover from a live one's (`render/leftovers.py`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from nemo_video_mcp.lease import my_lease

PART_SUFFIX = ".part"


def part_path_for(target: Path, *, keep_suffix: bool = False) -> Path:
    """Where `target` is written until it is complete: hidden, beside it, tagged with our lease.

    `keep_suffix` ends the name with the target's own suffix too, for readers that go by it."""
    name = f".{target.name}.{my_lease().tag}.{uuid.uuid4().hex[:8]}{PART_SUFFIX}"
    return target.with_name(name + target.suffix if keep_suffix else name)


@contextlib.contextmanager
def replacing(target: Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temp path beside `target`; when the block succeeds it is renamed over `target` (with
    `mode`, if given), and in every case nothing is left under the temp name."""
    temp = part_path_for(target)
    try:
        yield temp
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
