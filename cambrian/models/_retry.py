"""One retry policy for every provider: timeouts, full-jitter backoff, a circuit breaker.

The SDKs' own retries are switched off so this is the only policy. A provider turns each
vendor failure into one of three outcomes before it reaches this module:

* :class:`TransientError` (429, 5xx, connection error, timeout): retried here, with
  full-jitter exponential backoff that honours ``Retry-After``; when attempts run out or
  the circuit opens it becomes :class:`~cambrian.ModelUnavailableError`.
* :class:`~cambrian._exceptions.ModelError` (bad key, no quota, unknown model): raised at once.
* :class:`~cambrian._exceptions.ModelResponseError` (unusable reply): raised at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from .._exceptions import ModelError, ModelResponseError, ModelUnavailableError

logger = logging.getLogger("cambrian.models")

T = TypeVar("T")


class TransientError(Exception):
    """A failure worth retrying: rate limit, server error, connection error, timeout.

    Args:
        message: What happened, safe to log (no keys).
        retry_after: Seconds the server asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call, and when to stop trying an endpoint.

    ``sleep``, ``clock`` and ``rng`` are injectable so tests run without real waiting.
    """

    max_attempts: int = 5
    """Attempts per call, the first included."""
    base_delay: float = 1.0
    """Backoff scale: attempt ``n`` waits up to ``base_delay * 2**(n-1)`` seconds."""
    max_delay: float = 60.0
    """Cap on one backoff wait."""
    max_retry_after: float = 120.0
    """A longer ``Retry-After`` is not slept inside the call: it is handed to the engine."""
    timeout: float | None = None
    """Hard wall-clock limit on one attempt; ``None`` uses the model's catalog timeout."""
    breaker_threshold: int = 8
    """Consecutive failed attempts on one endpoint that open its circuit."""
    breaker_cooldown: float = 60.0
    """Seconds an open circuit fails fast before letting one probe call through."""
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        jitter = self.rng() * min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return max(jitter, retry_after or 0.0)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    Args:
        headers: Response headers (case-insensitive mapping, or lower-case keys).
        now: Current Unix time, for HTTP dates; defaults to the wall clock.
    """
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class CircuitBreaker:
    """Fails fast after sustained failure of one endpoint, then probes with one call.

    Closed: calls pass. After ``threshold`` consecutive failed attempts: open, every call
    fails fast with :class:`ModelUnavailableError` for ``cooldown`` seconds. Then
    half-open: one probe call passes; its success closes the circuit, its failure
    re-opens it for another cool-down.
    """

    def __init__(self, endpoint: str, policy: RetryPolicy) -> None:
        self.endpoint = endpoint
        self._policy = policy
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False

    def remaining(self) -> float:
        """Seconds of cool-down left; 0 when closed or ready to probe."""
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.opened_at + self._policy.breaker_cooldown - self._policy.clock())

    def before_call(self) -> bool:
        """Let a call through, or raise :class:`ModelUnavailableError` while open.

        Returns:
            True when this call is the half-open probe.
        """
        if self.opened_at is None:
            return False
        left = self.remaining()
        if left > 0 or self._probing:
            raise ModelUnavailableError(
                f"{self.endpoint}: circuit open after {self.failures} consecutive failures; "
                f"failing fast for {left:.0f}s more",
                retry_after=left or self._policy.breaker_cooldown,
            )
        self._probing = True  # half-open: this call is the probe
        return True

    def success(self) -> None:
        """Record an answered attempt: the endpoint is up."""
        if self.opened_at is not None:
            logger.info("%s: circuit closed, endpoint answering again", self.endpoint)
        self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> bool:
        """Record a failed attempt; returns True when the circuit is (now) open."""
        self.failures += 1
        if self._probing or self.failures >= self._policy.breaker_threshold:
            if self.opened_at is None or self._probing:
                logger.warning(
                    "%s: circuit opened after %d consecutive failures; pausing %.0fs",
                    self.endpoint,
                    self.failures,
                    self._policy.breaker_cooldown,
                )
            self.opened_at, self._probing = self._policy.clock(), False
            return True
        return False

    def release_probe(self) -> None:
        """The probe call ended without telling whether the endpoint is up."""
        self._probing = False


_breakers: dict[str, CircuitBreaker] = {}


def breaker_for(endpoint: str, policy: RetryPolicy) -> CircuitBreaker:
    """The process-wide circuit breaker of one endpoint (shared by all its models)."""
    breaker = _breakers.get(endpoint)
    if breaker is None:
        breaker = _breakers[endpoint] = CircuitBreaker(endpoint, policy)
    breaker._policy = policy  # the caller's clock and thresholds apply
    return breaker


async def call_with_retry(
    endpoint: str,
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    timeout: float,
) -> T:
    """Run ``attempt`` until it succeeds, retrying :class:`TransientError` per ``policy``.

    Args:
        endpoint: Names the endpoint in messages and keys its circuit breaker.
        attempt: One try; raises TransientError for retryable failures. Anything else
            it raises (ModelError, ModelResponseError) propagates at once.
        policy: Attempts, backoff, breaker settings and the injectable clock/sleep.
        timeout: Hard wall-clock limit on one attempt, in seconds.

    Raises:
        ModelUnavailableError: Attempts exhausted, a too-long Retry-After, or the
            endpoint's circuit is open.
    """
    breaker = breaker_for(endpoint, policy)
    probe = breaker.before_call()
    last: TransientError | None = None
    try:
        for number in range(1, policy.max_attempts + 1):
            try:
                async with asyncio.timeout(timeout):
                    result = await attempt()
            except TimeoutError:
                last = TransientError(f"no reply within {timeout:g}s")
            except TransientError as exc:
                last = exc
            except ModelResponseError:
                breaker.success()  # it answered: the endpoint is up
                raise
            else:
                breaker.success()
                return result
            if breaker.failure():
                raise ModelUnavailableError(
                    f"{endpoint}: {last}; circuit opened after {breaker.failures} "
                    "consecutive failures",
                    retry_after=last.retry_after or policy.breaker_cooldown,
                )
            if last.retry_after is not None and last.retry_after > policy.max_retry_after:
                raise ModelUnavailableError(
                    f"{endpoint}: {last}; asked to wait {last.retry_after:.0f}s",
                    retry_after=last.retry_after,
                )
            if number == policy.max_attempts:
                break
            delay = policy.backoff(number, last.retry_after)
            logger.warning(
                "%s: %s; retrying in %.1fs (attempt %d of %d)",
                endpoint,
                last,
                delay,
                number + 1,
                policy.max_attempts,
            )
            await policy.sleep(delay)
    finally:
        # A probe that ended in ModelError or was cancelled says nothing about the
        # endpoint's health: let the next call probe.
        if probe:
            breaker.release_probe()
    if last is None:  # unreachable: max_attempts >= 1 means at least one failure here
        raise ModelUnavailableError(f"{endpoint}: no attempt was made")
    raise ModelUnavailableError(
        f"{endpoint}: {last}; gave up after {policy.max_attempts} attempts",
        retry_after=last.retry_after or policy.breaker_cooldown,
    )


def error_fields(body: object) -> tuple[str | None, str]:
    """The error ``code`` (or ``type``) and ``message`` from an API error body.

    OpenAI and Anthropic both nest them under ``"error"``; the SDKs sometimes hand over
    the inner object, sometimes the raw text.
    """
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            code = next(
                (v for k in ("code", "type") if isinstance(v := inner.get(k), str) and v), None
            )
            message = inner.get("message")
            return code, message if isinstance(message, str) else ""
    return None, body if isinstance(body, str) else ""


_SECRET_LIKE = re.compile(r"(?:sk|key|token)-[A-Za-z0-9_*.\-]{6,}|Bearer\s+\S+", re.IGNORECASE)


def redact(text: str, secret: str | None) -> str:
    """``text`` with the key, and anything shaped like a key, blanked out.

    Providers echo keys back in error bodies (OpenAI's 401 shows a masked one), so every
    server-supplied string passes through here before it reaches a message or a log.
    """
    if secret:
        text = text.replace(secret, "[redacted]")
    return _SECRET_LIKE.sub("[redacted]", text)[:300]


def classify_status(
    where: str,
    status: int,
    *,
    message: str,
    code: str | None,
    retry_after: float | None,
    key_env: str,
) -> Exception:
    """Map an HTTP error status to the exception to raise (ModelError, TransientError, ...).

    Args:
        where: ``"<spec> at <endpoint>"``, for messages.
        status: HTTP status code.
        message: The server's (already redacted) error message.
        code: The error ``code``/``type`` from the body, if any (``insufficient_quota``).
        retry_after: Parsed Retry-After, if any.
        key_env: Environment variable the key comes from, for the hint.
    """
    said = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    key_hint = f"set {key_env} (or pass api_key)" if key_env else "pass api_key"
    if status == 429 and code in ("insufficient_quota", "billing_hard_limit_reached"):
        return ModelError(
            f"{where}: quota exhausted ({said}). Add credit or raise the account's limits, "
            "then `cambrian resume` the run."
        )
    if status in (408, 409, 425, 429) or status >= 500:
        return TransientError(said, retry_after=retry_after)
    if status == 401:
        return ModelError(
            f"{where}: the API key was rejected ({said}). {key_hint} with a valid key."
        )
    if status == 402:
        return ModelError(f"{where}: payment required ({said}). Add credit, then resume.")
    if status == 403:
        return ModelError(
            f"{where}: permission denied ({said}). Check that the key may use this model."
        )
    if status == 404:
        return ModelError(
            f"{where}: model or endpoint not found ({said}). Check the model name and "
            "base URL (and the model catalog's entry for it)."
        )
    if status == 413 or code == "context_length_exceeded":
        return ModelResponseError(f"{where}: prompt too long for the model ({said})")
    return ModelError(f"{where}: request rejected ({said}). Check the model's catalog settings.")
