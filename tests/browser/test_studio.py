"""The studio in a real browser: headless Chromium, a stub host page, the real server offline over stdio.

The app is loaded as a host loads it (sandboxed iframe, the default CSP), its bridge is relayed to the
server, and the test clicks as a person would: the timeline and storyboard are drawn, Export plays the
rendered video, Refine changes the timeline through generate_video, the host's theme recolours it, and
Cancel stops a render.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.host import StubHost, stub_host

pytestmark = pytest.mark.browser
COLOURS = ("orange", "navy", "green")
WAIT_MS = 60_000


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for number, colour in enumerate(COLOURS, start=1):
        path = folder / f"photo{number}.jpg"
        Image.new("RGB", (480, 360), colour).save(path, format="JPEG")
        paths.append(path)
    return paths


def luminance(css_colour: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


async def start_project(host: StubHost, photos: list[Path]) -> None:
    uploaded = await host.client.call_tool("upload_images", {"paths": [str(p) for p in photos]})
    assert not uploaded.is_error, uploaded.content
    edited = await host.client.call_tool("generate_video", {"instruction": "a square 3-second slideshow with fades"})
    assert not edited.is_error, edited.content


async def test_the_studio_shows_the_timeline_plays_the_export_and_refines(
    chromium: None, photos: list[Path], tmp_path: Path, artifacts: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    async with stub_host(home) as host:
        await start_project(host, photos)
        tools = {tool.name: tool for tool in (await host.client.list_tools()).tools}
        uri = tools["get_state"].meta["ui"]["resourceUri"]
        html = (await host.client.read_resource(uri)).contents[0].text
        state = await host.client.call_tool("get_state", {})
        await host.open_app(html, "light", "get_state", {}, state)
        app = host.app()

        # The timeline: one lane per track, the three photos as segments of the video track.
        video_lane = app.locator(".track[data-kind=Video] .segment")
        await video_lane.nth(2).wait_for(timeout=WAIT_MS)
        assert await video_lane.count() == 3
        assert "3s" in await app.locator(".axis").inner_text()
        await app.locator("#storyboard").wait_for(state="visible", timeout=WAIT_MS)
        assert await app.locator("#storyboard").evaluate("img => img.naturalWidth") > 0
        assert "not needed" in await app.locator("#credits").inner_text()
        await host.page.screenshot(path=str(artifacts / "studio-light.png"), full_page=True)

        # Export: the render's progress, then the video plays in the app's player.
        await app.locator("#export").click()
        player = app.locator("#player")
        await player.wait_for(state="visible", timeout=WAIT_MS)
        await player.evaluate(
            "v => new Promise((ok, fail) => { if (v.readyState >= 1) ok(); v.onloadedmetadata = ok; "
            "v.onerror = () => fail(String(v.error.code)); })"
        )
        assert await player.evaluate("v => v.duration") == pytest.approx(3, abs=0.2)
        assert await player.evaluate("v => v.videoWidth") == 1080
        assert "completed" in await app.locator("#job-text").inner_text()
        assert {"export_video", "get_job", "play_video"} <= set(host.tools_called())
        await host.page.screenshot(path=str(artifacts / "studio-exported.png"), full_page=True)

        # Refine: the text goes to generate_video, and the timeline redrawn from the changed state.
        await app.locator("#instruction").fill("make it 6 seconds")
        await app.locator("#refine").click()
        await app.locator(".axis", has_text="6s").wait_for(timeout=WAIT_MS)
        assert ("generate_video", {"instruction": "make it 6 seconds"}) in host.app_calls
        after = await host.client.call_tool("get_state", {})
        assert after.structured_content["duration_s"] == pytest.approx(6)

        # The host's theme: dark recolours the page, light brings it back.
        body = app.locator("body")
        light = luminance(await body.evaluate("b => getComputedStyle(b).backgroundColor"))
        await host.page.evaluate("() => window.changeContext({theme: 'dark'})")
        await app.locator("html[data-theme=dark]").wait_for(timeout=WAIT_MS)
        dark = luminance(await body.evaluate("b => getComputedStyle(b).backgroundColor"))
        text = luminance(await body.evaluate("b => getComputedStyle(b).color"))
        assert dark < 60 < 200 < light, (light, dark)
        assert text > dark + 100, "dark text on a dark page"
        await host.page.screenshot(path=str(artifacts / "studio-dark.png"), full_page=True)

        # Cancel: a longer render, stopped from the app while it runs.
        await app.locator("#instruction").fill("make it 20 seconds with ken burns motion")
        await app.locator("#refine").click()
        await app.locator(".axis", has_text="20s").wait_for(timeout=WAIT_MS)
        await app.locator("#export").click()
        await app.locator("#cancel:enabled").wait_for(timeout=WAIT_MS)
        await app.locator("#cancel").click()
        await app.locator("#job-text", has_text="cancelled").wait_for(timeout=WAIT_MS)
        (cancelled,) = [arguments for name, arguments in host.app_calls if name == "cancel_export"]
        job = await host.client.call_tool("get_job", cancelled)
        assert job.structured_content["status"] == "cancelled", job.content

        # Nothing but the host page itself was fetched, and the CSP refused nothing.
        assert all(url.startswith("http://127.0.0.1:") for url in host.requests), host.requests
        assert not [e for e in host.console_errors if "Content Security Policy" in e], host.console_errors
