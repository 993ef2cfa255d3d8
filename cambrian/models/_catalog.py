"""The model catalog: per-provider defaults and per-model settings and prices, as data.

The shipped ``models.toml`` (next to this module) is merged with a user file, so adding a
model, a price or an OpenAI-compatible provider is configuration, not code. See the
comment at the top of ``models.toml`` for the format.
"""

from __future__ import annotations

import functools
import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .._exceptions import ConfigError, ModelError

logger = logging.getLogger("cambrian.models")

_SHIPPED = Path(__file__).with_name("models.toml")
_USER_ENV = "CAMBRIAN_MODELS_FILE"
_URL_SCHEMES = ("http://", "https://")
_warned_unknown: set[str] = set()

EditFormat = Literal["diff", "rewrite"]


class ModelInfo(BaseModel):
    """Everything Cambrian knows about one model: where it lives, its limits, its price.

    Built by :func:`model_info` from the catalog; the provider's defaults apply to any
    field the model's own entry leaves out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: str
    """The spec this entry was resolved for, e.g. ``"openai/gpt-5-mini"``."""
    provider: str
    """Provider name, the part of the spec before the first ``/``."""
    name: str
    """Model id sent to the API (or the local model's name)."""
    api: Literal["openai", "anthropic", "local"]
    """Wire protocol the provider speaks."""
    base_url: str = ""
    """API root; for the OpenAI protocol it includes ``/v1``."""
    api_key_env: str = ""
    """Environment variable that holds the key; empty when none is needed."""
    key_required: bool = False
    """Refuse to start without a key (hosted APIs); otherwise send a placeholder."""
    context_window: int = 8192
    """Tokens the model can read, prompt and reply together."""
    max_output_tokens: int = 2048
    """Most tokens the model may write in one reply."""
    edit_format: EditFormat = "diff"
    """The edit format the proposer should ask this model for."""
    prompt_view: Literal["file", "block"] = "file"
    """What of the parent the prompt shows: whole files, or only the EVOLVE-BLOCK
    bodies with the names they must keep defining (small models rewrite the whole
    file, and break it, when shown all of it)."""
    input_price: float = 0.0
    """US$ per million prompt tokens."""
    output_price: float = 0.0
    """US$ per million completion tokens."""
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Name of the reply-length parameter the endpoint accepts (OpenAI protocol)."""
    supports_temperature: bool = True
    """False for models that reject any temperature but their default."""
    timeout: float = 120.0
    """Seconds one HTTP attempt may take before it counts as failed."""
    gguf_path: str | None = None
    """Embedded local models: the GGUF weights file (default: the installed one)."""
    threads: int | None = None
    """Embedded local models: CPU threads (default: llama.cpp's choice)."""
    known: bool = False
    """Whether the catalog lists this model (unknown models cost 0)."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US$ spent on a call with these token counts, at catalog prices."""
        return (prompt_tokens * self.input_price + completion_tokens * self.output_price) / 1e6


def estimate_tokens(text: str) -> int:
    """Rough token count (~4 characters a token) for servers that report no usage."""
    return max(1, len(text) // 4)


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """Split ``provider/model[@base_url]`` into its parts.

    Model ids may themselves hold ``/`` (``openrouter/meta-llama/llama-3-70b``) or ``@``
    (``claude-3-5-sonnet@20240620``); only an ``@`` followed by an http(s) URL is a base URL.

    Raises:
        ConfigError: The spec has no provider or no model.
    """
    provider, slash, rest = spec.partition("/")
    base_url: str | None = None
    head, at, tail = rest.rpartition("@")
    if at and tail.startswith(_URL_SCHEMES):
        rest, base_url = head, tail.rstrip("/")
    if not slash or not provider or not rest:
        raise ConfigError(
            f"model spec {spec!r} is not 'provider/model' "
            "(e.g. 'openai/gpt-5-mini', 'openai-compatible/qwen@http://127.0.0.1:8000/v1')"
        )
    return provider, rest, base_url


def user_catalog_path() -> Path:
    """The user's catalog file: ``$CAMBRIAN_MODELS_FILE``, else ``~/.config/cambrian/models.toml``."""
    explicit = os.environ.get(_USER_ENV)
    if explicit:
        return Path(explicit).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "cambrian" / "models.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"model catalog {str(path)!r} cannot be read: {exc}") from exc


def _merge(base: dict[str, Any], extra: dict[str, Any], path: Path) -> dict[str, Any]:
    merged: dict[str, Any] = {"providers": {}, "models": {}}
    for section in ("providers", "models"):
        for source in (base, extra):
            table = source.get(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"model catalog {str(path)!r}: [{section}] must be a table")
            for key, entry in table.items():
                if not isinstance(entry, dict):
                    raise ConfigError(
                        f"model catalog {str(path)!r}: [{section}.{key!r}] must be a table"
                    )
                merged[section][key] = {**merged[section].get(key, {}), **entry}
    unknown = set(extra) - {"providers", "models"}
    if unknown:
        raise ConfigError(
            f"model catalog {str(path)!r}: unknown tables {sorted(unknown)!r}; "
            "valid: ['models', 'providers']"
        )
    return merged


@functools.lru_cache(maxsize=8)
def _load(user_path: str, mtime_ns: int) -> dict[str, Any]:
    # Keyed on the user file's path and mtime, so an edited file is re-read.
    shipped = _read_toml(_SHIPPED)
    path = Path(user_path)
    extra = _read_toml(path) if mtime_ns >= 0 else {}
    return _merge(shipped, extra, path)


def load_catalog() -> dict[str, Any]:
    """The merged catalog: ``{"providers": {...}, "models": {...}}`` (raw tables).

    Raises:
        ConfigError: The shipped or user file is unreadable or malformed.
    """
    path = user_catalog_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        mtime_ns = -1
    except OSError as exc:
        raise ConfigError(f"model catalog {str(path)!r} cannot be read: {exc}") from exc
    return _load(str(path), mtime_ns)


def model_info(spec: str, *, warn_unknown: bool = True) -> ModelInfo:
    """Look up the catalog entry for a model spec.

    Args:
        spec: ``provider/model`` or ``provider/model@base_url``.
        warn_unknown: Log (once per spec) that an unlisted chat model gets default
            limits and a price of 0; an embedding model has neither, so it passes False.

    Returns:
        The model's settings; for a model the catalog does not list, the provider's
        defaults with a price of 0 (logged once per spec).

    Raises:
        ConfigError: The spec is malformed, names an unknown provider, or the catalog
            entry is invalid.
    """
    provider, name, base_url = parse_spec(spec)
    catalog = load_catalog()
    providers: dict[str, Any] = catalog["providers"]
    if provider not in providers:
        raise ConfigError(
            f"model spec {spec!r}: unknown provider {provider!r}; known: {sorted(providers)!r} "
            f"(add one under [providers] in {str(user_catalog_path())!r})"
        )
    entry = catalog["models"].get(f"{provider}/{name}")
    fields: dict[str, Any] = {**providers[provider], **(entry or {})}
    if base_url is not None:
        fields["base_url"] = base_url
    fields.update(spec=spec, provider=provider, name=name, known=entry is not None)
    try:
        info = ModelInfo(**fields)
    except ValidationError as exc:
        raise ConfigError(f"model catalog entry for {spec!r} is invalid: {exc}") from exc
    if warn_unknown and entry is None and info.api != "local" and spec not in _warned_unknown:
        _warned_unknown.add(spec)
        logger.warning(
            "model %r is not in the catalog: using %s defaults (context %d tokens) and "
            "counting its cost as $0; add it to %s to set its limits and prices",
            spec,
            provider,
            info.context_window,
            user_catalog_path(),
        )
    return info


def resolve_api_key(info: ModelInfo, explicit: str | None = None) -> str | None:
    """The key for ``info``: ``explicit``, else the catalog's environment variable.

    Returns None when the endpoint needs no key (local servers).

    Raises:
        ModelError: A hosted API needs a key and none is set.
    """
    if explicit:
        return explicit
    if info.api_key_env and os.environ.get(info.api_key_env):
        return os.environ[info.api_key_env]
    if info.key_required:
        where = f"set {info.api_key_env}" if info.api_key_env else "set api_key_env in the catalog"
        raise ModelError(f"model {info.spec!r} needs an API key: {where} or pass api_key")
    return None
