"""The editor's question, through MCP: asked in a client that shows forms, returned as text to one that cannot."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings
from nemo_video_mcp.models import EditEvent, EditOptions, QuestionEvent, TextEvent
from nemo_video_mcp.service import VideoService
from nemo_video_mcp.store import Store
from tests.asking_user import answering
from tests.unit.test_service import ScriptedBackend

QUESTION = QuestionEvent(question="Which photo first?", choices=["beach", "city"])


class Asking(ScriptedBackend):
    """The first turn asks a question; every later turn just answers."""

    async def edit(self, instruction: str, options: EditOptions):  # type: ignore[override]
        self.edits_sent.append(instruction)
        events: list[EditEvent] = [QUESTION] if len(self.edits_sent) == 1 else []
        for event in [*events, TextEvent(text=f"Done: {instruction}")]:
            yield event


@pytest.fixture
def asking() -> Asking:
    return Asking()


def app_for(settings: Settings, backend: Asking) -> MCPServer:
    return build_app(settings, service=VideoService(settings, backend, Store(settings.cache_dir)))  # type: ignore[arg-type]


async def test_a_client_that_shows_forms_is_asked_and_the_answer_is_the_next_turn(
    settings: Settings, asking: Asking
) -> None:
    callback, asked = answering("accept", {"answer": "city"})
    async with Client(app_for(settings, asking), mode="legacy", elicitation_callback=callback) as client:
        result = await client.call_tool("generate_video", {"instruction": "make it"})
    assert not result.is_error
    (params,) = asked
    assert params.message == "Which photo first?"
    assert params.requested_schema["properties"]["answer"]["enum"] == ["beach", "city"]
    assert asking.edits_sent == ["make it", "city"]
    assert result.structured_content["reply"] == "Done: city"
    assert "The user answered: city" in result.structured_content["message"]


async def test_a_declined_question_sends_nothing(settings: Settings, asking: Asking) -> None:
    callback, asked = answering("decline")
    async with Client(app_for(settings, asking), mode="legacy", elicitation_callback=callback) as client:
        result = await client.call_tool("generate_video", {"instruction": "make it"})
    assert asked and asking.edits_sent == ["make it"]
    assert "declined" in result.structured_content["message"] and result.structured_content["question"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_client_without_forms_gets_the_question_and_its_choices_as_text(
    settings: Settings, asking: Asking, mode: str
) -> None:
    """Without an elicitation callback; or on the 2026 protocol, which forbids asking mid-call."""
    callback, asked = answering("accept", {"answer": "city"})
    options: dict[str, Any] = {} if mode == "legacy" else {"elicitation_callback": callback}
    async with Client(app_for(settings, asking), mode=mode, **options) as client:
        result = await client.call_tool("generate_video", {"instruction": "make it"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert asking.edits_sent == ["make it"] and not asked
    assert "Which photo first?" in text and "Choices: beach; city" in text and "ask the user" in text
