"""Cambrian's stand-in for the ``openevolve`` package: only ``EvaluationResult``.

See :mod:`cambrian.compat`. A really installed ``openevolve`` takes precedence.
"""

from .evaluation_result import EvaluationResult

__all__ = ["EvaluationResult"]
