"""The OpenAI-compatible provider against a fake server over real loopback HTTP.

Every fault the fake can inject is exercised here; time is injected (sleep, clock) so
backoff costs nothing, and only the slow-reply test waits for a real (short) timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import openai  # noqa: F401  (its multi-second import belongs to collection, not a test)
import pytest
from fakes.clock import Clock, fast_policy
from fakes.network import NetworkGuard, network_guard
from fakes.openai_server import (
    FakeServer,
    close,
    empty_choices,
    insufficient_quota,
    length,
    malformed,
    null_content,
    reply,
    reset,
    slow,
    status,
)

from cambrian._exceptions import ModelError, ModelResponseError, ModelUnavailableError
from cambrian.models import GenerateConfig, Message, resolve_model
from cambrian.models._types import Completion, Model

KEY = "sk-test-SECRET-0123456789abcdef"
MESSAGES = [Message("system", "You write code."), Message("user", "improve this")]
CATALOG = """
[models."openai-compatible/fake-model"]
input_price = 1.0
output_price = 2.0
"""

__all__ = ["network_guard"]  # the fixture, imported for use below


@pytest.fixture(autouse=True)
def _isolated(network_guard: NetworkGuard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text(CATALOG)
    monkeypatch.setenv("CAMBRIAN_MODELS_FILE", str(catalog))


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    return Clock()


def model(server: FakeServer, clock: Clock, key: str | None = KEY, **overrides: Any) -> Model:
    return resolve_model(
        f"openai-compatible/fake-model@{server.url}",
        api_key=key,
        policy=fast_policy(clock, **overrides),
    )


def ask(m: Model, config: GenerateConfig | None = None) -> Completion:
    async def call() -> Completion:
        try:
            return await m.generate(MESSAGES, config)
        finally:
            await m.aclose()  # type: ignore[attr-defined]

    return asyncio.run(call())


def test_normal_reply_records_usage_cost_and_request(server: FakeServer, clock: Clock) -> None:
    server.script(reply("def f(): pass", usage=(1000, 500)))
    got = ask(model(server, clock), GenerateConfig(temperature=0.3, max_tokens=64, seed=7))
    assert got.text == "def f(): pass"
    assert got.finish_reason == "stop"
    assert got.model == f"openai-compatible/fake-model@{server.url}"
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (1000, 500)
    assert got.usage.cost == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    [sent] = server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "fake-model"
    assert sent.body["messages"] == [
        {"role": "system", "content": "You write code."},
        {"role": "user", "content": "improve this"},
    ]
    assert (sent.body["temperature"], sent.body["max_tokens"], sent.body["seed"]) == (0.3, 64, 7)
    assert clock.sleeps == []


def test_local_server_needs_no_key(server: FakeServer, clock: Clock) -> None:
    assert ask(model(server, clock, key=None)).text == "ok"
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_429_retry_after_seconds_is_honoured(server: FakeServer, clock: Clock) -> None:
    server.script(status(429, retry_after="3"), status(429, retry_after="1"), reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert len(server.requests) == 3
    assert clock.sleeps[0] >= 3 and clock.sleeps[1] >= 1


def test_429_retry_after_http_date_is_honoured(server: FakeServer, clock: Clock) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script(status(429, retry_after=when), reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert 25 <= clock.sleeps[0] <= 31


def test_retry_after_ms_header_is_honoured(server: FakeServer, clock: Clock) -> None:
    server.script(status(429, headers={"retry-after-ms": "2500"}), reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert clock.sleeps == [pytest.approx(2.5)]


@pytest.mark.parametrize("code", [500, 502, 503, 529, 408])
def test_server_errors_are_retried(server: FakeServer, clock: Clock, code: int) -> None:
    server.script(status(code), status(code), reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert len(server.requests) == 3
    # Full jitter: rng 0.5 of base 1s, 2s.
    assert clock.sleeps == [pytest.approx(0.5), pytest.approx(1.0)]


def test_exhausted_retries_raise_unavailable(server: FakeServer, clock: Clock) -> None:
    server.script(*[status(503, retry_after="7")] * 4)
    with pytest.raises(ModelUnavailableError, match="gave up after 4 attempts") as info:
        ask(model(server, clock))
    assert len(server.requests) == 4 and len(clock.sleeps) == 3
    assert info.value.retry_after == 7


def test_too_long_retry_after_is_handed_to_the_engine(server: FakeServer, clock: Clock) -> None:
    server.script(status(429, retry_after="3600"))
    with pytest.raises(ModelUnavailableError) as info:
        ask(model(server, clock))
    assert info.value.retry_after == 3600
    assert len(server.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("code", "words"), [(401, "key was rejected"), (403, "permission"), (404, "not found")]
)
def test_client_errors_stop_without_retry(
    server: FakeServer, clock: Clock, code: int, words: str
) -> None:
    # Real providers echo (parts of) the key back in error bodies.
    server.script(status(code, message=f"Incorrect API key provided: {KEY}"))
    with pytest.raises(ModelError, match=words) as info:
        ask(model(server, clock))
    assert not isinstance(info.value, ModelUnavailableError)
    assert KEY not in str(info.value) and KEY[:12] not in str(info.value)
    assert len(server.requests) == 1 and clock.sleeps == []


def test_insufficient_quota_stops_without_retry(server: FakeServer, clock: Clock) -> None:
    server.script(insufficient_quota())
    with pytest.raises(ModelError, match=r"quota exhausted.*resume") as info:
        ask(model(server, clock))
    assert not isinstance(info.value, ModelUnavailableError)
    assert len(server.requests) == 1


def test_bad_request_is_a_user_error_but_context_overflow_a_failed_proposal(
    server: FakeServer, clock: Clock
) -> None:
    server.script(status(400, message="Unsupported parameter: 'max_tokens'"))
    with pytest.raises(ModelError, match="request rejected"):
        ask(model(server, clock))
    server.script(status(400, error_code="context_length_exceeded"))
    with pytest.raises(ModelResponseError, match="prompt too long"):
        ask(model(server, clock))
    assert len(server.requests) == 2


@pytest.mark.parametrize("fault", [reset, close], ids=["reset", "close"])
def test_dropped_connections_are_retried(server: FakeServer, clock: Clock, fault: object) -> None:
    assert callable(fault)
    server.script(fault(), fault(), reply("done"))
    assert ask(model(server, clock)).text == "done"
    assert len(server.requests) == 3 and len(clock.sleeps) == 2


def test_slow_reply_times_out_and_is_retried(server: FakeServer, clock: Clock) -> None:
    server.script(slow(3.0), reply("fast"))
    start = time.monotonic()
    assert ask(model(server, clock, timeout=0.3)).text == "fast"
    assert time.monotonic() - start < 2.0
    assert len(server.requests) == 2 and len(clock.sleeps) == 1


def test_slow_replies_exhaust_into_unavailable(server: FakeServer, clock: Clock) -> None:
    server.script(slow(3.0), slow(3.0))
    with pytest.raises(ModelUnavailableError, match="gave up after 2"):
        ask(model(server, clock, timeout=0.2, max_attempts=2))


@pytest.mark.parametrize(
    ("fault", "words"),
    [(malformed, "malformed"), (empty_choices, "no choices"), (null_content, "no content")],
)
def test_unusable_replies_are_response_errors(
    server: FakeServer, clock: Clock, fault: object, words: str
) -> None:
    assert callable(fault)
    server.script(fault())
    with pytest.raises(ModelResponseError, match=words):
        ask(model(server, clock))
    assert len(server.requests) == 1 and clock.sleeps == []


def test_length_finish_returns_the_truncated_completion(server: FakeServer, clock: Clock) -> None:
    server.script(length("def f(:"))
    got = ask(model(server, clock))
    assert (got.text, got.finish_reason) == ("def f(:", "length")


def test_circuit_opens_fails_fast_then_probes(server: FakeServer, clock: Clock) -> None:
    m = model(server, clock, max_attempts=2, breaker_threshold=3, breaker_cooldown=30)
    server.script(*[status(500)] * 3)
    with pytest.raises(ModelUnavailableError, match="gave up"):
        ask(m)
    with pytest.raises(ModelUnavailableError, match="circuit opened"):
        ask(m)
    assert len(server.requests) == 3
    with pytest.raises(ModelUnavailableError, match="circuit open") as info:
        ask(m)  # fails fast: no request reaches the server
    assert len(server.requests) == 3 and 0 < (info.value.retry_after or 0) <= 30
    clock.now += 31
    server.script(status(500))  # the half-open probe fails: open again
    with pytest.raises(ModelUnavailableError, match="circuit opened"):
        ask(m)
    assert len(server.requests) == 4
    with pytest.raises(ModelUnavailableError, match="circuit open"):
        ask(m)
    clock.now += 31
    assert ask(m).text == "ok"  # the probe succeeds: closed again
    assert ask(m).text == "ok"
    assert len(server.requests) == 6


def test_circuit_is_shared_by_models_of_one_endpoint(server: FakeServer, clock: Clock) -> None:
    first = model(server, clock, max_attempts=1, breaker_threshold=2)
    second = model(server, clock, max_attempts=1, breaker_threshold=2)
    server.script(status(502), status(502))
    for m in (first, second):
        with pytest.raises(ModelUnavailableError):
            ask(m)
    with pytest.raises(ModelUnavailableError, match="circuit open"):
        ask(first)
    assert len(server.requests) == 2


def test_key_never_logged_nor_in_messages(
    server: FakeServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    m = model(server, clock)
    server.script(status(500, message=f"bad {KEY}"), reply("ok"))
    assert ask(m).text == "ok"
    server.script(status(401, message=f"Incorrect API key provided: {KEY}"))
    with pytest.raises(ModelError) as info:
        ask(m)
    assert "retrying" in caplog.text
    assert KEY not in caplog.text
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert KEY not in repr(m)


def test_hosted_provider_without_key_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        resolve_model("openai/gpt-5-mini")


def test_missing_sdk_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ModelError, match=r"pip install 'cambrian\[openai\]'"):
        resolve_model("openai-compatible/fake-model@http://127.0.0.1:9/v1")


def test_the_guard_catches_a_real_provider(network_guard: NetworkGuard, clock: Clock) -> None:
    m = resolve_model("openai/gpt-5-mini", api_key=KEY, policy=fast_policy(clock, max_attempts=1))
    with pytest.raises(AssertionError, match=r"only 127\.0\.0\.1 is allowed"):
        ask(m)
    assert network_guard.violations == ["api.openai.com"]
    network_guard.violations.clear()


def test_reasoning_models_get_their_own_parameters(server: FakeServer, clock: Clock) -> None:
    # gpt-5 accepts only max_completion_tokens and the default temperature: catalog data.
    m = resolve_model(f"openai/gpt-5-mini@{server.url}", api_key=KEY, policy=fast_policy(clock))
    ask(m, GenerateConfig(temperature=0.9, max_tokens=100))
    body = server.requests[0].body
    assert body["max_completion_tokens"] == 100
    assert "max_tokens" not in body and "temperature" not in body
