"""Ask the user through MCP elicitation, when the client can show a form: the editor's question, and
whether to spend credits on a dear edit.

Part of the MCP layer (it speaks to the client). The wait for the user's answer counts against the
call budget like any other wait; a user who does not answer in time, declines or cancels gets
nothing sent on their behalf.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.types import ClientCapabilities, ElicitationCapability
from pydantic import BaseModel, Field, create_model

from nemo_video_mcp.running_jobs import wait_time

log = logging.getLogger(__name__)
NO_MID_CALL_REQUESTS_FROM = "2026-07-28"


@dataclass(frozen=True)
class UserAnswer:
    """What became of the question: answered (with the text), declined, or not asked (and why)."""

    outcome: Literal["answered", "declined", "not_asked"]
    text: str = ""
    reason: str = ""


def can_ask(ctx: Context) -> bool:
    """Whether the client can show a form now: it says so, and this call can carry a request to it.

    Connections on protocol 2026-07-28 and later forbid server-initiated requests mid-call (their
    questions go in an input-required result, which the SDK offers only to resolvers run before the
    tool): there the question goes back as text, as for a client without forms.
    """
    try:
        context = ctx.request_context
        if context.protocol_version >= NO_MID_CALL_REQUESTS_FROM:  # versions are ISO dates
            return False
        wanted = ClientCapabilities(elicitation=ElicitationCapability())
        return bool(context.session.check_client_capability(wanted))
    except (AttributeError, ValueError):
        return False


async def ask_user(ctx: Context, question: str, choices: list[str]) -> UserAnswer:
    """Ask `question` (offering `choices` as an enum, if any) and wait for the answer, within the budget."""
    reply = await _ask(ctx, question, _answer_form(choices))
    if isinstance(reply, UserAnswer):
        return reply
    text = " ".join(str(reply.data.answer).split())
    return UserAnswer("answered", text) if text else UserAnswer("declined")


SEND_RESERVE_S = 1.5
"""What a confirmation leaves of the call budget: enough to record and start the edit once the user agrees."""


class SpendForm(BaseModel):
    spend: bool = Field(True, description="Spend the credits and send the edit.")


async def confirm_spend(ctx: Context, question: str) -> UserAnswer:
    """Ask the user to agree to a spend: "answered" (they agreed), "declined", or "not_asked" (and why).

    The wait ends `SEND_RESERVE_S` before a wait for a job would (the answer keeps its margin), so that
    an accepted edit is still recorded and started by this call; the edit then belongs to the server,
    whatever the host does. A late answer, after the call has given up, is not acted on.
    """
    reply = await _ask(ctx, question, SpendForm, reserve_s=SEND_RESERVE_S)
    if isinstance(reply, UserAnswer):
        return reply
    return UserAnswer("answered", "yes") if reply.data.spend else UserAnswer("declined")


async def _ask(ctx: Context, question: str, form: type[BaseModel], reserve_s: float = 0.0) -> Any:
    """The client's accepted reply (with `.data`), or the `UserAnswer` for anything else."""
    if not can_ask(ctx):
        return UserAnswer("not_asked", reason="the client cannot show questions")
    limit = wait_time()
    limit = None if limit is None else limit - reserve_s
    if limit is not None and limit < 1:
        return UserAnswer("not_asked", reason="no time was left in this call to wait for an answer")
    try:
        reply: Any = await asyncio.wait_for(ctx.elicit(question, form), limit)
    except asyncio.TimeoutError:
        return UserAnswer("not_asked", reason="the user did not answer in time")
    except (ValueError, RuntimeError, MCPError) as exc:  # the client could not show or fill the form
        log.warning("the question could not be asked: %s", exc)
        return UserAnswer("not_asked", reason="the client could not show the question")
    if reply.action != "accept":
        return UserAnswer("declined")
    return reply


def _answer_form(choices: list[str]) -> type[BaseModel]:
    if choices:
        kind: Any = Literal[tuple(choices)]
        return create_model("EditorQuestion", answer=(kind, Field(description="Pick one.")))
    return create_model("EditorQuestion", answer=(str, Field(description="Your answer.", max_length=1000)))
