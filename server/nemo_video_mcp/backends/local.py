"""The local backend: a project kept in the cache, rendered on this machine with the bundled ffmpeg.

Uploads are copied into the store by content hash, so moving or deleting an original does not break
the project. An edit turns the instruction into a plan and saves it as a short-key draft; a render
reads the draft back. Render jobs are persisted with their owner's lease; a job whose owner stopped
or died is restarted under the same id on the next poll (rendering locally is free, so re-running is
the honest way to finish it), while a job another live server owns is only reported. ffmpeg and the
preparing helper die with the server (`render.children`), and what a dead server's render left on
disk is removed when the next backend starts (`render.leftovers`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from nemo_video_mcp.backends.base import RenderNotFoundError
from nemo_video_mcp.budget import outside_any_call
from nemo_video_mcp.config import BackendName, Settings
from nemo_video_mcp.errors import InputError, MediaFileError, NemoError, NothingToExportError
from nemo_video_mcp.lease import Lease, my_lease
from nemo_video_mcp.media import check_music_file
from nemo_video_mcp.models import (
    Credits,
    EditEvent,
    EditOptions,
    Fit,
    MediaFile,
    ProgressEvent,
    ProjectLink,
    ProjectState,
    RenderState,
    RenderStatus,
    TextEvent,
    UploadedFile,
)
from nemo_video_mcp.paths import file_sha256, file_url, path_of_file_url
from nemo_video_mcp.render import children
from nemo_video_mcp.render.changes import (
    MusicFile,
    ParsedEdit,
    add_new_photos,
    apply_changes,
    describe_edit,
    parse_edit,
)
from nemo_video_mcp.render.crop import fits_for
from nemo_video_mcp.render.images import inspect_image
from nemo_video_mcp.render.leftovers import remove_stale
from nemo_video_mcp.render.plan import EditPlan, PlanError, default_plan, describe_plan, plan_from_draft
from nemo_video_mcp.render.slideshow import render_slideshow
from nemo_video_mcp.running_jobs import stop_task
from nemo_video_mcp.store import Store, atomic_copy_file

log = logging.getLogger(__name__)

_PROJECT = "project"
_RUNNING: tuple[RenderState, ...] = ("starting", "pending", "processing")
_JOB_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_EXAMPLES = (
    "for example: 'make it square', '15 seconds', 'wipe transitions', 'titled \"Alps\"', "
    "'caption the second photo \"Day 1\"', 'music at 35%', 'remove photo 3', 'black and white', 'start over'."
)
"""Told when an instruction asked for nothing the engine knows, so the agent can rephrase."""
_SAVE_EVERY = 10
"""Persist a running job's progress every this many percent (polls read the in-memory value)."""


