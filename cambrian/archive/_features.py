"""MAP-Elites feature binning and code distance.

Binning rules (both deterministic functions of the add sequence):

* ``code_length`` is binned on a log scale between the fixed bounds
  :data:`CODE_LENGTH_MIN` and :data:`CODE_LENGTH_MAX` characters: bin
  ``floor(bins * log(L / MIN) / log(MAX / MIN))``, clamped to ``[0, bins - 1]``.
  Fixed bounds keep a program's bin independent of what else is in the archive.
* A metric is binned linearly between the minimum and maximum value observed so far
  (over correct programs added so far, this one included). A program's cell is fixed
  when it is added and never recomputed, so later programs that widen the range do
  not move earlier ones; the first program with a metric (range zero) lands in bin 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

__all__ = [
    "CODE_LENGTH_MAX",
    "CODE_LENGTH_MIN",
    "FeatureBinner",
    "jaccard_distance",
    "token_set",
]

CODE_LENGTH_MIN = 16
"""Code lengths at or below this many characters fall in the first bin."""
CODE_LENGTH_MAX = 262_144
"""Code lengths at or above this many characters fall in the last bin."""

_TOKEN = re.compile(r"\w+|[^\w\s]+")


def token_set(code: str) -> frozenset[str]:
    """Identifiers, numbers and punctuation runs of ``code`` as a set."""
    return frozenset(_TOKEN.findall(code))


def jaccard_distance(a: frozenset[str], b: frozenset[str]) -> float:
    """``1 - |a & b| / |a | b|``; 0 for two empty sets."""
    union = len(a | b)
    if union == 0:
        return 0.0
    return 1.0 - len(a & b) / union


def _clamp_bin(fraction: float, bins: int) -> int:
    return min(bins - 1, max(0, math.floor(fraction * bins)))


class FeatureBinner:
    """Maps a program's features to a MAP-Elites cell, tracking metric ranges."""

    def __init__(self, dimensions: Sequence[str], bins: int) -> None:
        self.dimensions = tuple(dimensions)
        self.bins = bins
        self._bounds: dict[str, tuple[float, float]] = {}

    @property
    def enabled(self) -> bool:
        """Whether any feature dimension is configured."""
        return bool(self.dimensions)

    def cell(self, code_length: int, metrics: Mapping[str, float]) -> tuple[int, ...] | None:
        """Bin the features, widening the observed metric ranges first.

        Returns:
            The cell, or None when a metric dimension is missing or not finite (such a
            program takes part in no cell).
        """
        values: list[float] = []
        for dim in self.dimensions:
            if dim == "code_length":
                continue
            value = metrics.get(dim)
            if value is None or not math.isfinite(value):
                return None
            values.append(float(value))
        it = iter(values)
        key: list[int] = []
        for dim in self.dimensions:
            if dim == "code_length":
                key.append(self._length_bin(code_length))
                continue
            value = next(it)
            lo, hi = self._bounds.get(dim, (value, value))
            lo, hi = min(lo, value), max(hi, value)
            self._bounds[dim] = (lo, hi)
            key.append(0 if hi == lo else _clamp_bin((value - lo) / (hi - lo), self.bins))
        return tuple(key)

    def _length_bin(self, length: int) -> int:
        length = max(length, CODE_LENGTH_MIN)
        fraction = math.log(length / CODE_LENGTH_MIN) / math.log(CODE_LENGTH_MAX / CODE_LENGTH_MIN)
        return _clamp_bin(fraction, self.bins)
