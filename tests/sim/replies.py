"""JSON replies in the envelope the config asks for, and the faults that spoil them."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from tests.sim import hostile
from tests.sim.errors import BUSINESS_STATUS, HTTP_CODES, SimError
from tests.sim.world import World


class Replies:
    def __init__(self, world: World) -> None:
        self.world = world

    def json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        config = self.world.config
        if isinstance(body, dict) and "code" in body and config.odd_code is not None:
            body = {**body, "code": config.odd_code}
        text = hostile.raw_numbers(json.dumps(body, ensure_ascii=False))
        if isinstance(body, dict) and config.deep_json == "envelope":
            text = hostile.with_deep_value(text, config.deep_json_depth)
        if self.world.take("malformed_json_next"):
            text = text[: max(1, len(text) // 2)]
        return Response(text, status_code=status, headers=headers, media_type="application/json")

    def business(self, data: Any) -> Response:
        if self.world.config.envelope == "success":
            return self.json({"success": True, "data": data})
        return self.json({"code": 0, "message": "success", "data": data})

    def business_error(self, error: SimError) -> Response:
        config = self.world.config
        if error.code in HTTP_CODES:
            status = error.code
        elif config.error_style == "http_status":
            status = BUSINESS_STATUS.get(error.code, 400)
        else:
            status = 200
        if config.envelope == "success":
            body: dict[str, Any] = {
                "success": False,
                "code": error.code,
                "error": error.message,
                "message": error.message,
            }
        else:
            body = {"code": error.code, "message": error.message}
        return self.json(body, status, self._retry_headers(status))

    def render(self, data: dict[str, Any]) -> Response:
        if self.world.config.render_envelope == "success":
            return self.json({"success": True, "data": data})
        return self.json(data)

    def render_error(self, error: SimError, *, may_be_soft: bool = False) -> Response:
        """Render proxy failures. Auth and session errors come from the gateway, in its envelope.
        A refused render start (duplicate id, empty draft) may come as HTTP 200 with success false."""
        config = self.world.config
        if error.code >= 1000:
            return self.business_error(error)
        soft = may_be_soft and error.code in (400, 409) and config.error_style == "http200"
        if config.render_envelope == "success":
            body: dict[str, Any] = {"success": False, "error": error.message}
            status = 200 if soft else error.code
        else:
            body, status = {"error": error.message}, error.code
        return self.json(body, status, self._retry_headers(status))

    def _retry_headers(self, status: int) -> dict[str, str] | None:
        retry_after = self.world.config.retry_after_s
        if status == 429 and retry_after is not None:
            return {"Retry-After": f"{retry_after:g}"}
        return None
