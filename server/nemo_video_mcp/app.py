"""The MCP server: tool definitions and progress plumbing over `VideoService`. No HTTP here."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import json
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.types import (
    CallToolResult,
    ImageContent,
    InputRequiredResult,
    ListResourcesResult,
    ListToolsResult,
    PaginatedRequestParams,
    SubscribeRequestParams,
    TextContent,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from mcp.types import Tool as MCPTool
from pydantic import BaseModel, Field, ValidationError

from nemo_video_mcp import __version__, notices, prompts, studio
from nemo_video_mcp.arguments import invalid_arguments
from nemo_video_mcp.asking import ask_user, can_ask, confirm_spend
from nemo_video_mcp.budget import call_budget
from nemo_video_mcp.config import Settings
from nemo_video_mcp.cost import CostEstimate
from nemo_video_mcp.errors import InputError, NemoError, NotConfirmedError
from nemo_video_mcp.media import check_music_file
from nemo_video_mcp.models import (
    MAX_INSTRUCTION_CHARS,
    Aspect,
    DurationS,
    EditOptions,
    Fit,
    Motion,
    TitleText,
    Transition,
)
from nemo_video_mcp.redact import redact
from nemo_video_mcp.results import (
    CancelResult,
    CreditsResult,
    ExportResult,
    GenerateResult,
    JobResult,
    ProjectLinkResult,
    StateResult,
    StoryboardResult,
    ToolResult,
    UploadResult,
)
from nemo_video_mcp.schemas import compact_input_schema, compact_output_schema
from nemo_video_mcp.service import MAX_IMAGES_PER_CALL, Confirm, VideoService
from nemo_video_mcp.watch import ResourceWatch

log = logging.getLogger(__name__)
DRAFT_RESOURCE = "nemo://project/draft"
TIMELINE_RESOURCE = "nemo://session/timeline"
JOBS_RESOURCE = "nemo://jobs"
JOB_RESOURCE = "nemo://jobs/{job_id}"
VIDEO_RESOURCE = "nemo://videos/latest"
BUDGET_GRACE_S = 0.5
"""How far past the budget the safety net lets a call run (the work should have answered by itself)."""

INSTRUCTIONS = """\
Turns still images into a finished video. The usual order: upload_images (local paths or URLs) ->
generate_video (describe the video in words) -> get_state (check the timeline) -> export_video
(render; returns the download URL). get_credits shows the balance. Every error says what to do next.
Every call answers within about 45 s: a longer edit or render goes on on the server and the answer
gives its job id; call get_job to follow it. Never send an instruction again to retry: a repeated
instruction follows the edit already sent (it is never paid twice)."""

INTERNAL_ERROR = (
    "nemo-video-mcp hit an unexpected internal error (details are in the server's log on stderr). "
    "Next step: call get_state to see where the project stands, then retry once; if it repeats, "
    "run `nemo-video-mcp doctor` and report the log."
)


class _Runtime:
    """Creates the service on first use (settings are read once, at start-up, not at import)."""

    def __init__(self, settings: Settings | None, service: VideoService | None = None) -> None:
        self._settings = settings
        self._service = service

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def budget_s(self) -> float:
        """Seconds each tool call may take (read with the settings, once)."""
        if self._service is not None:
            return self._service.call_budget_s
        return self.settings().call_budget_s

    def service(self) -> VideoService:
        if self._service is None:
            from nemo_video_mcp.backends import create_backend
            from nemo_video_mcp.store import Store

            settings = self.settings()
            store = Store(settings.cache_dir)
            self._service = VideoService(settings, create_backend(settings, store), store)
        return self._service

    async def aclose(self) -> None:
        if self._service is not None:
            await self._service.aclose()


class _McpReporter:
    """Progress and log lines to the MCP client of the current request."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._pending: set[asyncio.Task[None]] = set()

    def log_soon(self, level: str, message: str) -> None:
        """Queue a log notification from synchronous code (a logging handler)."""
        task = asyncio.get_running_loop().create_task(self.log(level, message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Send queued log notifications before the call's result goes out."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def progress(self, done: float, total: float | None, message: str) -> None:
        try:
            await self._ctx.report_progress(done, total, redact(message))
        except Exception as exc:  # a client that went away must not fail the work
            log.debug("progress notification not sent: %s", type(exc).__name__)

    async def log(self, level: str, message: str) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await self._ctx.log(level, redact(message))  # type: ignore[arg-type]
        except Exception as exc:
            log.debug("log notification not sent: %s", type(exc).__name__)


_current_reporter: contextvars.ContextVar[_McpReporter | None] = contextvars.ContextVar("reporter", default=None)
_MCP_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


class _ForwardToClient(logging.Handler):
    """Sends the server's own log lines, during a tool call, to that call's client as MCP log notifications."""

    def emit(self, record: logging.LogRecord) -> None:
        reporter = _current_reporter.get()
        if reporter is None or not record.name.startswith("nemo_video_mcp"):
            return
        level = _MCP_LEVELS.get(record.levelno, "error" if record.levelno > logging.ERROR else "info")
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to send to
            reporter.log_soon(level, redact(record.getMessage()))


def _install_log_forwarding() -> None:
    package_logger = logging.getLogger("nemo_video_mcp")
    if package_logger.getEffectiveLevel() > logging.INFO:
        package_logger.setLevel(logging.INFO)
    if not any(isinstance(h, _ForwardToClient) for h in package_logger.handlers):
        package_logger.addHandler(_ForwardToClient(logging.INFO))


async def _respond(
    ctx: Context, budget_s: float, work: Callable[[_McpReporter], Awaitable[ToolResult]]
) -> CallToolResult:
    """Run one tool's work within the call budget; turn its result or its failure into what the agent reads.

    A failure still carries the notices gathered before it (e.g. "the timeline starts afresh").
    Work that the server owns (an edit, a render) answers by itself before the budget ends; the
    limit here is the safety net for everything else.
    """
    reporter = _McpReporter(ctx)
    token = _current_reporter.set(reporter)
    with notices.collecting() as gathered, call_budget(budget_s):
        try:
            result = await asyncio.wait_for(work(reporter), budget_s + BUDGET_GRACE_S)
        except asyncio.TimeoutError:
            log.warning("a tool call ran past its %.0f s budget", budget_s)
            return _error_result(gathered, _over_budget(budget_s))
        except NemoError as exc:
            log.warning("tool failed: %s", exc.message)
            return _error_result(gathered, exc.agent_message)
        except OSError as exc:
            log.warning("file operation failed: %s", exc)
            return _error_result(gathered, _disk_problem(exc))
        except Exception:
            log.exception("unexpected failure in a tool")
            return _error_result(gathered, INTERNAL_ERROR)
        finally:
            _current_reporter.reset(token)
            await reporter.flush()
    structured = json.loads(redact(result.model_dump_json()))
    text = "\n".join([structured["message"], *(f"Note: {notice}" for notice in structured["notices"])])
    # The JSON copy is for clients that ignore structured content; the full draft stays out of it (tokens).
    compact = {key: value for key, value in structured.items() if key not in ("message", "draft")}
    return CallToolResult(
        content=[TextContent(type="text", text=text), TextContent(type="text", text=json.dumps(compact))],
        structured_content=structured,
    )


async def _respond_with_stills(
    ctx: Context, budget_s: float, work: Callable[[_McpReporter], Awaitable[ExportResult | JobResult]]
) -> CallToolResult:
    """`_respond`, with the checked video's start, middle and end stills as JPEG images after the text."""
    done: list[ExportResult | JobResult] = []

    async def run(reporter: _McpReporter) -> ToolResult:
        done.append(await work(reporter))
        return done[-1]

    answer = await _respond(ctx, budget_s, run)
    if done and not answer.is_error:
        answer.content[1:1] = [
            ImageContent(type="image", data=base64.b64encode(still).decode(), mime_type="image/jpeg")
            for still in done[-1].keyframes
        ]
    return answer


def _now(read: Callable[[], BaseModel]) -> Callable[[], Awaitable[BaseModel]]:
    """A synchronous read (the cache's ledgers) as the awaitable `_read_resource` takes, run off the event loop."""
    return lambda: asyncio.to_thread(read)


def _error_result(gathered: list[str], message: str) -> CallToolResult:
    text = "\n".join([*(f"Note: {notice}" for notice in gathered), message])
    return CallToolResult(content=[TextContent(type="text", text=redact(text))], is_error=True)


def _over_budget(budget_s: float) -> str:
    return (
        f"The call did not finish within its {budget_s:.0f} s budget (NEMO_CALL_BUDGET_S), so it was stopped "
        "before the host would give up on it; nothing paid was started by it.\n"
        "Next step: call get_job to see any edit or render in progress, then call the tool again."
    )


def _disk_problem(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    return (
        f"A file operation failed: {exc.strerror or type(exc).__name__}{where}.\n"
        "Next step: check free disk space and that NEMO_CACHE_DIR and NEMO_OUTPUT_DIR point to writable "
        "folders (`nemo-video-mcp doctor` shows them), then call the tool again."
    )


class _NemoMCPServer(MCPServer):
    """`MCPServer` whose argument errors read like all of ours: what was wrong, what is allowed, the next step.

    The SDK checks a call's arguments against the tool's signature (the same types that make its
    input schema) and raises a `ToolError` caused by pydantic's `ValidationError`; that one is
    answered here from the tool's schema, before any tool code runs. Every other failure is the SDK's.
    After each call the resource watch looks for what changed (in the background).
    """

    watch: ResourceWatch | None = None

    def serve_resource_subscriptions(self, watch: ResourceWatch) -> None:
        """Answer `resources/subscribe` (protocol versions before 2026-07-28; `subscriptions/listen` is the SDK's)."""
        self.watch = watch
        self._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, watch.subscribe)
        self._lowlevel_server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, watch.unsubscribe)

    async def list_tools(self) -> list[MCPTool]:
        """The SDK's list with the schemas' noise taken out (`schemas`): a host sends it with every chat."""
        return [
            tool.model_copy(
                update={
                    "input_schema": compact_input_schema(tool.input_schema),
                    "output_schema": compact_output_schema(tool.output_schema) if tool.output_schema else None,
                }
            )
            for tool in await super().list_tools()
        ]

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        """The studio's tools and `_meta.ui` go only to clients that negotiated MCP Apps (`studio.tools_for`)."""
        return studio.tools_for(await super()._handle_list_tools(ctx, params), client_supports_apps(ctx))

    async def _handle_list_resources(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        """The studio's page is listed only to clients that negotiated MCP Apps (`studio.resources_for`)."""
        return studio.resources_for(await super()._handle_list_resources(ctx, params), client_supports_apps(ctx))

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await self._call_tool_checked(name, arguments, context)
        finally:
            if self.watch is not None:
                self.watch.after_call(name)

    async def _call_tool_checked(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(cause, ValidationError):
                raise
            schema = next((tool.input_schema for tool in await self.list_tools() if tool.name == name), {})
            refused = invalid_arguments(name, schema, cause.errors(include_url=False))
            fields = sorted({str(error["loc"][0]) for error in cause.errors() if error["loc"]})
            log.info("refused the arguments of %s: %s", name, ", ".join(fields))
            return _error_result([], refused.agent_message)


async def _read_resource(budget_s: float, read: Callable[[], Awaitable[BaseModel | dict[str, Any]]]) -> str:
    """A resource's JSON, read within the call budget; a failure is our message (with its next step) as the error."""
    with notices.collecting(), call_budget(budget_s):
        try:
            document = await asyncio.wait_for(read(), budget_s + BUDGET_GRACE_S)
        except asyncio.TimeoutError:
            raise ResourceError(_over_budget(budget_s)) from None
        except InputError as exc:
            raise ResourceNotFoundError(redact(exc.agent_message)) from None
        except NemoError as exc:
            raise ResourceError(redact(exc.agent_message)) from None
        except OSError as exc:
            raise ResourceError(_disk_problem(exc)) from None
    text = document.model_dump_json() if isinstance(document, BaseModel) else json.dumps(document, ensure_ascii=False)
    return redact(text)


def _uris_of(mark: str) -> list[str]:
    """The resources a change mark of `VideoService.change_marks` stands for."""
    if mark.startswith("job:"):
        return [JOB_RESOURCE.replace("{job_id}", mark.removeprefix("job:"))]
    return {
        "jobs": [JOBS_RESOURCE],
        "video": [VIDEO_RESOURCE],
        "timeline": [TIMELINE_RESOURCE, DRAFT_RESOURCE],
    }.get(mark, [])


def build_app(settings: Settings | None = None, *, service: VideoService | None = None) -> MCPServer:
    """The MCP server with the NemoVideo tools, resources and prompts."""
    runtime = _Runtime(settings, service)
    _install_log_forwarding()
    watch = ResourceWatch(lambda timeline: runtime.service().change_marks(timeline), _uris_of, runtime.budget_s)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        try:
            yield None
        finally:
            await watch.aclose()
            await runtime.aclose()

    app = _NemoMCPServer(
        "nemo-video-mcp",
        title="NemoVideo: images to video",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        subscriptions=watch.bus,
        extensions=[
            studio.studio_extension(lambda ctx, work: _respond(ctx, runtime.budget_s(), work), runtime.service)
        ],
    )
    app.serve_resource_subscriptions(watch)

    @app.tool(
        annotations=ToolAnnotations(
            title="Upload images",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        )
    )
    async def upload_images(
        paths: Annotated[
            list[Annotated[str, Field(min_length=1)]],
            Field(
                description="Local file paths (absolute is safest) or http(s) URLs: images (jpg, png, gif, webp, "
                f"heic), and also video or audio. Each file at most 200 MB; at most {MAX_IMAGES_PER_CALL} per call.",
                min_length=1,
                max_length=MAX_IMAGES_PER_CALL,
            ),
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, UploadResult]:
        """Add images (or clips, or music) to the video project. Call this first.

        Files are checked before anything is sent (exists, a real media file by its content, at most
        200 MB). Returns what the project now holds for each file.
        """
        return await _respond(ctx, runtime.budget_s(), lambda r: runtime.service().upload_images(paths, r))

    @app.tool(
        annotations=ToolAnnotations(
            title="Generate or edit the video",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=True,
        )
    )
    async def generate_video(
        instruction: Annotated[
            str,
            Field(
                description="What the video should be, in plain words, e.g. 'turn these photos into a smooth "
                "15-second video with transitions' or 'add lo-fi music at 30% volume'.",
                min_length=1,
                max_length=MAX_INSTRUCTION_CHARS,
            ),
        ],
        ctx: Context,
        duration_s: Annotated[
            DurationS | None, Field(description="Total length in seconds; wins over the text.")
        ] = None,
        aspect: Annotated[Aspect | None, Field(description="'16:9' (horizontal), '9:16' (vertical) or '1:1'.")] = None,
        transition: Annotated[Transition | None, Field(description="Between pictures.")] = None,
        motion: Annotated[Motion | None, Field(description="'kenburns' (slow zoom and pan) or 'static'.")] = None,
        title: Annotated[TitleText | None, Field(description="Title text shown at the start.")] = None,
        music_path: Annotated[
            str | None, Field(description="A local audio file (mp3, wav, m4a, aac) to use as music.")
        ] = None,
        fit: Annotated[
            Fit | None,
            Field(
                description="How a photo fills a frame of another shape: smart (crop around the subject; the "
                "default when the shapes differ a lot), blur, contain or cover."
            ),
        ] = None,
    ) -> Annotated[CallToolResult, GenerateResult]:
        """Create or change the video from the uploaded images, following one instruction.

        One edit turn: about 50 credits, 100 per generated clip (offline: free); a client with forms
        confirms one above NEMO_CONFIRM_ABOVE (50) or half the balance. A follow-up changes the
        timeline ('start over' rebuilds it). Answers within about 45 s: if the editor is still working,
        the answer gives a job id (status "running"); call get_job for the reply. The same instruction
        again follows the same edit and sends nothing. Returns the editor's
        reply, the next tool calls to make, and a timeline summary when the editor answered without text.
        """
        try:
            options = EditOptions(
                duration_s=duration_s,
                aspect=aspect,
                transition=transition,
                motion=motion,
                title=title,
                music_path=music_path,
                fit=fit,
            )
        except ValidationError as exc:  # the same types as the signature's: only if they ever drift apart
            refused = invalid_arguments("generate_video", EditOptions.model_json_schema(), exc.errors())
            return _error_result([], refused.agent_message)

        async def edit(reporter: _McpReporter) -> ToolResult:
            if options.music_path:  # checked like an upload, before any edit is recorded or sent
                check_music_file(options.music_path, runtime.settings().allowed_dirs)
            result = await runtime.service().generate_video(instruction, options, reporter, _confirmer(ctx))
            if result.status != "completed" or not result.question or not can_ask(ctx):
                return result
            return await _put_question_to_user(ctx, runtime.service(), result, reporter)

        return await _respond(ctx, runtime.budget_s(), edit)

    @app.resource(
        DRAFT_RESOURCE,
        name="draft",
        title="The project's whole draft",
        description="The timeline draft exactly as the backend holds it (get_state cuts a large one to 256 KB).",
        mime_type="application/json",
    )
    async def full_draft() -> str:
        return await _read_resource(runtime.budget_s(), lambda: runtime.service().full_draft())

    @app.resource(
        TIMELINE_RESOURCE,
        name="timeline",
        title="The current timeline",
        description="get_state as a document: the summary line, the tracks, and the draft (cut to 256 KB).",
        mime_type="application/json",
    )
    async def timeline() -> str:
        return await _read_resource(runtime.budget_s(), lambda: runtime.service().get_state())

    @app.resource(
        JOBS_RESOURCE,
        name="jobs",
        title="Edits and renders",
        description="Every edit and render job of this backend, newest first, as the cache holds it (no waiting).",
        mime_type="application/json",
    )
    async def jobs() -> str:
        return await _read_resource(runtime.budget_s(), _now(lambda: runtime.service().list_jobs()))

    @app.resource(
        JOB_RESOURCE,
        name="job",
        title="One job",
        description="One edit or render job by id: status, progress, and its outcome once it has ended.",
        mime_type="application/json",
    )
    async def job(job_id: str) -> str:
        return await _read_resource(runtime.budget_s(), _now(lambda: runtime.service().peek_job(job_id)))

    @app.resource(
        VIDEO_RESOURCE,
        name="latest-video",
        title="The latest video",
        description="The newest finished render: its file on this machine or its URL, and whether the timeline "
        "changed since.",
        mime_type="application/json",
    )
    async def latest_video() -> str:
        return await _read_resource(runtime.budget_s(), lambda: runtime.service().latest_video())

    @app.prompt(
        name="image-to-video",
        title="Make a video from images",
        description="Upload the images, describe the video, check the storyboard, export it (get_job for long work).",
    )
    def image_to_video(images: str, wish: str = "") -> str:
        """images: paths or URLs, one per line or comma (or a JSON list); wish: the video in plain words."""
        return prompts.image_to_video(images, wish)

    @app.prompt(
        name="refine",
        title="Refine the current video",
        description="Change the current timeline one step at a time, looking at the storyboard, then export.",
    )
    async def refine(change: str = "") -> str:
        """change: what to change, in plain words (optional: else the agent asks the user)."""
        try:
            state = await asyncio.wait_for(runtime.service().get_state(), runtime.budget_s())
            summary = state.summary
        except (NemoError, OSError, asyncio.TimeoutError) as exc:
            log.info("the refine prompt could not read the timeline: %s", type(exc).__name__)
            summary = "(could not be read just now; call get_state first)"
        return prompts.refine(summary, change)

    @app.tool(
        annotations=ToolAnnotations(
            title="Show the timeline", read_only_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        meta=studio.UI_META,
    )
    async def get_state(ctx: Context) -> Annotated[CallToolResult, StateResult]:
        """Show the project's timeline: a one-line summary, the tracks, and whether it can be exported."""
        return await _respond(ctx, runtime.budget_s(), lambda r: runtime.service().get_state())

    @app.tool(
        annotations=ToolAnnotations(
            title="Preview the storyboard", read_only_hint=True, idempotent_hint=True, open_world_hint=True
        )
    )
    async def preview_storyboard(ctx: Context) -> Annotated[CallToolResult, StoryboardResult]:
        """One picture of the timeline before export: its shots in order, each with its time range, the title and
        captions. Show it to the user; say what to change with generate_video.
        """
        drawn: list[StoryboardResult] = []

        async def draw(reporter: _McpReporter) -> ToolResult:
            drawn.append(await runtime.service().preview_storyboard())
            return drawn[-1]

        answer = await _respond(ctx, runtime.budget_s(), draw)
        if drawn and not answer.is_error:
            sheet = ImageContent(
                type="image", data=base64.b64encode(drawn[-1].image).decode(), mime_type=drawn[-1].image_type
            )
            answer.content.insert(1, sheet)
        return answer

    @app.tool(
        annotations=ToolAnnotations(
            title="Show credits", read_only_hint=True, idempotent_hint=True, open_world_hint=True
        )
    )
    async def get_credits(ctx: Context) -> Annotated[CallToolResult, CreditsResult]:
        """Show the credit balance (available, held for work in progress, total) and the account kind."""
        return await _respond(ctx, runtime.budget_s(), lambda r: runtime.service().get_credits())

    @app.tool(
        annotations=ToolAnnotations(
            title="Export the video",
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        ),
        meta=studio.UI_META,
    )
    async def export_video(
        ctx: Context,
        wait: Annotated[
            bool,
            Field(description="Wait for the render and return the URL (default). false: return the job id at once."),
        ] = True,
        save_to: Annotated[
            str | None,
            Field(
                description="Also keep a checked copy on this machine: a folder (the file is named by the job) or an "
                ".mp4 path; a relative one (or '') goes into NEMO_OUTPUT_DIR, else the user's Videos folder. "
                "A different file is never overwritten.",
                max_length=1000,
            ),
        ] = None,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Render the timeline to an MP4 and return its download URL.

        Answers within about 45 s; a longer render goes on on the server (call get_job to follow it).
        Safe to call again: a render of this timeline is followed, never started (or paid for) twice;
        an unchanged timeline that was already rendered returns the same video; after an edit, a new
        render of the new timeline is started.
        """

        async def export(reporter: _McpReporter) -> ExportResult:
            return await runtime.service().export_video(wait, reporter, save_to)

        return await _respond_with_stills(ctx, runtime.budget_s(), export)

    @app.tool(
        annotations=ToolAnnotations(
            title="Link to keep the project", read_only_hint=True, idempotent_hint=False, open_world_hint=True
        )
    )
    async def get_project_link(ctx: Context) -> Annotated[CallToolResult, ProjectLinkResult]:
        """A link where the user keeps this project: for an anonymous account, a claim link that attaches
        the project to a NemoVideo account (with its expiry); for a registered one, the workspace.
        """
        return await _respond(ctx, runtime.budget_s(), lambda r: runtime.service().get_project_link())

    @app.tool(
        annotations=ToolAnnotations(
            title="Cancel a render", read_only_hint=False, destructive_hint=True, idempotent_hint=True,
            open_world_hint=True,
        )
    )  # fmt: skip
    async def cancel_export(
        ctx: Context,
        job_id: Annotated[
            str | None, Field(description="The render's job id; default: the running render.", max_length=100)
        ] = None,
    ) -> Annotated[CallToolResult, CancelResult]:
        """Stop a running render (offline: stop ffmpeg and remove its partial file) and say whether held
        credits were released. A finished or unknown job is left as it is (a no-op, not an error).
        """
        return await _respond(ctx, runtime.budget_s(), lambda r: runtime.service().cancel_export(job_id))

    @app.tool(
        annotations=ToolAnnotations(
            title="Follow a job", read_only_hint=True, idempotent_hint=False, open_world_hint=True
        ),
        meta=studio.UI_META,
    )
    async def get_job(
        ctx: Context,
        job_id: Annotated[
            str | None,
            Field(
                description="The job id from generate_video or export_video; default: the latest job.", max_length=100
            ),
        ] = None,
    ) -> Annotated[CallToolResult, JobResult]:
        """Follow an edit or a render that goes on on the server: waits up to about 45 s for it to end.

        Returns its kind (edit or render), status, progress, start and end times, and once it has
        ended its outcome: the editor's reply and next steps, or the video's URL or file.
        """
        return await _respond_with_stills(ctx, runtime.budget_s(), lambda r: runtime.service().get_job(job_id, r))

    return app


async def _put_question_to_user(
    ctx: Context, service: VideoService, result: GenerateResult, reporter: _McpReporter
) -> ToolResult:
    """The editor asked something: ask the user in the client and send the answer as the next turn."""
    assert result.question is not None
    answer = await ask_user(ctx, result.question, result.choices)
    if answer.outcome == "declined":
        return result.model_copy(
            update={
                "message": f"{result.message}\nThe user declined to answer the editor's question; nothing was sent."
            }
        )
    if answer.outcome == "not_asked":
        return result.model_copy(update={"message": f"{result.message}\n(Not asked in the client: {answer.reason}.)"})
    await reporter.progress(0, None, f"The user answered: {answer.text}; sending it to the editor")
    try:
        followed = await service.generate_video(answer.text, EditOptions(), reporter, _confirmer(ctx))
    except NotConfirmedError as exc:
        note = f"\nThe user answered: {answer.text}. {exc.message} Next step: {exc.next_step}"
        return result.model_copy(update={"message": result.message + note})
    prefix = f"The editor asked: {result.question} The user answered: {answer.text}.\n"
    return followed.model_copy(update={"message": prefix + followed.message})


def _confirmer(ctx: Context) -> Confirm | None:
    """How the service asks this call's user to agree to a spend; None when the client cannot show a form
    (it read the cost in the tool's description and the previous result's next_cost)."""
    if not can_ask(ctx):
        return None

    async def confirm(estimate: CostEstimate, question: str) -> None:
        answer = await confirm_spend(ctx, question)
        what = f"about {estimate.credits:g} credits"
        if answer.outcome == "declined":
            raise NotConfirmedError(
                what,
                "The user declined the spend",
                "ask the user what to do instead (a cheaper edit, or none); calling generate_video again asks again.",
            )
        if answer.outcome == "not_asked":
            raise NotConfirmedError(
                what,
                f"The spend was not confirmed ({answer.reason})",
                "ask the user in the chat whether to spend the credits; if they agree, call generate_video again "
                "(the form is shown again). NEMO_CONFIRM_ABOVE=0 in the server's settings turns the form off.",
            )

    return confirm
