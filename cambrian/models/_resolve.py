"""Turn a model spec string (CLI ``--model``, ``RunConfig.model``) into a Model.

Supported now:

* ``python:package.module:attr`` — ``attr`` is a Model instance, a zero-argument
  factory returning one, or a function ``fn(messages) -> str`` (wrapped in a
  :class:`FunctionModel`).
* ``scripted:path/to/replies.json`` — a JSON list of reply strings, replayed in a
  cycle by a :class:`ScriptedModel`.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

from .._exceptions import ConfigError
from ._testing import FunctionModel, ScriptedModel
from ._types import Model

_SCHEMES = ("python:module:attr", "scripted:replies.json")


def resolve_model(spec: str) -> Model:
    """Build the model named by ``spec``.

    Raises:
        ConfigError: The spec is malformed or names nothing usable.
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
    raise ConfigError(f"unknown model spec {spec!r}; supported forms: {', '.join(_SCHEMES)}")
