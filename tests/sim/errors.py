"""The simulator's one error type: a contract error code, raised by the world, shaped by `replies`."""

from __future__ import annotations

# Business codes -> the HTTP status used when `error_style == "http_status"`.
BUSINESS_STATUS = {1001: 401, 1010: 401, 1011: 401, 1002: 404, 2001: 402, 4001: 415, 4002: 413}
# Codes that are HTTP statuses in the contract: always sent with that status.
HTTP_CODES = (400, 402, 404, 409, 422, 429)


class SimError(Exception):
    """A contract error: `code` is the body code (1001, 2001, ...) or an HTTP-style code (400, 402, 429)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StreamCut(Exception):
    """Raised inside an SSE body to make the server drop the connection mid-stream."""
