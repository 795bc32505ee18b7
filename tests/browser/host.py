"""A stub MCP Apps host around the real server: the studio in headless Chromium, its bridge relayed over stdio.

`StubHost` starts `nemo-video-mcp` offline over stdio with the SDK client (advertising MCP Apps), serves
`host.html` on loopback, and opens it in Debian's Chromium through Playwright (`executable_path`: Playwright's
own browser download cannot run here). The page loads the app in `<iframe sandbox="allow-scripts">` under
the Apps spec's default Content-Security-Policy and hands every request that is not `ui/...` to `window.mcp`,
a Playwright binding that calls the server through the client, so the app's buttons reach the real tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.extension import advertise
from mcp.client.stdio import stdio_client
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from tests.e2e.harness import SERVER_SCRIPT, passed_through

HOST_PAGE = Path(__file__).with_name("host.html")
CHROMIUM = os.environ.get("NEMO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'"
)
"""The spec's restrictive default for an app that declares no `_meta.ui.csp` (ours declares none)."""
CALL_TIMEOUT_S = 60.0


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NEMO_CHROMIUM)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


def with_csp(html: str) -> str:
    """The app's HTML with the default CSP as its first head element, as a host's sandbox loads it."""
    tag = f'<meta http-equiv="Content-Security-Policy" content="{APP_CSP}">'
    head = html.index("<head>") + len("<head>")
    return html[:head] + tag + html[head:]


@dataclass
class StubHost:
    """The server's client, the browser page, and what the app asked the host to do."""

    client: Client
    page: Any
    home: Path
    app_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    tool_visibility: dict[str, list[str]] = field(default_factory=dict)

    async def relay(self, source: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One request of the app, sent to the server as the host would; app-only rules as the spec says."""
        if method == "tools/call":
            name = params["name"]
            self.app_calls.append((name, params.get("arguments") or {}))
            if "app" not in self.tool_visibility.get(name, []):
                raise ValueError(f"tool {name} is not callable by apps")
            result = await self.client.call_tool(name, params.get("arguments") or {})
        elif method == "resources/read":
            self.app_calls.append(("resources/read", params))
            result = await self.client.read_resource(params["uri"])
        else:
            raise ValueError(f"the stub host does not relay {method}")
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    def tools_called(self) -> list[str]:
        return [name for name, _ in self.app_calls]

    async def open_app(self, html: str, theme: str, tool: str, arguments: dict[str, Any], result: Any) -> None:
        opening = {"arguments": arguments, "result": result.model_dump(mode="json", by_alias=True, exclude_none=True)}
        await self.page.evaluate(
            "([html, context, opening]) => window.openApp(html, context, opening)",
            [with_csp(html), {"theme": theme, "displayMode": "inline"}, opening],
        )

    def app(self) -> Any:
        """The app's frame."""
        return self.page.frame_locator("#app")


@contextmanager
def serve_host_page() -> Iterator[str]:
    """host.html on an ephemeral loopback port; the server thread stops on exit."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(HOST_PAGE.parent), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{HOST_PAGE.name}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@asynccontextmanager
async def stub_host(home: Path) -> AsyncIterator[StubHost]:
    """The real server (offline) over stdio, and the host page open in headless Chromium."""
    from playwright.async_api import async_playwright

    env = {
        "NEMO_BACKEND": "local",
        "NEMO_CACHE_DIR": str(home / "cache"),
        "NEMO_OUTPUT_DIR": str(home / "videos"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        **passed_through(),
    }
    params = StdioServerParameters(command=str(SERVER_SCRIPT), env=env)
    apps = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})
    with (home / "server-stderr.log").open("a", encoding="utf-8") as errlog, serve_host_page() as url:
        async with (
            Client(
                stdio_client(params, errlog=errlog), read_timeout_seconds=CALL_TIMEOUT_S, extensions=[apps]
            ) as client,
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch_persistent_context(
                str(home / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                host = StubHost(client=client, page=page, home=home)
                for tool in (await client.list_tools()).tools:
                    ui = (tool.meta or {}).get("ui") or {}
                    host.tool_visibility[tool.name] = ui.get("visibility", ["model", "app"])
                page.on("console", lambda m: host.console_errors.append(m.text) if m.type == "error" else None)
                page.on("request", lambda r: host.requests.append(r.url))
                await page.expose_binding("mcp", host.relay)
                await page.set_viewport_size({"width": 780, "height": 1200})
                await page.goto(url)
                yield host
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(browser.close(), 20)
