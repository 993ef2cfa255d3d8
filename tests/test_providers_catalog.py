"""Model specs, the catalog (shipped + user file), and the retry policy's arithmetic."""

from __future__ import annotations

import logging
import sys
import types
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from cambrian._exceptions import ConfigError, ModelError
from cambrian.models import ModelInfo, OpenAIModel, RetryPolicy, model_info, resolve_model
from cambrian.models._catalog import parse_spec
from cambrian.models._retry import parse_retry_after, redact


@pytest.fixture
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "models.toml"
    monkeypatch.setenv("CAMBRIAN_MODELS_FILE", str(path))
    return path


@pytest.mark.parametrize(
    ("spec", "parts"),
    [
        ("openai/gpt-5-mini", ("openai", "gpt-5-mini", None)),
        (
            "openai-compatible/qwen2.5-coder@http://127.0.0.1:8000/v1/",
            ("openai-compatible", "qwen2.5-coder", "http://127.0.0.1:8000/v1"),
        ),
        ("openrouter/meta-llama/llama-3-70b", ("openrouter", "meta-llama/llama-3-70b", None)),
        ("anthropic/claude-x@20240620", ("anthropic", "claude-x@20240620", None)),
        ("local/qwen2.5-coder-1.5b", ("local", "qwen2.5-coder-1.5b", None)),
    ],
)
def test_parse_spec(spec: str, parts: tuple[str, str, str | None]) -> None:
    assert parse_spec(spec) == parts


@pytest.mark.parametrize("spec", ["gpt-5", "/gpt-5", "openai/", "openai/@http://h/v1"])
def test_malformed_specs(spec: str) -> None:
    with pytest.raises(ConfigError, match="provider/model"):
        parse_spec(spec)


def test_known_models_carry_settings_and_prices(user_file: Path) -> None:
    info = model_info("openai/gpt-5-mini")
    assert isinstance(info, ModelInfo) and info.known
    assert (info.api, info.base_url, info.api_key_env) == (
        "openai",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
    )
    assert info.edit_format == "diff" and info.context_window == 400000
    assert info.cost(1_000_000, 1_000_000) == pytest.approx(0.25 + 2.0)
    assert model_info("local/qwen2.5-coder-1.5b").edit_format == "rewrite"
    assert model_info("anthropic/claude-haiku-4-5").max_output_tokens == 64000


def test_unknown_model_of_known_provider_uses_defaults_and_warns_once(
    user_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cambrian.models")
    spec = "openai-compatible/never-heard-of-it@http://127.0.0.1:1234/v1"
    info = model_info(spec)
    model_info(spec)
    assert not info.known and info.cost(10**6, 10**6) == 0
    assert info.base_url == "http://127.0.0.1:1234/v1" and info.edit_format == "rewrite"
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "not in the catalog" in caplog.text


def test_unknown_provider_lists_the_known_ones(user_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown provider 'nope'.*'openai'"):
        model_info("nope/model")


def test_user_file_adds_providers_and_models_and_overrides(user_file: Path) -> None:
    user_file.write_text(
        """
[providers.myvllm]
api = "openai"
base_url = "http://127.0.0.1:9999/v1"
edit_format = "rewrite"

[models."myvllm/coder-7b"]
context_window = 32768
input_price = 0.1
output_price = 0.2

[models."openai/gpt-5-mini"]
input_price = 9.0
edit_format = "rewrite"
"""
    )
    mine = model_info("myvllm/coder-7b")
    assert (mine.base_url, mine.context_window, mine.known) == (
        "http://127.0.0.1:9999/v1",
        32768,
        True,
    )
    assert mine.cost(10**6, 10**6) == pytest.approx(0.3)
    gpt = model_info("openai/gpt-5-mini")
    assert (gpt.input_price, gpt.output_price, gpt.edit_format) == (9.0, 2.0, "rewrite")
    assert isinstance(resolve_model("myvllm/coder-7b"), OpenAIModel)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[models", "cannot be read"),
        ('[models."openai/x"]\nedit_format = "poem"', "invalid"),
        ('[models."openai/x"]\ncolour = 3', "invalid"),
        ("[other]\na = 1", "unknown tables"),
    ],
)
def test_bad_user_files_are_config_errors(user_file: Path, text: str, words: str) -> None:
    user_file.write_text(text)
    with pytest.raises(ConfigError, match=words):
        model_info("openai/x")


def test_local_specs_build_the_embedded_model_lazily(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[dict[str, Any]] = []

    class LocalModel:
        def __init__(self, name: str, **kwargs: Any) -> None:
            self.name = name
            made.append({"name": name, **kwargs})

        async def generate(self, messages: Any, config: Any = None) -> Any:
            raise NotImplementedError

    fake = types.ModuleType("cambrian.models._local")
    fake.LocalModel = LocalModel  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cambrian.models._local", fake)
    user_file.write_text('[models."local/mine"]\ngguf_path = "/m/x.gguf"\nthreads = 2\n')
    resolve_model("local/mine")
    assert made == [{"name": "mine", "gguf_path": "/m/x.gguf", "n_ctx": 8192, "threads": 2}]


def test_hosted_keys_come_from_the_environment(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelError, match="DEEPSEEK_API_KEY"):
        resolve_model("deepseek/deepseek-chat")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-from-env-0123456789")
    assert resolve_model("deepseek/deepseek-chat").name == "deepseek/deepseek-chat"


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = datetime.now(UTC) + timedelta(seconds=40)
    assert (
        35 <= (parse_retry_after({"retry-after": format_datetime(future, usegmt=True)}) or 0) <= 41
    )
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_is_full_jitter_capped_and_respects_retry_after() -> None:
    high = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=lambda: 1.0)
    low = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=lambda: 0.0)
    assert [high.backoff(n, None) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]
    assert low.backoff(3, None) == 0 and low.backoff(3, 5.0) == 5.0


def test_redact_blanks_keys_and_key_shapes() -> None:
    text = "Incorrect API key provided: sk-proj-abc123def456. Bearer xyz789 secret123"
    out = redact(text, "secret123")
    assert "abc123def456" not in out and "xyz789" not in out and "secret123" not in out
