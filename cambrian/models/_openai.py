"""OpenAI-compatible chat-completions provider (OpenAI, vLLM, Ollama, llama.cpp server, ...).

The ``openai`` SDK is imported when a model is built, never at package import, and its
types never leave this module: callers get Cambrian's :class:`Completion`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .._exceptions import ModelError, ModelResponseError
from ._catalog import estimate_tokens
from ._sdk import SdkModel
from ._types import Completion, GenerateConfig, Message, Usage

# Local servers ignore the key but the SDK insists on one.
_NO_KEY = "not-needed"


def _import_sdk() -> ModuleType:
    try:
        import openai
    except ImportError as exc:
        raise ModelError(
            "the OpenAI-compatible provider needs the openai SDK: pip install 'cambrian[openai]'"
        ) from exc
    return openai


class OpenAIModel(SdkModel):
    """A model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Usually built by :func:`~cambrian.models.resolve_model` from a spec such as
    ``openai/gpt-5-mini`` or ``openai-compatible/qwen@http://127.0.0.1:8000/v1``.

    Args:
        info: The model's catalog entry (endpoint, limits, prices).
        api_key: The key; defaults to the environment variable the catalog names.
        policy: Retry, timeout and circuit-breaker settings.

    Raises:
        ModelError: The ``openai`` SDK is missing, or a hosted API has no key.
    """

    kind = "openai"

    @staticmethod
    def _import_sdk() -> ModuleType:
        return _import_sdk()

    def _new_client(self) -> Any:
        return self._sdk.AsyncOpenAI(
            api_key=self._key or _NO_KEY,
            base_url=self.info.base_url,
            timeout=self._timeout,
            max_retries=0,  # one retry policy: ours
        )

    def _params(self, messages: list[Message], config: GenerateConfig) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.info.name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        if config.temperature is not None and self.info.supports_temperature:
            params["temperature"] = config.temperature
        if config.max_tokens is not None:
            params[self.info.max_tokens_param] = config.max_tokens
        if config.seed is not None:
            params["seed"] = config.seed
        return params

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        return await client.chat.completions.create(**params)

    def _completion(self, response: Any, messages: list[Message], where: str) -> Completion:
        # Compatible servers vary; read defensively instead of trusting the SDK's types.
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise ModelResponseError(f"{where}: the reply has no choices")
        choice = choices[0]
        finish = getattr(choice, "finish_reason", None) or "stop"
        content = getattr(getattr(choice, "message", None), "content", None)
        if finish == "length":
            text = content if isinstance(content, str) else ""
        elif isinstance(content, str):
            text = content
        else:
            raise ModelResponseError(
                f"{where}: the reply has no content (finish_reason {finish!r})"
            )
        usage = getattr(response, "usage", None)
        prompt = getattr(usage, "prompt_tokens", None)
        completion = getattr(usage, "completion_tokens", None)
        if not isinstance(prompt, int) or not isinstance(completion, int):
            prompt = sum(estimate_tokens(m.content) for m in messages)
            completion = estimate_tokens(text)
        return Completion(
            text=text,
            model=self.info.spec,
            usage=Usage(prompt, completion, self.info.cost(prompt, completion)),
            finish_reason=str(finish),
        )
