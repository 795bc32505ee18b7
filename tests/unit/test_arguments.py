"""arguments.invalid_arguments: a bad argument in words, from the tool's own schema (pure, table-driven)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from nemo_video_mcp.arguments import invalid_arguments
from nemo_video_mcp.errors import InputError
from nemo_video_mcp.models import DurationS, EditOptions


class Arguments(BaseModel):
    """Stands for a tool's signature: the same kinds of types and bounds the real tools use."""

    instruction: Annotated[str, Field(min_length=1, max_length=4000)]
    paths: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1, max_length=50)] = ["a.jpg"]
    duration_s: DurationS | None = None
    aspect: Literal["16:9", "9:16", "1:1"] | None = None
    count: Annotated[int, Field(ge=0)] = 0
    wait: bool = True


SCHEMA = Arguments.model_json_schema()


def refusal(**arguments: object) -> InputError:
    with pytest.raises(ValidationError) as caught:
        Arguments.model_validate(arguments)
    return invalid_arguments("generate_video", SCHEMA, caught.value.errors(include_url=False))


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"instruction": "x", "duration_s": -5}, '`duration_s` was -5, but it must be a number from 1 to 600'),
        ({"instruction": "x", "duration_s": 601}, "a number from 1 to 600 (or leave it out)"),
        ({"instruction": "x", "duration_s": "soon"}, '`duration_s` was "soon"'),
        ({"instruction": "x", "aspect": "bogus"}, '`aspect` was "bogus", but it must be one of "16:9", "9:16", "1:1"'),
        ({"instruction": "x" * 1_000_000}, "`instruction` was text of 1,000,000 characters, but it must be non-empty "
         "text of at most 4,000 characters."),
        ({"instruction": ""}, "`instruction` was empty text"),
        ({}, "`instruction` is required: non-empty text of at most 4,000 characters."),
        ({"instruction": "x", "paths": []}, "`paths` was an empty list, but it must be a list of 1 to 50 items, "
         "each non-empty text"),
        ({"instruction": "x", "paths": ["a"] * 51}, "`paths` was a list of 51 items"),
        ({"instruction": "x", "paths": ["a", ""]}, "`paths[1]` was empty text, but it must be non-empty text."),
        ({"instruction": "x", "paths": "a.jpg"}, '`paths` was "a.jpg", but it must be a list of'),
        ({"instruction": "x", "count": -1}, "a whole number of at least 0"),
        ({"instruction": "x", "wait": "perhaps"}, '`wait` was "perhaps", but it must be true or false (or leave'),
    ],
)  # fmt: skip
def test_each_problem_names_the_argument_what_was_given_and_what_is_allowed(arguments: dict, says: str) -> None:
    error = refusal(**arguments)
    text = error.agent_message
    assert says in text
    assert "Next step: Call generate_video again with `" in text
    assert "nothing sent, nothing charged" in text
    for leak in ("pydantic", "validation error", "type=", "input_value", "https://"):
        assert leak not in text.lower()


def test_several_problems_are_listed_once_each_and_the_next_step_names_them_all() -> None:
    text = refusal(instruction="", aspect="wide", duration_s=0).agent_message
    assert text.count("\n- ") == 3
    assert "`instruction`, `duration_s` and `aspect` fixed" in text


def test_a_long_given_value_is_never_echoed() -> None:
    secret_sized = "y" * 500
    assert secret_sized not in refusal(instruction="x", aspect=secret_sized).agent_message


def test_an_argument_the_schema_does_not_know_is_named_as_such() -> None:
    error = invalid_arguments("get_state", {"properties": {}}, [{"type": "extra_forbidden", "loc": ("colour",)}])
    assert "`colour` is not an argument of this tool" in error.agent_message


def test_edit_options_refuse_what_the_local_engine_cannot_do_with_the_same_words() -> None:
    with pytest.raises(ValidationError) as caught:
        EditOptions(transition="spiral", fit="stretch")  # type: ignore[arg-type]
    text = invalid_arguments("generate_video", EditOptions.model_json_schema(), caught.value.errors()).agent_message
    assert '"fade", "slide", "wipe", "dissolve", "none"' in text and '"blur", "contain", "cover"' in text
