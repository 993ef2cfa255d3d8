"""Anthropic Messages API provider.

The ``anthropic`` SDK is imported when a model is built, never at package import, and its
types never leave this module: callers get Cambrian's :class:`Completion`.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from .._exceptions import ModelError, ModelResponseError
from ._catalog import estimate_tokens
from ._retry import (
    TransientError,
    classify_status,
    error_fields,
    parse_retry_after,
    redact,
)
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

    async def _attempt(
        self, client: Any, params: dict[str, Any], messages: list[Message]
    ) -> Completion:
        sdk = self._sdk
        where = self.info.spec
        if self.info.base_url not in where:
            where += f" at {self.info.base_url}"
        failure: Exception
        try:
            response = await client.messages.create(**params)
        except sdk.APIStatusError as exc:
            code, message = error_fields(exc.body)
            failure = classify_status(
                where,
                exc.status_code,
                message=redact(message, self._key),
                code=code,
                retry_after=parse_retry_after(exc.response.headers),
                key_env=self.info.api_key_env,
            )
        except sdk.APITimeoutError:
            failure = TransientError(f"no reply within {self._timeout:g}s")
        except sdk.APIConnectionError as exc:
            cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            failure = TransientError(f"connection failed ({cause})")
        except (sdk.APIResponseValidationError, json.JSONDecodeError) as exc:
            failure = ModelResponseError(f"{where}: malformed response body ({type(exc).__name__})")
        else:
            return self._completion(response, messages, where)
        # Raised outside the handler so the vendor exception (whose message may quote
        # the key, and whose request carries it) is not chained as __context__.
        raise failure

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
