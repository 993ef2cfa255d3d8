"""Parent selection strategies: small functions registered by name.

A selector is ``fn(pool, rng, **params) -> Program``. ``pool`` is a non-empty
sequence of *correct* programs (every one has a score); ``rng`` is the only source
of randomness, so a selector is a deterministic function of ``(pool, rng state,
params)``. Every selector first orders the pool by ``(-score, id)`` so the caller's
ordering never matters.

Write your own::

    @parent_selector("greedy_young")
    def greedy_young(pool, rng, *, max_children: float = 3.0):
        fresh = [p for p in pool if p.children < max_children] or list(pool)
        return max(fresh, key=lambda p: (p.score, -p.id))
"""

from __future__ import annotations

import inspect
import math
import random
import statistics
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from cambrian._exceptions import ConfigError
from cambrian.archive._program import Program

__all__ = [
    "ParentSelector",
    "boltzmann_temperature",
    "get_selector",
    "parent_selector",
    "score_diversity",
    "selector_names",
    "selector_params",
]


class ParentSelector(Protocol):
    """A parent selection strategy."""

    def __call__(self, pool: Sequence[Program], rng: random.Random, /, **params: Any) -> Program:
        """Pick one program from ``pool`` using only ``rng`` for randomness."""
        ...


_REGISTRY: dict[str, Callable[..., Program]] = {}


def parent_selector(name: str) -> Callable[[Callable[..., Program]], Callable[..., Program]]:
    """Register a parent selection function under ``name``.

    Args:
        name: The name used in ``ArchiveConfig.selection``.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ConfigError: If ``name`` is already registered to another function.
    """

    def register(fn: Callable[..., Program]) -> Callable[..., Program]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not fn:
            raise ConfigError(f"parent selector {name!r} is already registered")
        _REGISTRY[name] = fn
        return fn

    return register


def get_selector(name: str) -> Callable[..., Program]:
    """Return the selector registered under ``name``.

    Raises:
        ConfigError: If no selector has that name; the message lists valid names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown parent selection {name!r}; valid: {', '.join(selector_names())}"
        ) from None


def selector_names() -> list[str]:
    """Names of all registered selectors, sorted."""
    return sorted(_REGISTRY)


def selector_params(name: str) -> dict[str, Any]:
    """Keyword parameters (with defaults) accepted by the selector ``name``.

    Raises:
        ConfigError: If no selector has that name.
    """
    sig = inspect.signature(get_selector(name))
    return {
        p.name: p.default
        for p in sig.parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


# --- helpers -------------------------------------------------------------------------


def _ranked(pool: Sequence[Program]) -> list[Program]:
    if not pool:
        raise ValueError("cannot select a parent from an empty pool")
    return sorted(pool, key=lambda p: (-_score(p), p.id))


def _score(p: Program) -> float:
    # The archive only hands correct programs here, which always carry a score.
    return p.score if p.score is not None else -math.inf


def _draw(items: Sequence[Program], weights: Sequence[float], rng: random.Random) -> Program:
    """One weighted draw using exactly one ``rng.random()`` call."""
    total = math.fsum(weights)
    if not total > 0 or not math.isfinite(total):
        # Degenerate weights (all zero / underflow): fall back to uniform.
        return items[rng.randrange(len(items))]
    target = rng.random() * total
    acc = 0.0
    for item, w in zip(items, weights, strict=True):
        acc += w
        if target < acc:
            return item
    return items[-1]  # float round-off at the top end


def _sigmoid(x: float) -> float:
    # Split by sign so exp() never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def score_diversity(scores: Sequence[float]) -> float:
    """Normalised spread of scores in ``[0, 1]``.

    ``diversity = min(1, (max - min) / max(|max|, |min|))``, and 0 when all scores
    are equal. It is scale invariant: scores 0.5..1.0 give 0.5, 99..100 give 0.01.
    """
    if not scores:
        return 0.0
    hi, lo = max(scores), min(scores)
    if hi == lo:
        return 0.0
    return min(1.0, (hi - lo) / max(abs(hi), abs(lo)))


def boltzmann_temperature(scores: Sequence[float], t0: float = 0.1, beta: float = 1.0) -> float:
    """Diversity-adaptive temperature ``T = t0 * (1 + beta * (1 - diversity))``.

    Low diversity (a converged population) makes ``T`` larger, so selection flattens
    and explores more; high diversity lets it exploit the leaders.
    """
    return t0 * (1.0 + beta * (1.0 - score_diversity(scores)))


# --- built-in selectors ------------------------------------------------------------


@parent_selector("weighted")
def weighted(pool: Sequence[Program], rng: random.Random, *, lam: float = 10.0) -> Program:
    """ShinkaEvolve/DGM weighted sampling: performance times novelty of offspring.

    ``s_i = sigmoid(lam * (score_i - median) / scale)`` where ``scale`` is the median
    absolute deviation, falling back to the population std and then to 1 when that is
    zero too; ``h_i = 1 / (1 + children_i)``; ``p_i ∝ s_i * h_i``.
    """
    ranked = _ranked(pool)
    scores = [_score(p) for p in ranked]
    med = statistics.median(scores)
    scale = statistics.median(abs(s - med) for s in scores)
    if scale == 0:
        scale = statistics.pstdev(scores)
    if scale == 0 or not math.isfinite(scale):
        scale = 1.0
    weights = [
        _sigmoid(lam * (s - med) / scale) / (1.0 + p.children)
        for s, p in zip(scores, ranked, strict=True)
    ]
    return _draw(ranked, weights, rng)


@parent_selector("power_law")
def power_law(pool: Sequence[Program], rng: random.Random, *, alpha: float = 1.0) -> Program:
    """Rank-based: the r-th best (1-based) is drawn with ``p ∝ r ** -alpha``."""
    ranked = _ranked(pool)
    weights = [(r + 1) ** -alpha for r in range(len(ranked))]
    return _draw(ranked, weights, rng)


@parent_selector("boltzmann")
def boltzmann(
    pool: Sequence[Program], rng: random.Random, *, t0: float = 0.1, beta: float = 1.0
) -> Program:
    """Boltzmann selection ``p ∝ exp((score_i - max) / T)`` (LoongFlow-style).

    ``T`` comes from :func:`boltzmann_temperature`; scores are in the evaluator's own
    units, so choose ``t0`` on that scale (the default suits scores in ``[0, 1]``).
    """
    ranked = _ranked(pool)
    scores = [_score(p) for p in ranked]
    temp = max(boltzmann_temperature(scores, t0, beta), 1e-12)
    top = scores[0]
    weights = [math.exp((s - top) / temp) for s in scores]
    return _draw(ranked, weights, rng)


@parent_selector("hill_climb")
def hill_climb(pool: Sequence[Program], rng: random.Random) -> Program:
    """Always the best program (ties: lowest id); consumes no randomness."""
    return _ranked(pool)[0]


@parent_selector("beam")
def beam(pool: Sequence[Program], rng: random.Random, *, width: float = 5) -> Program:
    """Uniform among the top ``width`` programs."""
    ranked = _ranked(pool)[: max(1, int(width))]
    return ranked[rng.randrange(len(ranked))]


@parent_selector("uniform")
def uniform(pool: Sequence[Program], rng: random.Random) -> Program:
    """Uniform over the whole pool."""
    ranked = _ranked(pool)
    return ranked[rng.randrange(len(ranked))]
