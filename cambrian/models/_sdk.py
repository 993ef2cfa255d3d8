"""What SDK-backed providers share: key, retry policy, one client per event loop.

A provider module supplies how to import its SDK, build a client, build the request
and make one attempt; this base class does the rest, so the retry and connection
policy is written once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any, TypeVar

from .._exceptions import ModelResponseError
from ._catalog import ModelInfo, resolve_api_key
from ._retry import (
    RetryPolicy,
    TransientError,
    call_with_retry,
    classify_status,
    error_fields,
    parse_retry_after,
    redact,
)
from ._types import Completion, GenerateConfig, Message

T = TypeVar("T")


async def call_sdk(
    sdk: ModuleType,
    request: Callable[[], Awaitable[T]],
    *,
    where: str,
    key: str | None,
    key_env: str,
    timeout: float,
) -> T:
    """Make one SDK request; map the SDK's failures to Cambrian's errors.

    The OpenAI and Anthropic SDKs share these exception names. Statuses become
    retryable or final errors by who must act (:func:`classify_status`); timeouts and
    connection failures are retryable; an unreadable body is the model's failure.
    """
    failure: Exception
    try:
        return await request()
    except sdk.APIStatusError as exc:
        code, message = error_fields(exc.body)
        failure = classify_status(
            where,
            exc.status_code,
            message=redact(message, key),
            code=code,
            retry_after=parse_retry_after(exc.response.headers),
            key_env=key_env,
        )
    except sdk.APITimeoutError:
        failure = TransientError(f"no reply within {timeout:g}s")
    except sdk.APIConnectionError as exc:
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        failure = TransientError(f"connection failed ({cause})")
    except (sdk.APIResponseValidationError, json.JSONDecodeError) as exc:
        failure = ModelResponseError(f"{where}: malformed response body ({type(exc).__name__})")
    # Raised outside the handler so the vendor exception (whose message may quote the
    # key, and whose request carries it) is not chained as __context__.
    raise failure


class SdkModel:
    """Base of the OpenAI-compatible and Anthropic providers (see their docstrings)."""

    kind = "sdk"
    """Names the endpoint's circuit breaker together with the base URL."""

    def __init__(
        self, info: ModelInfo, *, api_key: str | None = None, policy: RetryPolicy | None = None
    ) -> None:
        self._sdk = self._import_sdk()
        self.info = info
        self.name = info.spec
        self._key = resolve_api_key(info, api_key)
        self._policy = policy or RetryPolicy()
        self._timeout = self._policy.timeout or info.timeout
        # An SDK client binds its connection pool to one event loop; keep one per loop.
        self._client: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.spec!r})"

    # -- what a provider supplies --------------------------------------------------
    @staticmethod
    def _import_sdk() -> ModuleType:
        raise NotImplementedError

    def _new_client(self) -> Any:
        raise NotImplementedError

    def _params(self, messages: list[Message], config: GenerateConfig) -> dict[str, Any]:
        raise NotImplementedError

    async def _create(self, client: Any, params: dict[str, Any]) -> Any:
        """Send one request with the vendor client; returns the vendor response."""
        raise NotImplementedError

    def _completion(self, response: Any, messages: list[Message], where: str) -> Completion:
        """Turn the vendor response into a Completion (ModelResponseError if unusable)."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the HTTP connections opened in the running event loop.

        Call it when done with the model (the engine does at the end of a run); a
        model used again afterwards opens new connections.
        """
        if self._client is not None and self._client[0] is asyncio.get_running_loop():
            client, self._client = self._client[1], None
            await client.close()

    def _get_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client[0] is not loop:
            self._client = (loop, self._new_client())
        return self._client[1]

    async def _attempt(
        self, client: Any, params: dict[str, Any], messages: list[Message]
    ) -> Completion:
        where = self.info.spec
        if self.info.base_url not in where:
            where += f" at {self.info.base_url}"
        response = await call_sdk(
            self._sdk,
            lambda: self._create(client, params),
            where=where,
            key=self._key,
            key_env=self.info.api_key_env,
            timeout=self._timeout,
        )
        return self._completion(response, messages, where)

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        """Ask the model for one reply, under the retry policy.

        Returns:
            The reply; ``finish_reason == "length"`` when it was cut off.

        Raises:
            ModelError: The user must act (bad key, no quota, unknown model, bad request).
            ModelUnavailableError: Still failing after retries, or the circuit is open.
            ModelResponseError: The reply was unusable (malformed, empty, no content).
        """
        params = self._params(messages, config or GenerateConfig())
        client = self._get_client()

        async def attempt() -> Completion:
            return await self._attempt(client, params, messages)

        return await call_with_retry(
            f"{self.kind}:{self.info.base_url}", attempt, self._policy, timeout=self._timeout
        )
