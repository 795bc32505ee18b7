"""The simulator with a `/run_sse` that streams as fast as loopback allows: `python bench/stream_server.py --port N`.

Everything but `/run_sse` is the simulator's (`tests.sim`): tokens, sessions, uploads, state. Its
`/run_sse` sends the number of events last set with `POST /_bench/events?n=N` (default 50,000), in
the contract's ADK shapes, ten at a time: four partial text deltas, two tool calls, two tool results,
two `: ping` heartbeats; then the final tool result (turnComplete) and the whole reply text. The body
is built once per N before it is served, and written in 64 KB chunks with no pause. A request for an
unknown session (a bare reader's) gets the same stream, with nothing applied.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.sim.app import create_app
from tests.sim.config import SimConfig
from tests.sim.world import World

CHUNK = 64 * 1024
REPLY = "I arranged your photos into a 15-second video with cross-fades and a title."
TOOLS = (("add_clips", {"clips": [{"media": "photo_1.png", "duration": 2}]}), ("set_transition", {"type": "fade"}))


def _event(parts: list[dict[str, Any]], role: str = "model", **extra: Any) -> bytes:
    event: dict[str, Any] = {
        "content": {"parts": parts, "role": role},
        "invocationId": "e-bench",
        "author": "nemo_agent",
        "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {}},
        "id": uuid.uuid4().hex[:8],
        "timestamp": time.time(),
        **extra,
    }
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


@functools.cache
def body(events: int) -> tuple[bytes, bytes]:
    """The stream's bytes before the edit is applied, and the last two events after it."""
    cycle = []
    for i in range(4):
        cycle.append(_event([{"text": f"Working on part {i} of your video, "}], partial=True))
    for n, (name, args) in enumerate(TOOLS):
        call_id = f"call_{n:012d}"
        cycle.append(_event([{"functionCall": {"id": call_id, "name": name, "args": args}}]))
        cycle.append(b": ping\n\n")
        cycle.append(_event([{"functionResponse": {"id": call_id, "name": name, "response": {"ok": True}}}], "user"))
        cycle.append(b": ping\n\n")
    head = b"".join(cycle) * ((events - 2) // len(cycle))
    head += b"".join(cycle[: (events - 2) % len(cycle)])
    tail = _event(
        [{"functionResponse": {"id": "call_last", "name": TOOLS[0][0], "response": {"ok": True}}}],
        "user",
        turnComplete=False,
    ) + _event([{"text": REPLY}], turnComplete=True)
    return head, tail


def bench_app(config: SimConfig) -> Starlette:
    world = World(config)
    sim = create_app(world)
    wanted = {"events": 50_000}

    async def set_events(request: Request) -> Response:
        wanted["events"] = int(request.query_params["n"])
        body(wanted["events"])
        return JSONResponse(wanted)

    async def run_sse(request: Request) -> Response:
        user = world.authenticate(request.headers.get("authorization"))
        message = json.loads(await request.body())
        try:
            session = world.find_session(user, message["session_id"])
            text = "".join(part.get("text", "") for part in message["new_message"]["parts"])
            plan, cost = world.begin_edit(user, session, text, str(request.base_url).rstrip("/"))
        except Exception:
            session = None
        head, tail = body(wanted["events"])

        async def stream() -> Any:
            for start in range(0, len(head), CHUNK):
                yield head[start : start + CHUNK]
            if session is not None:
                world.apply_edit(user, session, plan, cost)
            yield tail

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    return Starlette(
        routes=[
            Route("/run_sse", run_sse, methods=["POST"]),
            Route("/_bench/events", set_events, methods=["POST"]),
            Mount("/", app=sim),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = SimConfig(event_delay_s=0, heartbeat_interval_s=0)
    uvicorn.run(bench_app(config), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
