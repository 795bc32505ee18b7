"""A user behind the client's elicitation form, for tests in-process and over stdio."""

from __future__ import annotations

from typing import Any

from mcp import types


def answering(action: str, content: dict[str, Any] | None = None) -> tuple[Any, list[types.ElicitRequestParams]]:
    """An elicitation callback that gives `action` (and `content`), and the list of what it was asked."""
    asked: list[types.ElicitRequestParams] = []

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    return callback, asked
