"""Evaluate: run a task's trusted evaluator on a candidate, sandboxed, and validate it."""

from cambrian.sandbox import describe_isolation

from ._config import EvaluatorConfig
from ._evaluate import evaluate_program, evaluator_isolation
from ._parse import ParsedResult, ResultError, parse_result
from ._result import FAILURE_KINDS, EvalResult, FailureKind

__all__ = [
    "FAILURE_KINDS",
    "EvalResult",
    "EvaluatorConfig",
    "FailureKind",
    "ParsedResult",
    "ResultError",
    "describe_isolation",
    "evaluate_program",
    "evaluator_isolation",
    "parse_result",
]
