"""Keep the file: put a finished video where the user asked, checked, never over a different file.

The video is fetched (or copied, offline) to a hidden temp name beside the target, checked — not
empty, an MP4 (`ftyp` box), a duration the bundled ffmpeg can read — and only then renamed into
place. A different file already under the name is never replaced: the video gets the next free
name, and the result says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nemo_video_mcp.atomic import part_path_for
from nemo_video_mcp.backends.base import Backend
from nemo_video_mcp.errors import InputError, NemoError
from nemo_video_mcp.paths import file_sha256

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")


class SavedVideoInvalidError(NemoError):
    code = "saved_video_invalid"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The downloaded video failed its check ({what}), so it was not saved.",
            "Call export_video with save_to again in a minute; if it repeats, use the URL in get_job instead.",
        )


@dataclass(frozen=True)
class SavedVideo:
    path: Path
    duration_s: float
    size_bytes: int
    note: str | None = None


def target_for(save_to: str, default_dir: Path, job_id: str) -> Path:
    """A folder (existing, written with a trailing slash, or a name without extension) gets `<job_id>.mp4`;
    a name with a video extension is the file itself.

    A relative path is taken inside `default_dir`.
    """
    text = save_to.strip()
    if not text:
        return default_dir / f"{job_id}.mp4"
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = default_dir / path
    if text.endswith(("/", "\\")) or path.is_dir() or not path.suffix:  # no extension: a folder to make
        return path / f"{job_id}.mp4"
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(
            f"save_to {save_to!r} names a file that is not a video ({path.suffix or 'no extension'}).",
            "Give a folder, or a file name ending in .mp4.",
        )
    return path


class OutsideAllowedSaveError(InputError):
    code = "outside_allowed_dirs"

    def __init__(self, target: Path, allowed: Sequence[Path]) -> None:
        folders = ", ".join(str(folder) for folder in allowed)
        super().__init__(
            f"save_to {target} is outside the folders this server may use (NEMO_ALLOWED_DIRS: {folders}).",
            f"Give save_to a folder inside one of {folders}, or leave it out.",
        )


def check_save_place(target: Path, allowed_dirs: Sequence[Path]) -> None:
    """With NEMO_ALLOWED_DIRS set, the copy may only go inside one of them (symlinks and `..` resolved)."""
    if not allowed_dirs:
        return
    real = Path(os.path.realpath(target.absolute()))
    if not any(real == folder or real.is_relative_to(folder) for folder in allowed_dirs):
        raise OutsideAllowedSaveError(target, allowed_dirs)


def check_writable_folder(folder: Path) -> None:
    """Refuse, before any work, a folder that cannot be made or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"The folder {folder} cannot be created ({exc.strerror}).",
            "Give save_to a folder you can write to, or leave it out.",
        ) from None
    if not os.access(folder, os.W_OK):
        raise InputError(f"The folder {folder} is not writable.", "Give save_to a folder you can write to.")


async def save_video(
    backend: Backend, job_id: str, url: str | None, target: Path, *, local_file: Path | None = None
) -> SavedVideo:
    """Put the video of `job_id` at `target` (or the next free name), checked; never half-written.

    A copy already on this machine (`local_file`) is copied; otherwise the backend fetches it (its URL
    first, then its own fallback).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = part_path_for(target, keep_suffix=True)
    try:
        if local_file is not None and local_file.is_file():
            await asyncio.to_thread(shutil.copyfile, local_file, temp)
        else:
            await backend.download_render(job_id, url, temp)
        duration = await asyncio.to_thread(_check_video, temp)
        final, note = await asyncio.to_thread(_place, temp, target)
        return SavedVideo(path=final, duration_s=duration, size_bytes=final.stat().st_size, note=note)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _check_video(path: Path) -> float:
    size = path.stat().st_size
    if size == 0:
        raise SavedVideoInvalidError("the file is empty")
    with path.open("rb") as handle:
        head = handle.read(12)
    if head[4:8] != b"ftyp":
        raise SavedVideoInvalidError("it is not an MP4 file")
    from nemo_video_mcp.render.probe import probe_video
    from nemo_video_mcp.render.runner import FfmpegError

    try:
        info = probe_video(path)
    except FfmpegError as exc:
        raise SavedVideoInvalidError("ffmpeg cannot read it") from exc
    if info.duration_s <= 0:
        raise SavedVideoInvalidError("it has no duration")
    return info.duration_s


def _place(temp: Path, target: Path) -> tuple[Path, str | None]:
    """Rename `temp` to `target`, or to `name (2).mp4`, … when a different file holds the name."""
    candidate = target
    for number in range(2, 1000):
        if not candidate.exists():
            temp.replace(candidate)
            return candidate, None if candidate == target else f"{target.name} held a different file, kept as is"
        if _same_content(candidate, temp):
            return candidate, f"{candidate.name} was already there with the same video"
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
    raise InputError(f"Too many files named like {target.name}.", "Give save_to a new file name.")


def _same_content(one: Path, two: Path) -> bool:
    if one.stat().st_size != two.stat().st_size:
        return False
    return file_sha256(one) == file_sha256(two)
