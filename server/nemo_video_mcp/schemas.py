"""The tool list, kept small: every host sends it to the model's context at the start of each chat.

Pydantic's JSON schemas carry a `title` on every property and spell an optional field as
`anyOf: [{type: X}, {type: null}]`. Neither tells an agent anything: titles are dropped everywhere,
and in the output schemas (which hosts use to check structured content, and do not show the model)
descriptions go too and an optional scalar becomes `type: [X, "null"]`, which validates the same.
Input schemas keep their descriptions, enums, bounds and `anyOf` (the argument checks read them).
"""

from __future__ import annotations

from typing import Any


def compact_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without property titles."""
    return _compact(schema, output=False)


def compact_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without titles or descriptions, optional scalars as type lists."""
    return _compact(schema, output=True)


def _compact(node: Any, *, output: bool) -> Any:
    if isinstance(node, list):
        return [_compact(item, output=output) for item in node]
    if not isinstance(node, dict):
        return node
    kept = {key: _compact_value(key, value, output) for key, value in node.items() if not _dropped(key, value, output)}
    if output:
        kept = _nullable_as_type_list(kept)
    return kept


def _compact_value(key: str, value: Any, output: bool) -> Any:
    if key in ("properties", "$defs") and isinstance(value, dict):  # names of fields, not schema keywords
        return {name: _compact(field, output=output) for name, field in value.items()}
    return _compact(value, output=output)


def _dropped(key: str, value: Any, output: bool) -> bool:
    if key == "title" and isinstance(value, str):
        return True
    return output and key == "description" and isinstance(value, str)


def _nullable_as_type_list(schema: dict[str, Any]) -> dict[str, Any]:
    options = schema.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options):
        return schema
    other = next(option for option in options if option != {"type": "null"})
    if not (isinstance(other, dict) and set(other) == {"type"} and isinstance(other["type"], str)):
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    merged["type"] = [other["type"], "null"]
    if merged.get("default", ...) is None:
        del merged["default"]  # null is what a missing optional field is anyway
    return merged
