"""The tool list a host sends the model is compact, and its schemas still accept exactly what they did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.schemas import compact_output_schema


@pytest.fixture
def app(tmp_path: Path) -> MCPServer:
    return build_app(Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path / "cache"), "NEMO_BACKEND": "local"}))


def _keys(node: Any) -> set[str]:
    """Every schema keyword used in `node` (property names excluded)."""
    if isinstance(node, list):
        return set().union(*(_keys(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            found |= set().union(*(_keys(field) for field in value.values())) if value else set()
        else:
            found |= {key} | _keys(value)
    return found


async def test_the_listed_schemas_carry_no_titles_and_outputs_no_prose(app: MCPServer) -> None:
    async with Client(app) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        assert "title" not in _keys(tool.input_schema), tool.name
        assert tool.output_schema is not None and {"title", "description"}.isdisjoint(_keys(tool.output_schema))
    generate = next(tool for tool in tools if tool.name == "generate_video")
    assert "description" in generate.input_schema["properties"]["aspect"], "the agent still reads what each argument is"
    size = sum(len(json.dumps(tool.model_dump(mode="json", exclude_none=True))) for tool in tools)
    # 22.6 KB before compacting, 14.8 KB after; issue 13 added the probe (+1.1 KB) and paid calls' credit fields.
    assert size < 16_800, size  # bench/start.py prints it per tool


def _variants(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """`instance`, and copies with one field each set to null, to a number, to a string, or left out."""
    made = [instance]
    for name in instance:
        for value in (None, 12345, "text", [], {}):
            made.append({**instance, name: value})
        made.append({key: value for key, value in instance.items() if key != name})
    return made


async def test_a_compact_output_schema_accepts_and_refuses_exactly_what_the_full_one_does(app: MCPServer) -> None:
    full = {tool.name: tool.output_schema for tool in await MCPServer.list_tools(app) if tool.output_schema}
    async with Client(app) as client:
        answers = {
            name: (await client.call_tool(name, {})).structured_content
            for name in ("get_credits", "get_state", "get_project_link")
        }
    checked = 0
    for name, answer in answers.items():
        assert answer is not None, name
        original, compact = full[name], compact_output_schema(full[name])
        for instance in _variants(answer):
            valid = jsonschema.Draft202012Validator(original).is_valid(instance)
            assert jsonschema.Draft202012Validator(compact).is_valid(instance) == valid, (name, instance)
            checked += valid
    assert checked >= len(answers), "the real answers themselves validate"
