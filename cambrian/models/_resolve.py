"""Turn a model spec string (CLI ``--model``, ``RunConfig.model``) into a Model.

Supported now:

* ``python:package.module:attr`` — ``attr`` is a Model instance, a zero-argument
  factory returning one, or a function ``fn(messages) -> str`` (wrapped in a
  :class:`FunctionModel`).
* ``scripted:path/to/replies.json`` — a JSON list of reply strings, replayed in a
  cycle by a :class:`ScriptedModel`.
* ``provider/model[@base_url]`` — a model from the catalog (``models.toml``):
  ``openai/gpt-5-mini``, ``anthropic/claude-sonnet-4-5``,
  ``openai-compatible/<name>@http://host:port/v1``, ``local/<name>``, or any provider a
  user catalog adds. SDKs are imported only when such a model is built.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

from .._exceptions import ConfigError
from ._catalog import model_info
from ._retry import RetryPolicy
from ._testing import FunctionModel, ScriptedModel
from ._types import Model

_SCHEMES = (
    "python:module:attr",
    "scripted:replies.json",
    "replay:RUN_DIR",
    "provider/model[@base_url]",
)


def resolve_model(
    spec: str, *, api_key: str | None = None, policy: RetryPolicy | None = None
) -> Model:
    """Build the model named by ``spec``.

    Args:
        spec: ``python:module:attr``, ``scripted:replies.json`` or
            ``provider/model[@base_url]``.
        api_key: Key for a hosted provider; defaults to the catalog's environment variable.
        policy: Retry, timeout and circuit-breaker settings for hosted providers.

    Raises:
        ConfigError: The spec is malformed or names nothing usable.
        ModelError: The provider's SDK is missing or its key is not set.
    """
    scheme, _, rest = spec.partition(":")
    if scheme == "python" and rest.count(":") == 1:
        module_name, attr = rest.split(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"model {spec!r}: cannot import {rest!r}: {exc}") from exc
        if isinstance(obj, Model):
            return obj
        if callable(obj):
            params = inspect.signature(obj).parameters
            if not params:
                made = obj()
                if isinstance(made, Model):
                    return made
                raise ConfigError(
                    f"model {spec!r}: factory returned {type(made).__name__}, not a Model"
                )
            return FunctionModel(obj, name=f"python/{attr}")
        raise ConfigError(f"model {spec!r}: {attr!r} is neither a Model nor callable")
    if scheme == "scripted" and rest:
        try:
            replies = json.loads(Path(rest).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"model {spec!r}: cannot read replies: {exc}") from exc
        if (
            not isinstance(replies, list)
            or not all(isinstance(r, str) for r in replies)
            or not replies
        ):
            raise ConfigError(f"model {spec!r}: expected a non-empty JSON list of strings")
        return ScriptedModel(replies, name=f"scripted/{Path(rest).stem}", cycle=True)
    if scheme in ("replay", "replay-loose") and rest:
        # A recorded run answers again: the same prompts get the same replies.
        from ._replay import ReplayModel

        return ReplayModel(rest, strict=scheme == "replay")
    if scheme not in ("python", "scripted", "replay", "replay-loose") and "/" in spec:
        return _provider_model(spec, api_key=api_key, policy=policy)
    raise ConfigError(f"unknown model spec {spec!r}; supported forms: {', '.join(_SCHEMES)}")


def _provider_model(spec: str, *, api_key: str | None, policy: RetryPolicy | None) -> Model:
    info = model_info(spec)
    # Provider modules import their SDK when built, so each import here is deferred too.
    if info.api == "openai":
        from ._openai import OpenAIModel

        return OpenAIModel(info, api_key=api_key, policy=policy)
    if info.api == "anthropic":
        from ._anthropic import AnthropicModel

        return AnthropicModel(info, api_key=api_key, policy=policy)
    from ._local import LocalModel

    model: Model = LocalModel(
        info.name, gguf_path=info.gguf_path, n_ctx=info.context_window, threads=info.threads
    )
    return model
