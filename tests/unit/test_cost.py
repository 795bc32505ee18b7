"""The cost of a paid call: the estimate from the instruction, when to ask, and what the results say."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client, types

from nemo_video_mcp.app import build_app
from nemo_video_mcp.config import Settings, SettingsError
from nemo_video_mcp.cost import (
    CLIP_CREDITS,
    EDIT_CREDITS,
    OFFLINE,
    CostEstimate,
    confirmation_reason,
    estimate_edit,
    estimate_export,
    failed_job_credits,
    next_cost_text,
    released_credits,
    spent_note,
)
from nemo_video_mcp.models import Credits, UploadedFile
from nemo_video_mcp.service import VideoService
from nemo_video_mcp.store import Store
from tests.asking_user import answering
from tests.unit.test_service import ScriptedBackend

PHOTO = UploadedFile(source="/p/beach.jpg", filename="beach.jpg", file_type="image")


@pytest.mark.parametrize(
    ("instruction", "has_clips", "has_pictures", "credits", "kind"),
    [
        ("turn these photos into a 15-second video", False, True, EDIT_CREDITS, "edit"),
        ("add lo-fi music at 30% volume", True, True, EDIT_CREDITS, "edit"),
        ("trim the second shot and speed it up", True, False, EDIT_CREDITS, "edit"),
        ('add the title "Summer"', True, True, EDIT_CREDITS, "edit"),
        ("generate a clip of waves at sunset", True, True, CLIP_CREDITS, "clips"),
        ("add an AI clip of a city at night", True, True, CLIP_CREDITS, "clips"),
        ("add a new clip between the first two", True, True, CLIP_CREDITS, "clips"),
        ("animate the photos", False, True, CLIP_CREDITS, "clips"),
        ("generate 3 clips of a forest", False, False, 3 * CLIP_CREDITS, "clips"),
        ("generate three short clips of rain", False, False, 3 * CLIP_CREDITS, "clips"),
        ("generate 500 clips", False, False, 10 * CLIP_CREDITS, "clips"),
        ("a video of a dog on a beach", False, False, CLIP_CREDITS, "clips"),  # nothing to arrange
        ("make a video", False, False, CLIP_CREDITS, "clips"),
        ("make a video from these photos", False, True, EDIT_CREDITS, "edit"),
        ("生成一段海边的视频", True, True, CLIP_CREDITS, "clips"),
        ("生成3个片段", False, False, 3 * CLIP_CREDITS, "clips"),
        ("加上背景音乐", True, True, EDIT_CREDITS, "edit"),
        ("把第二张照片剪短一点", True, True, EDIT_CREDITS, "edit"),
    ],
)
def test_an_edit_is_estimated_from_its_instruction_and_the_project(
    instruction: str, has_clips: bool, has_pictures: bool, credits: float, kind: str
) -> None:
    estimate = estimate_edit(instruction, timeline_has_clips=has_clips, has_pictures=has_pictures)
    assert (estimate.credits, estimate.kind) == (credits, kind)
    assert f"about {credits:g} credits" in estimate.reason


def test_export_is_free_and_offline_costs_nothing() -> None:
    assert estimate_export().credits == 0 and "free" in estimate_export().reason
    assert OFFLINE.credits == 0 and "no credits" in OFFLINE.reason


CLIP = CostEstimate(100, "generates a clip: about 100 credits", "clips")
EDIT = CostEstimate(50, "an editing turn: about 50 credits", "edit")


@pytest.mark.parametrize(
    ("estimate", "available", "confirm_above", "asks"),
    [
        (CLIP, 1000, 50, "NEMO_CONFIRM_ABOVE"),  # above the threshold
        (EDIT, 100, 50, None),  # at the threshold and exactly half: not more
        (EDIT, 99, 50, "half"),  # more than half the balance
        (EDIT, 60, 50, "half"),
        (EDIT, None, 50, None),  # balance unread: the threshold alone
        (CLIP, None, 50, "NEMO_CONFIRM_ABOVE"),
        (CLIP, 1000, 100, None),
        (CLIP, 10, 0, None),  # 0 turns it off, even above half the balance
        (estimate_export(), 0, 50, None),  # free: never asks
        (OFFLINE, 0, 50, None),
    ],
)
def test_the_user_is_asked_above_the_threshold_or_half_the_balance(
    estimate: CostEstimate, available: float | None, confirm_above: float, asks: str | None
) -> None:
    reason = confirmation_reason(estimate, available, confirm_above)
    assert (reason is None) == (asks is None), reason
    if asks is not None:
        assert asks in str(reason)


def test_next_cost_names_the_figures_and_the_balance() -> None:
    text = next_cost_text(EDIT, 100, asks=False)
    assert "about 50 credits of your 100" in text and "100 credits per clip" in text
    dear = next_cost_text(CLIP, 80, asks=True)
    assert "confirm" in dear and "more than the balance" in dear
    assert "balance is not known yet" in next_cost_text(EDIT, None, asks=False)
    assert next_cost_text(OFFLINE, None, asks=False) == "The next edit costs no credits (offline)."


def credits(available: float, frozen: float = 0, needs: bool = True) -> Credits:
    return Credits(available=available, frozen=frozen, total=available + frozen, anonymous=True, needs_credits=needs)


def test_what_a_call_spent_is_said_from_the_readings_before_and_after() -> None:
    assert spent_note(credits(100), credits(50)) == "Credits: 100 available before, 50 after (50 spent)."
    assert "nothing spent" in spent_note(credits(100), credits(100))
    assert "50 are held for the work in progress" in spent_note(credits(100), credits(50, 50), running=True)
    assert "could not be read after" in spent_note(credits(100), None)
    assert "could not be read before and after" in spent_note(None, None)
    assert "No credits" in spent_note(credits(0, needs=False), credits(0, needs=False))


def test_a_failed_job_says_whether_its_held_credits_went_back() -> None:
    assert failed_job_credits(credits(100), credits(100))[0] is True
    released, text = failed_job_credits(credits(100), credits(50, 50))
    assert released is False and "50 credits are still held" in text
    assert failed_job_credits(None, credits(80))[0] is True  # nothing held at all
    assert failed_job_credits(None, credits(30, 20))[0] is None
    assert failed_job_credits(credits(100), None)[0] is None
    assert failed_job_credits(None, credits(0, needs=False)) == (None, spent_note(None, credits(0, needs=False)))


def test_a_cancel_counts_the_held_credits_that_went_back() -> None:
    assert released_credits(credits(80, 20), credits(100)) == (20, "20 held credits were released.")
    assert released_credits(credits(100), credits(100)) == (0, "No credits were held for it.")
    assert released_credits(None, credits(100))[0] is None
    assert released_credits(None, credits(0, needs=False)) == (None, "Offline renders hold no credits.")


@pytest.mark.parametrize(("value", "wanted"), [("", 50.0), ("0", 0.0), ("120.5", 120.5)])
def test_confirm_above_is_read_from_the_environment(tmp_path: Any, value: str, wanted: float) -> None:
    env = {"NEMO_CACHE_DIR": str(tmp_path), "NEMO_CONFIRM_ABOVE": value}
    assert Settings.from_env(env).confirm_above == wanted


@pytest.mark.parametrize("value", ["-1", "lots"])
def test_a_bad_confirm_above_names_its_variable(tmp_path: Any, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"NEMO_CACHE_DIR": str(tmp_path), "NEMO_CONFIRM_ABOVE": value})
    assert caught.value.variable == "NEMO_CONFIRM_ABOVE" and "restart the server" in caught.value.agent_message


# --- through MCP, in process: the confirmation before a paid edit ---------------------------------


class Priced(ScriptedBackend):
    """A cloud account with 100 credits and one photo; each edit sent spends 50."""

    def __init__(self, uploads: list[UploadedFile]) -> None:
        super().__init__()
        self.photos = uploads

    def uploads(self) -> list[UploadedFile]:
        return self.photos

    async def get_credits(self) -> Credits:
        return credits(100 - 50 * len(self.edits_sent))


async def call_generate(
    settings: Settings, backend: Priced, callback: Any, instruction: str, confirm_above: str = "50"
) -> tuple[types.CallToolResult, Settings]:
    settings = settings.model_copy(update={"confirm_above": float(confirm_above)})
    app = build_app(settings, service=VideoService(settings, backend, Store(settings.cache_dir)))  # type: ignore[arg-type]
    async with Client(app, mode="legacy", elicitation_callback=callback) as client:
        return await client.call_tool("generate_video", {"instruction": instruction}), settings


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_spend_sends_nothing_and_says_so(settings: Settings, action: str) -> None:
    backend = Priced([PHOTO])
    callback, asked = answering(action)
    result, _ = await call_generate(settings, backend, callback, "generate a clip of waves")
    (params,) = asked
    assert "about 100 credits" in params.message and "of your 100 available" in params.message
    assert result.is_error and backend.edits_sent == []
    text = result.content[0].text  # type: ignore[union-attr]
    assert "declined" in text and "was not sent and no credits were spent" in text and "Next step" in text


async def test_an_accepted_spend_is_sent_once_and_a_repeat_does_not_ask_again(settings: Settings) -> None:
    backend = Priced([PHOTO])
    callback, asked = answering("accept", {"spend": True})
    settings = settings.model_copy(update={"confirm_above": 50.0})
    service = VideoService(settings, backend, Store(settings.cache_dir))
    app = build_app(settings, service=service)
    async with Client(app, mode="legacy", elicitation_callback=callback) as client:
        started = await client.call_tool("generate_video", {"instruction": "generate a clip of waves"})
        # the outcome never reached the agent (say the host gave up): the same instruction follows it
        await service._edits.update(service._edits.get(started.structured_content["job_id"]), delivered=False)
        again = await client.call_tool("generate_video", {"instruction": "generate a clip of waves"})
    assert len(asked) == 1 and backend.edits_sent == ["generate a clip of waves"]
    assert not started.is_error and not again.is_error
    assert started.structured_content["credits_before"] == 100 and started.structured_content["credits_after"] == 50
    assert "100 available before, 50 after (50 spent)" in started.structured_content["message"]
    assert again.structured_content["already_sent"] is True


async def test_accept_with_spend_unticked_is_a_decline(settings: Settings) -> None:
    backend = Priced([PHOTO])
    callback, asked = answering("accept", {"spend": False})
    result, _ = await call_generate(settings, backend, callback, "generate a clip of waves")
    assert asked and result.is_error and backend.edits_sent == []


@pytest.mark.parametrize(
    ("instruction", "confirm_above"),
    [("add music", "50"), ("generate a clip of waves", "0")],
    ids=["cheap-edit", "confirmation-off"],
)
async def test_no_form_below_the_threshold_or_when_turned_off(
    settings: Settings, instruction: str, confirm_above: str
) -> None:
    backend = Priced([PHOTO])
    callback, asked = answering("decline")
    result, _ = await call_generate(settings, backend, callback, instruction, confirm_above)
    assert asked == [] and not result.is_error and backend.edits_sent == [instruction]


async def test_offline_never_asks_and_says_no_credits(settings: Settings) -> None:
    class Offline(Priced):
        name = "local"

        async def get_credits(self) -> Credits:
            return credits(0, needs=False)

    backend = Offline([])
    callback, asked = answering("decline")
    result, _ = await call_generate(settings, backend, callback, "generate 5 clips")
    assert asked == [] and not result.is_error and backend.edits_sent == ["generate 5 clips"]
    content = result.structured_content
    assert content["credits_before"] is None and content["credits_after"] is None
    assert "No credits" in content["message"] and "costs no credits (offline)" in content["next_cost"]


async def test_a_user_who_never_answers_gets_nothing_sent_within_the_budget(settings: Settings) -> None:
    """The form waits no longer than the call can (here a 5 s budget less the answer's margin and the time kept
    to send an accepted edit: 1.5 s), then says how to go on."""
    import asyncio
    import time

    backend = Priced([PHOTO])

    async def away(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        await asyncio.sleep(30)
        return types.ElicitResult(action="accept", content={"spend": True})

    settings = settings.model_copy(update={"call_budget_s": 5.0})
    started = time.monotonic()
    result, _ = await call_generate(settings, backend, away, "generate a clip of waves")
    assert time.monotonic() - started < 5.0
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and backend.edits_sent == []
    assert "did not answer in time" in text and "call generate_video again" in text


async def test_the_answer_to_the_editors_question_is_a_paid_turn_confirmed_too(settings: Settings) -> None:
    """The editor asked; the user answered; sending that answer costs again, so it is confirmed (here declined)."""
    from tests.unit.test_asking import Asking

    backend = Asking()
    forms: list[str] = []

    async def user(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if "spend" in params.requested_schema["properties"]:
            forms.append("spend")
            return types.ElicitResult(action="accept" if len(forms) == 1 else "decline", content={"spend": True})
        forms.append("answer")
        return types.ElicitResult(action="accept", content={"answer": "city"})

    result, _ = await call_generate(settings, backend, user, "make it")  # type: ignore[arg-type]
    assert forms == ["spend", "answer", "spend"] and backend.edits_sent == ["make it"]
    message = result.structured_content["message"]
    assert not result.is_error and result.structured_content["question"] == "Which photo first?"
    assert "The user answered: city. The user declined the spend" in message and "was not sent" in message


async def test_a_failed_edit_says_whether_its_held_credits_were_released(settings: Settings) -> None:
    from nemo_video_mcp.errors import JobFailedError
    from nemo_video_mcp.models import StreamErrorEvent

    class Holding(Priced):
        """The editor froze 50 credits for the turn and, failing, kept them held."""

        async def get_credits(self) -> Credits:
            return credits(50, 50) if self.edits_sent else credits(100)

    backend = Holding([PHOTO])
    backend.edit_script = [StreamErrorEvent(message="the editor crashed", reason="other")]
    service = VideoService(settings, backend, Store(settings.cache_dir))  # type: ignore[arg-type]
    with pytest.raises(JobFailedError) as caught:
        await service.generate_video("add music")
    assert "50 credits are still held for it" in caught.value.message
    job = await service.get_job()
    assert job.status == "failed" and job.held_credits_released is False
    assert (job.credits_before, job.credits_after) == (100, 50)
