"""Renders on the backend's render proxy: start (under the id we choose), poll, cancel."""

from __future__ import annotations

import contextlib
from typing import Any

from nemo_video_mcp.backends import wire
from nemo_video_mcp.backends.base import RenderIdTakenError, RenderNotFoundError
from nemo_video_mcp.backends.cloud.calls import Api
from nemo_video_mcp.backends.cloud.sessions import Sessions
from nemo_video_mcp.backends.wire import ApiFailure, Reason
from nemo_video_mcp.models import RenderStatus

RENDERS = "/api/render/proxy/lambda"


class Renders:
    def __init__(self, api: Api, sessions: Sessions) -> None:
        self._api = api
        self._sessions = sessions

    async def start(self, job_id: str, draft: dict[str, Any]) -> RenderStatus:
        """Start rendering `draft` as `job_id`; a start that may have landed is never sent as a second render."""

        async def start(session_id: str) -> RenderStatus:
            body = {
                "id": job_id,
                "sessionId": session_id,
                "draft": draft,
                "output": {"format": "mp4", "quality": "high"},
            }
            try:
                return await self._api.call(
                    "POST",
                    RENDERS,
                    json=body,
                    idempotent=True,  # the id is ours: a repeated start is refused as a duplicate
                    endpoint="render",
                    expect={Reason.DUPLICATE},
                    parse=lambda payload: wire.parse_render_status(payload, job_id),
                )
            except ApiFailure:
                # Our own earlier attempt may have landed (ids are random): never start it twice.
                try:
                    return await self.poll(job_id)
                except RenderNotFoundError:
                    raise RenderIdTakenError(job_id) from None

        return await self._sessions.in_session(start)

    async def poll(self, job_id: str) -> RenderStatus:
        """The job's status; `RenderNotFoundError` when the backend does not know it."""
        try:
            return await self._api.call(
                "GET",
                f"{RENDERS}/{job_id}",
                idempotent=True,
                endpoint="render",
                expect={Reason.NOT_FOUND},
                parse=lambda payload: wire.parse_render_status(payload, job_id),
            )
        except ApiFailure:
            raise RenderNotFoundError(job_id) from None

    async def cancel(self, job_id: str) -> None:
        """Ask the backend to stop the job; one it does not know is left alone."""
        with contextlib.suppress(ApiFailure):
            await self._api.call(
                "POST", f"{RENDERS}/{job_id}/cancel", idempotent=True, endpoint="render", expect={Reason.NOT_FOUND}
            )
