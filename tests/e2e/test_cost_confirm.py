"""The cost the user agrees to, over stdio against the simulator: a dear edit is asked about first; a decline
sends nothing, an accept sends it once; paid results carry the credits before and after. One server launch."""

from __future__ import annotations

from typing import Any

from mcp import types

from tests.e2e.harness import Project, assert_agent_error, assert_success, upload_photos

CLIP = "generate a clip of waves at sunset"


async def test_a_dear_edit_is_confirmed_first_declined_sends_nothing_accepted_sends_once(project: Project) -> None:
    answers = [types.ElicitResult(action="decline"), types.ElicitResult(action="accept", content={"spend": True})]
    asked: list[str] = []

    async def user(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return answers.pop(0)

    async with project.launch(mode="legacy", elicitation_callback=user) as server:
        uploaded = await upload_photos(server, project)
        declined = await server.call("generate_video", instruction=CLIP)
        sent_after_decline = len(project.requests_to("/run_sse"))
        accepted = await server.call("generate_video", instruction=CLIP)
        exported = await server.call("export_video")
        followed = await server.call("get_job", job_id=exported.structured["job_id"])

    # the first call of this server: no balance read yet, and upload_images makes no request of its own for it
    assert "The next edit would cost about 50 credits (the balance is not known yet" in uploaded.structured["next_cost"]
    assert len(asked) == 2 and "about 100 credits" in asked[0] and "of your 100 available" in asked[0]
    assert_agent_error(declined, "declined", "was not sent and no credits were spent")
    assert sent_after_decline == 0, "a declined edit reached the editor"
    assert_success(accepted)
    assert len(project.requests_to("/run_sse")) == 1 and project.edits_applied() == 1
    assert (accepted.structured["credits_before"], accepted.structured["credits_after"]) == (100, 0)
    assert "Credits: 100 available before, 0 after (100 spent)." in accepted.text
    assert "of your 0" in accepted.structured["next_cost"]
    assert_success(exported)
    assert (exported.structured["credits_before"], exported.structured["credits_after"]) == (0, 0)
    assert "nothing spent" in exported.text
    assert (followed.structured["credits_before"], followed.structured["credits_after"]) == (0, 0), "the render's own"
