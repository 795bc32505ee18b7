"""The files a render writes while it runs are named after their owner, so a dead owner's can be removed.

ffmpeg writes `.<output name>.<tag>.<hex>.part` beside the output, and the stills go to a
`nemo-render-<tag>-<random>` folder in the temp directory, where `<tag>` is the server's lease
(`Lease.tag`: pid and start time). A server killed mid-render cannot clean either up;
`remove_stale` (run when the local backend starts) removes those whose owner is gone and never a
live owner's (this process, or another server sharing the cache). Names without a tag, written
before tags existed, are left alone: nothing tells whether their writer still runs.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from nemo_video_mcp.atomic import PART_SUFFIX
from nemo_video_mcp.lease import Lease, my_lease

log = logging.getLogger(__name__)

WORK_DIR_PREFIX = "nemo-render-"
_TAG = r"(?P<tag>\d+-(?:\d+|x))"
_PART = re.compile(rf"\..+\.{_TAG}\.[0-9a-f]{{8}}{re.escape(PART_SUFFIX)}")
_WORK_DIR = re.compile(rf"{re.escape(WORK_DIR_PREFIX)}{_TAG}-[a-z0-9_]+")


def work_dir_prefix() -> str:
    """The `tempfile` prefix of a render's work folder, with our tag."""
    return f"{WORK_DIR_PREFIX}{my_lease().tag}-"


def owner_of(name: str) -> Lease | None:
    """The lease in a `.part` or work folder name; None for any other name (or an untagged one)."""
    match = _PART.fullmatch(name) or _WORK_DIR.fullmatch(name)
    return Lease.from_tag(match["tag"]) if match else None


def remove_stale(output_dir: Path, temp_dir: Path) -> list[Path]:
    """Remove the `.part` files in `output_dir` and the work folders in `temp_dir` of dead owners.

    Only our own user's entries are considered (the temp directory may be shared); what cannot be
    removed is skipped. Returns what was removed.
    """
    removed = [*_remove_dead(output_dir, folders=False), *_remove_dead(temp_dir, folders=True)]
    if removed:
        log.info("removed %d file(s) left by a stopped render: %s", len(removed), ", ".join(p.name for p in removed))
    return removed


def _remove_dead(parent: Path, *, folders: bool) -> list[Path]:
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        owner = owner_of(entry.name)
        try:
            if owner is None or entry.is_dir(follow_symlinks=False) != folders:
                continue
            if uid is not None and entry.stat(follow_symlinks=False).st_uid != uid:
                continue
        except OSError:
            continue
        if owner.is_alive():
            continue
        path = Path(entry.path)
        try:
            if folders:
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError as exc:
            log.debug("could not remove %s: %s", path, exc)
            continue
        removed.append(path)
    return removed
