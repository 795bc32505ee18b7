"""Makes docs/storyboard.png, the README's picture, with the server's own preview_storyboard tool.

Runs the installed `nemo-video-mcp` on stdio, offline (NEMO_BACKEND=local, a throw-away cache), with
the README's first command's images and instruction, and saves the contact sheet it returns:

    .venv/bin/python docs/make_storyboard.py
"""

from __future__ import annotations

import asyncio
import base64
import sys
import tempfile
from pathlib import Path

from mcp import Client, StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
SERVER = Path(sys.executable).with_name("nemo-video-mcp")
PHOTOS = [str(REPO / "samples" / f"{name}.jpg") for name in ("dawn", "noon", "dusk")]
INSTRUCTION = 'a vertical 12-second video with ken burns motion and the title "Hidden Peaks"'
TARGET = REPO / "docs" / "storyboard.png"


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="nemo-storyboard-") as scratch:
        env = {"NEMO_BACKEND": "local", "NEMO_CACHE_DIR": f"{scratch}/cache", "NEMO_OUTPUT_DIR": f"{scratch}/out"}
        async with Client(StdioServerParameters(command=str(SERVER), env=env)) as client:
            for tool, arguments in (
                ("upload_images", {"paths": PHOTOS}),
                ("generate_video", {"instruction": INSTRUCTION}),
            ):
                result = await client.call_tool(tool, arguments)
                if result.is_error:
                    print(f"{tool} failed: {result.content[0].text}", file=sys.stderr)
                    return 1
            result = await client.call_tool("preview_storyboard", {})
    images = [item for item in result.content if item.type == "image"]
    if result.is_error or not images or images[0].mime_type != "image/png":
        print(f"preview_storyboard gave no PNG: {result.content[0].text}", file=sys.stderr)
        return 1
    TARGET.write_bytes(base64.b64decode(images[0].data))
    print(f"wrote {TARGET.relative_to(REPO)} ({TARGET.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
