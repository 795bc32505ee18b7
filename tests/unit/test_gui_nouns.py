"""A GUI verb used as a noun ("the click sound") is left alone: only a step the user would take is translated."""

from __future__ import annotations

import pytest

from nemo_video_mcp.gui import translate_reply


@pytest.mark.parametrize(
    "reply",
    ["I added the click track.", "Remove the click sound effect.", "Keep the click export in mind."],
)
def test_the_click_is_a_noun_not_a_step(reply: str) -> None:
    translation = translate_reply(reply)
    assert (translation.text, translation.actions) == (reply, [])


def test_a_noun_click_and_a_real_step_in_one_sentence() -> None:
    translation = translate_reply("Add the click sound at the start, then click Export.")
    assert translation.text == "Add the click sound at the start, then call export_video."
    assert [action.tool for action in translation.actions] == ["export_video"]
