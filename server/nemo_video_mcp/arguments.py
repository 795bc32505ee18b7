"""What was wrong with a tool call's arguments, said from the tool's own input schema.

The MCP SDK checks arguments against each tool's signature with pydantic, whose text (and its
errors.pydantic.dev links) is not written for agents. `invalid_arguments` turns the same errors into
one `InputError`: each argument at fault, what was given (long text by its length only), what is
allowed (read from the JSON schema the host sees: enums, bounds, lengths), and the next step. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from nemo_video_mcp.errors import InputError

SHOWN_TEXT_CHARS = 60
"""A given string longer than this is described by its length, never echoed."""


class InvalidArgumentsError(InputError):
    code = "invalid_arguments"


def invalid_arguments(
    tool: str, schema: Mapping[str, Any], errors: Sequence[Mapping[str, Any]]
) -> InvalidArgumentsError:
    """The error for `errors` (pydantic's `ValidationError.errors()`) of a call to `tool`, whose
    arguments are described by the JSON schema `schema`."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    problems: dict[str, str] = {}
    for error in errors:
        loc = tuple(error.get("loc") or ())
        name = str(loc[0]) if loc else "arguments"
        item = next((part for part in loc[1:] if isinstance(part, int)), None)
        key = name if item is None else f"{name}[{item}]"
        if key not in problems:
            problems[key] = _problem(key, properties.get(name), name in required, item is not None, error)
    fields = list(dict.fromkeys(key.split("[", 1)[0] for key in problems))
    lines = "\n".join(f"- {problem}" for problem in problems.values())
    return InvalidArgumentsError(
        f"The arguments of {tool} are not valid, so nothing was done (nothing sent, nothing charged):\n{lines}",
        f"Call {tool} again with {_and(f'`{field}`' for field in fields)} fixed as described above.",
    )


def _problem(key: str, field: Mapping[str, Any] | None, required: bool, is_item: bool, error: Mapping[str, Any]) -> str:
    if field is None:
        return f"`{key}` is not an argument of this tool; leave it out."
    if is_item:
        items = next((b.get("items") for b in _branches(field) if b.get("type") == "array"), None) or {}
        allowed = _describe(items)
    else:
        allowed = _allowed(field, required)
    if error.get("type") == "missing":
        return f"`{key}` is required: {allowed}."
    return f"`{key}` was {_shown(error.get('input'))}, but it must be {allowed}."


def _allowed(field: Mapping[str, Any], required: bool) -> str:
    text = " or ".join(dict.fromkeys(_describe(b) for b in _branches(field) if b.get("type") != "null"))
    return text if required else f"{text} (or leave it out)"


def _branches(field: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(field.get("anyOf") or field.get("oneOf") or [field])


def _describe(schema: Mapping[str, Any]) -> str:
    """What values `schema` allows, in words."""
    if "enum" in schema:
        return "one of " + ", ".join(_json(value) for value in schema["enum"])
    if "const" in schema:
        return _json(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        low, high = schema.get("minLength"), schema.get("maxLength")
        text = "non-empty text" if low == 1 else "text"
        if high is not None:
            return f"{text} of at most {high:,} characters"
        return f"text of at least {low:,} characters" if low and low > 1 else text
    if kind in ("number", "integer"):
        what = "a whole number" if kind == "integer" else "a number"
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        return what + _range(low, high)
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        low, high, items = schema.get("minItems"), schema.get("maxItems"), schema.get("items")
        if low is not None and high is not None:
            count = f"{low} to {high}"
        else:
            count = f"at least {low}" if low else f"at most {high}" if high is not None else "any number of"
        return f"a list of {count} items" + (f", each {_describe(items)}" if items else "")
    if kind == "object":
        return "an object"
    return "a valid value"


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f" from {_number(low)} to {_number(high)}"
    if low is not None:
        return f" of at least {_number(low)}"
    return f" of at most {_number(high)}" if high is not None else ""


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown(value: Any) -> str:
    """The given value, short: long text by its length, lists by their count."""
    if isinstance(value, str):
        if len(value) > SHOWN_TEXT_CHARS:
            return f"text of {len(value):,} characters"
        return _json(value) if value else "empty text"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}" if value else "an empty list"
    if isinstance(value, Mapping):
        return "an object"
    if value is None:
        return "null"
    text = _json(value)
    return text if len(text) <= SHOWN_TEXT_CHARS else f"a value of {len(text):,} characters"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return type(value).__name__


def _and(words: Any) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
