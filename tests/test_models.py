"""The shipped test models and model spec resolution."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cambrian import Completion, FunctionModel, Message, Model, ScriptedModel
from cambrian._exceptions import ConfigError, ModelError
from cambrian.models import resolve_model

MESSAGES = [Message("user", "hello there")]


def test_scripted_model_replays_in_order_then_stops() -> None:
    model = ScriptedModel(["a", "b"])
    assert isinstance(model, Model)
    got = [asyncio.run(model.generate(MESSAGES)).text for _ in range(2)]
    assert got == ["a", "b"]
    with pytest.raises(ModelError, match="ran out"):
        asyncio.run(model.generate(MESSAGES))
    assert model.calls[0] == MESSAGES


def test_function_model_sync_and_async() -> None:
    async def shout(messages: list[Message]) -> str:
        return messages[-1].content.upper()

    assert asyncio.run(FunctionModel(shout).generate(MESSAGES)).text == "HELLO THERE"
    done = asyncio.run(FunctionModel(lambda m: Completion("x", model="m")).generate(MESSAGES))
    assert done.model == "m"
    usage = asyncio.run(FunctionModel(lambda m: "abcdefgh").generate(MESSAGES)).usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens == 2 and usage.cost == 0


def echo(messages: list[Message]) -> str:
    return "echo"


def test_resolve_python_and_scripted_specs(tmp_path: Path) -> None:
    model = resolve_model("python:test_models:echo")
    assert asyncio.run(model.generate(MESSAGES)).text == "echo"
    replies = tmp_path / "r.json"
    replies.write_text(json.dumps(["one", "two"]))
    scripted = resolve_model(f"scripted:{replies}")
    assert [asyncio.run(scripted.generate(MESSAGES)).text for _ in range(3)] == [
        "one",
        "two",
        "one",
    ]


@pytest.mark.parametrize(
    "spec", ["gpt-5", "python:nope", "python:no_such_module:x", "scripted:/nonexistent"]
)
def test_bad_specs_raise_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        resolve_model(spec)
