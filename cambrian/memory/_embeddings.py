"""An optional memory retriever that ranks documents by cosine similarity of embeddings.

Vectors come from any OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, Ollama,
llama.cpp server, ...) through the ``openai`` SDK, imported when a retriever is built and
never at package import; the SDK's types never leave this module. Vectors are cached by
the text's sha256, so ranking the same documents again costs at most the query's request.
Retries, timeouts and the circuit breaker are the models' :class:`RetryPolicy`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
from collections import OrderedDict
from types import ModuleType
from typing import Any

from .._exceptions import ConfigError, ModelError, ModelResponseError
from ..models._catalog import model_info, resolve_api_key
from ..models._retry import (
    RetryPolicy,
    call_with_retry,
)
from ..models._sdk import call_sdk

_OPENAI_URL = "https://api.openai.com/v1"
_OPENAI_KEY_ENV = "OPENAI_API_KEY"
# Local servers ignore the key but the SDK insists on one.
_NO_KEY = "not-needed"

Vector = tuple[float, ...]
"""A unit-length embedding (all zeros when the server returned a zero vector)."""


def _import_sdk() -> ModuleType:
    try:
        import openai
    except ImportError as exc:
        raise ModelError(
            "the embedding retriever needs the openai SDK: pip install 'cambrian[openai]'"
        ) from exc
    return openai


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _unit(values: list[float]) -> Vector:
    norm = math.sqrt(math.fsum(v * v for v in values))
    return tuple(v / norm for v in values) if norm else tuple(0.0 for _ in values)


def _cosine(a: Vector, b: Vector) -> float:
    # Both are unit vectors, so the dot product is the cosine; clamp rounding drift.
    return max(-1.0, min(1.0, math.fsum(x * y for x, y in zip(a, b, strict=True))))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _vectors(response: Any, count: int, where: str) -> list[list[float]]:
    """The ``count`` embeddings of a reply, in input order (ModelResponseError if unusable)."""
    # Compatible servers vary and the SDK does not validate: read defensively.
    data = getattr(response, "data", None)
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else "no"
        raise ModelResponseError(f"{where}: the reply has {got} embeddings for {count} inputs")
    # Entries carry their input's index; servers that omit it answer in input order.
    indices: list[Any] = [getattr(item, "index", None) for item in data]
    if all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        if sorted(indices) != list(range(count)):
            raise ModelResponseError(
                f"{where}: the reply's embedding indices {indices!r} are not 0..{count - 1}"
            )
        ordered: list[Any] = [None] * count
        for index, item in zip(indices, data, strict=True):
            ordered[index] = item
        data = ordered
    vectors: list[list[float]] = []
    for position, item in enumerate(data):
        raw = getattr(item, "embedding", None)
        if not isinstance(raw, list) or not raw:
            shown = "an empty vector" if isinstance(raw, list) else type(raw).__name__
            raise ModelResponseError(
                f"{where}: embedding {position} is {shown}, not a list of numbers"
            )
        bad = [v for v in raw if not _is_number(v)]
        if bad:
            raise ModelResponseError(
                f"{where}: embedding {position} holds {bad[0]!r}, not a finite number"
            )
        vectors.append([float(v) for v in raw])
    dims = {len(v) for v in vectors}
    if len(dims) > 1:
        raise ModelResponseError(
            f"{where}: the reply's embeddings have different dimensions {sorted(dims)!r}"
        )
    return vectors


class EmbeddingRetriever:
    """Ranks texts by cosine similarity of their embeddings.

    Usually built by :meth:`from_spec`. One instance caches up to ``cache_size``
    embeddings (least recently used first out), keyed by the text's sha256.

    Args:
        model: The embedding model's id on the server, e.g. ``"text-embedding-3-small"``.
        base_url: API root including ``/v1``; ``None`` means OpenAI's API.
        api_key: The key. ``None`` means ``OPENAI_API_KEY`` for OpenAI's API and a
            placeholder for any other ``base_url`` (local servers need none; the OpenAI
            key is never sent elsewhere).
        timeout: Seconds one HTTP attempt may take (``policy.timeout`` wins when set).
        batch_size: Most texts sent in one request.
        cache_size: Most embeddings kept; 0 disables the cache.
        policy: Retry, backoff and circuit-breaker settings.

    Raises:
        ModelError: The ``openai`` SDK is missing, or OpenAI's API has no key.
        ConfigError: ``batch_size`` < 1 or ``cache_size`` < 0.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
        cache_size: int = 4096,
        policy: RetryPolicy | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size {batch_size!r} must be at least 1")
        if cache_size < 0:
            raise ConfigError(f"cache_size {cache_size!r} must be 0 (no cache) or more")
        self._sdk = _import_sdk()
        if base_url is None:
            base_url = _OPENAI_URL
            api_key = api_key or os.environ.get(_OPENAI_KEY_ENV)
            if not api_key:
                raise ModelError(
                    f"embedding model {model!r} on OpenAI's API needs a key: "
                    f"set {_OPENAI_KEY_ENV} or pass api_key"
                )
        self.model = model
        self.name = model
        """Names the retriever in messages (the spec, when built by :meth:`from_spec`)."""
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._key_env = _OPENAI_KEY_ENV if base_url == _OPENAI_URL else ""
        self._policy = policy or RetryPolicy()
        self._timeout = self._policy.timeout or timeout
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        # An SDK client binds its connection pool to one event loop; keep one per loop.
        self._client: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        batch_size: int = 64,
        cache_size: int = 4096,
        policy: RetryPolicy | None = None,
    ) -> EmbeddingRetriever:
        """Build a retriever from a model spec, resolved like ``--model``.

        ``openai/text-embedding-3-small`` takes its key from ``OPENAI_API_KEY``;
        ``openai-compatible/<name>@http://host:port/v1`` from ``OPENAI_COMPATIBLE_API_KEY``
        when set (else none is needed). Any provider of the model catalog that speaks the
        OpenAI protocol works (``ollama/nomic-embed-text``, ...).

        Args:
            spec: ``provider/model[@base_url]``.
            api_key: The key; defaults to the environment variable the catalog names.
            timeout: Seconds one HTTP attempt may take.
            batch_size: Most texts sent in one request.
            cache_size: Most embeddings kept; 0 disables the cache.
            policy: Retry, backoff and circuit-breaker settings.

        Raises:
            ConfigError: The spec is malformed, or its provider does not speak the
                OpenAI protocol.
            ModelError: The ``openai`` SDK is missing, or a hosted API has no key.
        """
        info = model_info(spec, warn_unknown=False)
        if info.api != "openai":
            raise ConfigError(
                f"embedding spec {spec!r}: provider {info.provider!r} speaks {info.api!r}; "
                "embeddings need an OpenAI-compatible provider (e.g. 'openai/...', "
                "'openai-compatible/NAME@http://host:port/v1', 'ollama/...')"
            )
        retriever = cls(
            info.name,
            base_url=info.base_url,
            api_key=resolve_api_key(info, api_key),
            timeout=timeout,
            batch_size=batch_size,
            cache_size=cache_size,
            policy=policy,
        )
        retriever.name, retriever._key_env = spec, info.api_key_env
        return retriever

    async def rank(self, query: str, documents: list[str]) -> list[float]:
        """Score each document by the cosine similarity of its embedding to the query's.

        Only texts missing from the cache are sent, ``batch_size`` at a time, the query
        in the first batch. A blank query or document is not sent and scores 0.

        Returns:
            One score in [-1, 1] per document, in the order given.

        Raises:
            ModelError: The user must act (bad key, unknown model, bad request).
            ModelUnavailableError: Still failing after retries, or the circuit is open.
            ModelResponseError: The reply was unusable (wrong count, non-numeric or empty
                vectors, dimensions that differ).
        """
        if not documents or not query.strip():
            return [0.0] * len(documents)
        query_key = _digest(query)
        keys = [_digest(text) if text.strip() else None for text in documents]
        # This call's vectors, held here too so a small cache cannot evict them mid-call.
        found: dict[str, Vector] = {}
        missing: dict[str, str] = {}  # digest -> text, query first, each text once
        for key, text in zip([query_key, *keys], [query, *documents], strict=True):
            if key is None or key in found:
                continue
            cached = self._cache.get(key)
            if cached is None:
                missing[key] = text
            else:
                self._cache.move_to_end(key)
                found[key] = cached
        pending = list(missing.items())
        for start in range(0, len(pending), self._batch_size):
            batch = pending[start : start + self._batch_size]
            vectors = await self._embed([text for _, text in batch])
            for (key, _), vector in zip(batch, vectors, strict=True):
                found[key] = self._remember(key, _unit(vector))
        q = found[query_key]
        scores: list[float] = []
        for position, key in enumerate(keys):
            if key is None:
                scores.append(0.0)
                continue
            d = found[key]
            if len(d) != len(q):
                raise ModelResponseError(
                    f"{self._where()}: document {position}'s embedding has {len(d)} "
                    f"dimensions, the query's {len(q)}"
                )
            scores.append(_cosine(q, d))
        return scores

    async def aclose(self) -> None:
        """Close the HTTP connections opened in the running event loop.

        A retriever used again afterwards opens new connections; its cache is kept.
        """
        if self._client is not None and self._client[0] is asyncio.get_running_loop():
            client, self._client = self._client[1], None
            await client.close()

    # -- internals --------------------------------------------------------------------
    def _remember(self, key: str, vector: Vector) -> Vector:
        if self._cache_size:
            self._cache[key] = vector
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def _where(self) -> str:
        return self.name if self.base_url in self.name else f"{self.name} at {self.base_url}"

    def _get_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client[0] is not loop:
            self._client = (
                loop,
                self._sdk.AsyncOpenAI(
                    api_key=self._key or _NO_KEY,
                    base_url=self.base_url,
                    timeout=self._timeout,
                    max_retries=0,  # one retry policy: ours
                ),
            )
        return self._client[1]

    async def _embed(self, texts: list[str]) -> list[list[float]]:
        client = self._get_client()

        async def attempt() -> list[list[float]]:
            return await self._attempt(client, texts)

        return await call_with_retry(
            f"embeddings:{self.base_url}", attempt, self._policy, timeout=self._timeout
        )

    async def _attempt(self, client: Any, texts: list[str]) -> list[list[float]]:
        response = await call_sdk(
            self._sdk,
            lambda: client.embeddings.create(
                model=self.model, input=texts, encoding_format="float"
            ),
            where=self._where(),
            key=self._key,
            key_env=self._key_env,
            timeout=self._timeout,
        )
        return _vectors(response, len(texts), self._where())
