"""``EvaluationResult``: what an OpenEvolve evaluator may return instead of a dict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EvaluationResult"]


@dataclass
class EvaluationResult:
    """Metrics plus side artifacts (text or bytes the proposer may be shown).

    Attributes:
        metrics: metric name to value; ``combined_score`` is the one optimised.
        artifacts: artifact name to ``str`` or ``bytes`` (stderr, feedback, ...).
    """

    metrics: dict[str, Any]
    artifacts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, metrics: dict[str, Any]) -> EvaluationResult:
        """Wrap a plain metrics dict, as older evaluators return, with no artifacts."""
        return cls(metrics=dict(metrics))

    def to_dict(self) -> dict[str, Any]:
        """Return the metrics alone, the shape of an old-style evaluator result."""
        return dict(self.metrics)

    def has_artifacts(self) -> bool:
        """Whether any artifact was attached."""
        return bool(self.artifacts)

    def get_artifact_keys(self) -> list[str]:
        """Names of the attached artifacts."""
        return list(self.artifacts)
