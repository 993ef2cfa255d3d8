"""Anthropic Messages API provider.

The ``anthropic`` SDK is imported when a model is built, never at package import, and its
types never leave this module: callers get Cambrian's :class:`Completion`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .._exceptions import ModelError, ModelResponseError
from ._catalog import estimate_tokens
from ._sdk import SdkModel
from ._types import Completion, GenerateConfig, Message, Usage

# Anthropic's stop reasons, in the OpenAI vocabulary the proposer reads.
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


def _import_sdk() -> ModuleType:
    try:
        import anthropic
    except ImportError as exc:
        raise ModelError(
            "the Anthropic provider needs the anthropic SDK: pip install 'cambrian[anthropic]'"
        ) from exc
    return anthropic


class AnthropicModel(SdkModel):
    """A Claude model behind the Anthropic Messages API.

    Usually built by :func:`~cambrian.models.resolve_model` from a spec such as
    ``anthropic/claude-sonnet-4-5``. System messages are joined into the separate
    ``system`` parameter the API expects.

    Args:
        info: The model's catalog entry (endpoint, limits, prices).
        api_key: The key; defaults to the environment variable the catalog names.
        policy: Retry, timeout and circuit-breaker settings.

    Raises:
        ModelError: The ``anthropic`` SDK is missing, or no key is set.
    """

    kind = "anthropic"

    @staticmethod
    def _import_sdk() -> ModuleType:
        return _import_sdk()

    def _new_client(self) -> Any:
        return self._sdk.AsyncAnthropic(
            api_key=self._key or "not-needed",
            base_url=self.info.base_url or None,
            timeout=self._timeout,
            max_retries=0,  # one retry policy: ours
        )

    def _params(self, messages: list[Message], config: GenerateConfig) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.info.name,
            "messages": [
                {"role": m.role, "content": m.content} for m in messages if m.role != "system"
            ],
            # The API requires a bound on the reply; the catalog's is the model's own.
            "max_tokens": config.max_tokens or self.info.max_output_tokens,
        }
        if system:
            params["system"] = system
        if config.temperature is not None and self.info.supports_temperature:
            # Recent SDKs dropped the keyword; the wire field works with every version.
            params["extra_body"] = {"temperature": config.temperature}
        return params

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        return await client.messages.create(**params)

    def _completion(self, response: Any, messages: list[Message], where: str) -> Completion:
        blocks = getattr(response, "content", None)
        stop = getattr(response, "stop_reason", None) or "end_turn"
        finish = _FINISH.get(str(stop), str(stop))
        texts = [
            b.text
            for b in (blocks if isinstance(blocks, list) else [])
            if getattr(b, "type", None) == "text" and isinstance(getattr(b, "text", None), str)
        ]
        if not texts and finish != "length":
            raise ModelResponseError(f"{where}: the reply has no text (stop_reason {stop!r})")
        text = "".join(texts)
        usage = getattr(response, "usage", None)
        counts = [
            getattr(usage, k, None)
            for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        ]
        completion = getattr(usage, "output_tokens", None)
        if not isinstance(counts[0], int) or not isinstance(completion, int):
            prompt = sum(estimate_tokens(m.content) for m in messages)
            completion = estimate_tokens(text)
        else:
            prompt = sum(c for c in counts if isinstance(c, int))
        return Completion(
            text=text,
            model=self.info.spec,
            usage=Usage(prompt, completion, self.info.cost(prompt, completion)),
            finish_reason=finish,
        )
