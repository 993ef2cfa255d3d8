"""Injected time for retry tests: sleeping advances the clock instead of waiting."""

from __future__ import annotations

from cambrian.models import RetryPolicy


class Clock:
    """A monotonic clock whose ``sleep`` only records and advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def fast_policy(
    clock: Clock,
    *,
    max_attempts: int = 4,
    timeout: float = 2.0,
    breaker_threshold: int = 50,
    breaker_cooldown: float = 60.0,
) -> RetryPolicy:
    """A policy on the injected clock; the jitter draw is fixed at 0.5."""
    return RetryPolicy(
        max_attempts=max_attempts,
        timeout=timeout,
        breaker_threshold=breaker_threshold,
        breaker_cooldown=breaker_cooldown,
        sleep=clock.sleep,
        clock=clock,
        rng=lambda: 0.5,
    )