class LocalBackend:
    """Implements `Backend` with no network: the plan, the draft and the render all stay on this machine."""

    name: BackendName = "local"
    edit_recovery_delays_s: tuple[float, ...] = (0.0,)
    """A local edit is saved whole or not at all: one look at the draft tells whether it landed."""
    poll_interval = 0.5
    max_render_wait = 600.0

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store.profile("local")
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, RenderStatus] = {}
        self._cancel_requested: set[str] = set()
        self._job_writes: dict[str, asyncio.Lock] = {}  # a job's file is written in order, off the event loop
        self._ended: set[str] = set()
        self._progress_saves: set[asyncio.Task[None]] = set()
        self._render_slot: asyncio.Semaphore | None = None
        self._work_dir = Path(tempfile.gettempdir())
        remove_stale(settings.output_dir, self._work_dir)

    # --- Project -------------------------------------------------------------------------------

    async def session_id(self) -> str:
        return (await asyncio.to_thread(self._project))["project_id"]

    def _project(self) -> dict[str, Any]:
        with self._store.locked():
            project = self._store.read(_PROJECT) or {}
            if not isinstance(project.get("project_id"), str):
                project = {"project_id": f"local_{uuid.uuid4().hex[:16]}", "files": [], "draft": {}}
                self._store.write(_PROJECT, project)
            return project

    def _save_project(self, **changes: Any) -> None:
        with self._store.locked():
            project = self._store.read(_PROJECT) or {}
            project.update(changes)
            self._store.write(_PROJECT, project)

    async def upload(self, files: Sequence[MediaFile], urls: Sequence[str]) -> list[UploadedFile]:
        if urls:
            raise InputError(
                "The local backend works offline and cannot fetch URLs.",
                "Download the file(s) and pass their local paths to upload_images, or set NEMO_BACKEND=cloud.",
            )
        for media in files:
            if media.kind == "video":
                raise MediaFileError(
                    f"{media.path.name} is a video; the local engine makes videos from still images only.",
                    "Upload still images (jpg, png, webp, gif), or set NEMO_BACKEND=cloud to edit video clips.",
                )
        uploaded = [await asyncio.to_thread(self._store_file, media) for media in files]
        records = (await asyncio.to_thread(self._project)).get("files", [])
        known = {record.get("content_hash") for record in records}
        for record in uploaded:
            if record["content_hash"] not in known:
                records.append(record)
                known.add(record["content_hash"])
        await asyncio.to_thread(self._save_project, files=records)
        return [_uploaded(record) for record in uploaded]

    def uploads(self) -> list[UploadedFile]:
        """The project's files, as its record on this machine holds them."""
        return [_uploaded(record) for record in self._project().get("files", [])]

    def _store_file(self, media: MediaFile) -> dict[str, Any]:
        """Check the file, copy it into the blob directory under its sha256, describe it."""
        width = height = None
        if media.kind == "image":
            info = inspect_image(media.path)
            width, height = info.width, info.height
        digest = file_sha256(media.path)
        blob_dir = self._store.blob_dir()
        blob = blob_dir / f"{digest}{media.path.suffix.lower()}"
        if not blob.exists():
            atomic_copy_file(media.path, blob)
        return {
            "source": str(media.path),
            "filename": media.path.name,
            "file_type": media.kind,
            "blob": str(blob),
            "url": file_url(blob),
            "size_bytes": media.size_bytes,
            "width": width,
            "height": height,
            "content_hash": digest,
        }

    async def edit(self, instruction: str, options: EditOptions) -> AsyncIterator[EditEvent]:
        """Apply the instruction to the timeline that exists (a first one, or `start over`, builds it).

        The reply says what changed and what was kept, or, for a new timeline, the whole plan.
        """
        yield ProgressEvent(percent=0, message="Reading the instruction")
        project = await asyncio.to_thread(self._project)
        files = project.get("files", [])
        images = [record for record in files if record.get("file_type") == "image"]
        if not images:
            raise InputError(
                "No images have been uploaded to the local project yet.",
                "Call upload_images with image paths, then generate_video.",
            )
        edit = parse_edit(instruction, options)
        music = await self._music_for(edit, options, files)
        paths, names = [record["blob"] for record in images], [record["filename"] for record in images]
        current = None if edit.starts_over else _current_plan(project.get("draft") or {}, paths, names)
        if current is None:
            applied = apply_changes(default_plan(len(images)), edit, music=music)
            plan = applied.plan.with_images(paths, names)
            reply = " ".join([describe_plan(plan, _fits(plan, images)), *applied.notes])
        else:
            applied = apply_changes(add_new_photos(current, len(images)), edit, music=music)
            plan = applied.plan.with_images(paths, names)
            reply = describe_edit(current, plan, applied.notes, _fits(plan, images))
            if not edit.changes and not edit.unknown_wishes:
                reply += f" No edit the offline engine knows was found in {instruction.strip()!r}; {_EXAMPLES}"
        yield ProgressEvent(percent=60, message="Plan ready; saving the draft")
        await asyncio.to_thread(self._save_project, draft=plan.to_draft())
        yield ProgressEvent(percent=100, message="Draft saved")
        yield TextEvent(text=reply)

    async def _music_for(self, edit: ParsedEdit, options: EditOptions, files: list[dict[str, Any]]) -> MusicFile | None:
        """`options.music_path` (checked like an upload, then copied into the store), else the last
        uploaded audio if the edit asks for music."""
        if options.music_path:
            media = await asyncio.to_thread(check_music_file, options.music_path, self._settings.allowed_dirs)
            record = await asyncio.to_thread(self._store_file, media)
            return MusicFile(path=record["blob"], name=record["filename"])
        audio = [record for record in files if record.get("file_type") == "audio"]
        if audio and edit.wants_music:
            return MusicFile(path=str(audio[-1]["blob"]), name=str(audio[-1].get("filename") or "music"))
        return None

    async def get_state(self) -> ProjectState:
        project = await asyncio.to_thread(self._project)
        files = [record.get("filename") for record in project.get("files", [])]
        extra = {"engine": "local", "files": files}
        return ProjectState(session_id=project["project_id"], draft=project.get("draft") or {}, extra=extra)

    async def get_credits(self) -> Credits:
        return Credits(available=0, frozen=0, total=0, anonymous=False, needs_credits=False)

    # --- Renders -------------------------------------------------------------------------------

    async def start_render(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        if not _JOB_ID.match(job_id):
            raise InputError(f"{job_id!r} is not a usable render id.", "Use letters, digits, '_', '-' or '.'.")
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            return self._live[job_id]
        plan_from_draft(draft)  # refuse an unrenderable draft now, not in the background
        now = time.time()
        self._write_job(
            job_id,
            {"job_id": job_id, "status": "pending", "progress": 0, "draft": draft, "created_at": now, **_owned()},
        )
        return self._launch(job_id, draft)

    def _launch(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        status = RenderStatus(job_id=job_id, status="pending", progress=0)
        self._live[job_id] = status
        self._cancel_requested.discard(job_id)
        self._ended.discard(job_id)
        # The render belongs to the server, not to the call that asked for it (no budget, no call's log).
        loop = asyncio.get_running_loop()
        render = self._render(job_id, draft)
        self._tasks[job_id] = outside_any_call().run(loop.create_task, render, name=f"render-{job_id}")
        return status

    async def _render(self, job_id: str, draft: dict[str, Any]) -> None:
        output = self._settings.output_dir / f"{job_id}.mp4"
        saved = 0

        def on_progress(percent: float) -> None:
            nonlocal saved
            value = max(1, min(99, int(percent)))
            self._live[job_id] = RenderStatus(job_id=job_id, status="processing", progress=value)
            if value - saved >= _SAVE_EVERY:
                saved = value
                save = asyncio.ensure_future(self._save_progress(job_id, value))
                self._progress_saves.add(save)
                save.add_done_callback(self._progress_saves.discard)

        try:
            if self._render_slot is None:
                self._render_slot = asyncio.Semaphore(1)  # one render at a time: ffmpeg uses every core
            async with self._render_slot:
                on_progress(1)
                plan = plan_from_draft(draft)
                for image in plan.images:
                    if not image.path or not Path(image.path).is_file():
                        raise InputError(
                            f"The image {image.name} is no longer in the local store.",
                            "Call upload_images again, then generate_video and export_video.",
                        )
                info = await render_slideshow(plan, output, on_progress=on_progress, work_dir=self._work_dir)
        except asyncio.CancelledError:
            if job_id in self._cancel_requested:
                await self._finish(job_id, "cancelled", error="cancelled on request")
            raise  # server shutting down: the job stays 'processing' and is restarted on the next poll
        except NemoError as exc:
            log.warning("local render %s failed: %s", job_id, exc.message)
            await self._finish(job_id, "failed", error=exc.agent_message)  # its next step too
        except Exception as exc:
            log.exception("local render %s crashed", job_id)
            await self._finish(job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        else:
            await self._finish(
                job_id,
                "completed",
                url=file_url(output),
                file_path=str(output),
                duration_s=info.duration_s,
                size_bytes=info.size_bytes,
            )

    async def _finish(self, job_id: str, status: RenderState, **fields: Any) -> None:
        live = self._live.get(job_id)
        progress = 100 if status == "completed" else live.progress if live else 0
        self._live[job_id] = RenderStatus(job_id=job_id, status=status, progress=progress, **fields)
        self._ended.add(job_id)  # a progress save still queued must not write over the end
        async with self._job_writes.setdefault(job_id, asyncio.Lock()):
            await asyncio.to_thread(self._update_job, job_id, status=status, progress=progress, **fields)

    async def _save_progress(self, job_id: str, percent: int) -> None:
        async with self._job_writes.setdefault(job_id, asyncio.Lock()):
            if job_id not in self._ended:
                await asyncio.to_thread(self._update_job, job_id, status="processing", progress=percent)

    async def poll_render(self, job_id: str) -> RenderStatus:
        job = self._read_job(job_id)
        if job is None:
            raise RenderNotFoundError(job_id)
        if job_id in self._live:
            status = self._live[job_id]
        elif job.get("status") in _RUNNING and (orphan := await asyncio.to_thread(self._adopt, job_id)) is not None:
            log.info("render %s was interrupted (its server stopped); rendering it again", job_id)
            return self._launch(job_id, orphan.get("draft") or {})
        else:
            status = RenderStatus.model_validate({k: v for k, v in job.items() if k in RenderStatus.model_fields})
        if status.status == "completed" and not _video_of(status, self._settings.output_dir).is_file():
            return RenderStatus(
                job_id=job_id, status="failed", error="the rendered file was moved or deleted; export again"
            )
        return status

    def _adopt(self, job_id: str) -> dict[str, Any] | None:
        """Take over a job that is running on disk but not here, if its owner is gone; None if a live
        owner (another server on this cache) still renders it, or it finished meanwhile.

        A job this process owns but does not run was stopped by `aclose` (or by another instance of
        this backend): it is taken over too.
        """
        with self._store.locked():
            job = self._read_job(job_id)
            if job is None or job.get("status") not in _RUNNING:
                return None
            owner = _owner(job)
            if owner is not None and not owner.is_mine() and owner.is_alive():
                return None
            job.update(status="pending", progress=0, **_owned())
            self._write_job(job_id, job)
            return job

    async def cancel_render(self, job_id: str) -> None:
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            self._cancel_requested.add(job_id)
            await stop_task(task)
            return
        job = self._read_job(job_id)
        if job is None:
            raise RenderNotFoundError(job_id)
        if job.get("status") in _RUNNING:
            await self._finish(job_id, "cancelled", error="cancelled on request")

    async def project_link(self) -> ProjectLink:
        """The project lives in the cache on this machine: no account, no link."""
        return ProjectLink(kind="local", path=str(self._store.root))

    def url_needs_auth(self, url: str) -> bool:
        return False

    async def download_render(self, job_id: str, url: str | None, target: Path) -> Path:
        """The video is already on this machine: copy it to `target` unless it is there."""
        source = path_of_file_url(url) if url else self._settings.output_dir / f"{job_id}.mp4"
        if source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            shutil.copyfile(source, partial)
            partial.replace(target)
        return target

    async def aclose(self) -> None:
        """Stop running renders (ffmpeg is killed); their jobs stay 'processing', without an owner, and
        restart on the next poll (of any server on this cache). Any child still alive is killed."""
        running = {job_id: task for job_id, task in self._tasks.items() if not task.done()}
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        for job_id in running:
            if job_id not in self._cancel_requested:
                self._update_job(job_id, owner=None)
        children.kill_all()
        self._tasks.clear()
        self._live.clear()

    # --- Job files -----------------------------------------------------------------------------

    def _read_job(self, job_id: str) -> dict[str, Any] | None:
        if not _JOB_ID.match(job_id):
            return None
        return self._store.read(f"render-{job_id}")

    def _write_job(self, job_id: str, job: dict[str, Any]) -> None:
        job["updated_at"] = time.time()
        self._store.write(f"render-{job_id}", job)

    def _update_job(self, job_id: str, **fields: Any) -> None:
        with self._store.locked():
            job = self._read_job(job_id) or {"job_id": job_id}
            job.update(fields)
            self._write_job(job_id, job)


def _fits(plan: EditPlan, images: list[dict[str, Any]]) -> list[Fit]:
    """The fit each photo of `plan` gets, from its shown size recorded at upload (`crop.fits_for`)."""
    return fits_for(plan, [_shown_size(images[image.index]) for image in plan.images])


def _shown_size(record: dict[str, Any]) -> tuple[int, int] | None:
    width, height = record.get("width"), record.get("height")
    return (width, height) if isinstance(width, int) and isinstance(height, int) and width > 0 < height else None


def _current_plan(draft: dict[str, Any], paths: list[str], names: list[str]) -> EditPlan | None:
    """The saved timeline as a plan bound to the uploaded files; None when there is none to edit."""
    try:
        return plan_from_draft(draft).with_images(paths, names)
    except (NothingToExportError, PlanError):
        return None


def _owned() -> dict[str, Any]:
    """The job fields that name this process as the owner of a render."""
    return {"owner": my_lease().model_dump()}


def _owner(job: dict[str, Any]) -> Lease | None:
    """The lease of the process rendering `job`; None if it has none (released, or an older file)."""
    try:
        return Lease.model_validate(job["owner"]) if job.get("owner") else None
    except ValueError:
        return None


def _video_of(status: RenderStatus, output_dir: Path) -> Path:
    """Where a finished local render's video is (a job file from before `file_path` has only its URL)."""
    if status.file_path:
        return Path(status.file_path)
    return path_of_file_url(status.url) if status.url else output_dir / f"{status.job_id}.mp4"


def _uploaded(record: dict[str, Any]) -> UploadedFile:
    return UploadedFile.model_validate({k: v for k, v in record.items() if k in UploadedFile.model_fields})
