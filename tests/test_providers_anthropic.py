"""The Anthropic provider against the fake server's Messages API over loopback HTTP."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic  # noqa: F401  (its multi-second import belongs to collection, not a test)
import pytest
from fakes.clock import Clock, fast_policy
from fakes.network import NetworkGuard, network_guard
from fakes.openai_server import (
    FakeServer,
    close,
    empty_choices,
    length,
    malformed,
    reply,
    slow,
    status,
)

from cambrian._exceptions import ModelError, ModelResponseError, ModelUnavailableError
from cambrian.models import GenerateConfig, Message, resolve_model
from cambrian.models._types import Completion, Model

KEY = "sk-ant-test-SECRET-abcdef0123456789"
MESSAGES = [
    Message("system", "You write code."),
    Message("system", "Answer with one block."),
    Message("user", "improve this"),
]

__all__ = ["network_guard"]  # the fixture, imported for use below


@pytest.fixture(autouse=True)
def _isolated(network_guard: NetworkGuard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMBRIAN_MODELS_FILE", str(tmp_path / "absent.toml"))


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def model(server: FakeServer, clock: Clock, **overrides: Any) -> Model:
    return resolve_model(
        f"anthropic/claude-haiku-4-5@{server.root}",
        api_key=KEY,
        policy=fast_policy(clock, **overrides),
    )


def ask(m: Model, config: GenerateConfig | None = None) -> Completion:
    async def call() -> Completion:
        try:
            return await m.generate(MESSAGES, config)
        finally:
            await m.aclose()  # type: ignore[attr-defined]

    return asyncio.run(call())


def test_reply_usage_cost_and_system_prompt_separated(server: FakeServer, clock: Clock) -> None:
    server.script(reply("x = 1", usage=(2000, 1000)))
    got = ask(model(server, clock), GenerateConfig(temperature=0.2))
    assert (got.text, got.finish_reason) == ("x = 1", "stop")
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (2000, 1000)
    # claude-haiku-4-5 costs $1 / $5 per million tokens in the shipped catalog.
    assert got.usage.cost == pytest.approx((2000 * 1 + 1000 * 5) / 1e6)
    [sent] = server.requests
    assert sent.path == "/v1/messages"
    # SDK versions differ in how they send the key; one of the two must carry it.
    assert KEY in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "")[7:])
    assert "anthropic-version" in sent.headers
    assert sent.body["system"] == "You write code.\n\nAnswer with one block."
    assert sent.body["messages"] == [{"role": "user", "content": "improve this"}]
    assert sent.body["model"] == "claude-haiku-4-5"
    assert sent.body["max_tokens"] == 64000  # required by the API: the catalog's limit
    assert sent.body["temperature"] == 0.2


@pytest.mark.parametrize("fault", [status(429, retry_after="4"), status(529), close()])
def test_transient_faults_are_retried(server: FakeServer, clock: Clock, fault: Any) -> None:
    server.script(fault, reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert len(server.requests) == 2 and len(clock.sleeps) == 1
    if fault.headers.get("Retry-After"):
        assert clock.sleeps[0] >= 4


def test_outage_exhausts_into_unavailable(server: FakeServer, clock: Clock) -> None:
    server.script(*[status(529)] * 3)
    with pytest.raises(ModelUnavailableError, match="gave up after 3"):
        ask(model(server, clock, max_attempts=3))


def test_timeout_is_retried(server: FakeServer, clock: Clock) -> None:
    server.script(slow(3.0), reply("fast"))
    assert ask(model(server, clock, timeout=0.3)).text == "fast"


@pytest.mark.parametrize("code", [401, 403, 404, 402, 400])
def test_client_errors_stop_without_retry(server: FakeServer, clock: Clock, code: int) -> None:
    server.script(status(code, message=f"invalid x-api-key {KEY}"))
    with pytest.raises(ModelError) as info:
        ask(model(server, clock))
    assert not isinstance(info.value, ModelUnavailableError)
    assert KEY not in str(info.value) and info.value.__context__ is None
    assert len(server.requests) == 1


def test_max_tokens_stop_is_length(server: FakeServer, clock: Clock) -> None:
    server.script(length("def f(:"))
    got = ask(model(server, clock), GenerateConfig(max_tokens=5))
    assert (got.text, got.finish_reason) == ("def f(:", "length")
    assert server.requests[0].body["max_tokens"] == 5


@pytest.mark.parametrize("fault", [empty_choices(), malformed()])
def test_unusable_replies_are_response_errors(server: FakeServer, clock: Clock, fault: Any) -> None:
    server.script(fault)
    with pytest.raises(ModelResponseError):
        ask(model(server, clock))
    assert len(server.requests) == 1


def test_missing_key_and_missing_sdk_are_model_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="ANTHROPIC_API_KEY"):
        resolve_model("anthropic/claude-sonnet-4-5")
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ModelError, match=r"pip install 'cambrian\[anthropic\]'"):
        resolve_model("anthropic/claude-sonnet-4-5", api_key=KEY)
