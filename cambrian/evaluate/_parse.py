"""Strict validation of what an evaluator reports.

The evaluator process runs candidate code, so everything it writes is treated as
hostile input: size-capped, strict JSON (no NaN/Infinity), a closed set of value types.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_RESULT_BYTES = 1024 * 1024
"""Largest evaluator result accepted, in bytes of JSON."""

MAX_ARTIFACT_CHARS = 16 * 1024
"""Longest artifact or feedback string kept; longer ones are truncated."""

_MAX_DEPTH = 4
_FEEDBACK_KEYS = ("feedback", "text_feedback")


class ResultError(ValueError):
    """The evaluator's result is not acceptable; the message says exactly why."""


@dataclass(frozen=True)
class _NonFinite:
    """Stands in for a NaN/Infinity literal so the error can name its key."""

    literal: str


@dataclass
class ParsedResult:
    """A validated evaluator result.

    Attributes:
        combined_score: The score the search maximises (finite).
        correct: Whether the program is correct (True when the evaluator does not say).
        metrics: Every numeric value, nested objects flattened as ``"outer.inner"``.
        artifacts: Every string value (capped), for feedback to the model.
        feedback: Free-text feedback (``feedback`` or Shinka's ``text_feedback``).
        failure: The candidate's failure kind when the evaluator reports one (e.g. the
            ``failure`` of a :class:`~cambrian.sandbox.CandidateResult`).
        warnings: Values that were ignored or truncated.
    """

    combined_score: float
    correct: bool = True
    failure: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    feedback: str = ""
    warnings: list[str] = field(default_factory=list)


# Failure kinds an evaluator may report for the candidate it ran (run_candidate's).
CANDIDATE_FAILURES = ("timeout", "oom", "crash", "invalid_result", "compile_error")


def cap_text(text: str, limit: int = MAX_ARTIFACT_CHARS) -> str:
    """Truncate ``text`` to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} characters truncated]"


def load_json(data: str | bytes, *, what: str = "result", limit: int = MAX_RESULT_BYTES) -> Any:
    """Decode strict JSON: size-capped, NaN/Infinity kept as markers for validation.

    Raises:
        ResultError: Too large, or not valid JSON.
    """
    size = len(data.encode() if isinstance(data, str) else data)
    if size > limit:
        raise ResultError(f"{what} is {size} bytes; at most {limit} are accepted")
    try:
        return json.loads(data, parse_constant=_NonFinite)
    except (ValueError, RecursionError) as exc:
        raise ResultError(f"{what} is not valid JSON: {exc}") from None


def _number(key: str, value: Any) -> float | None:
    """The value as a finite float if it is a (non-bool) number, else None."""
    if isinstance(value, _NonFinite):
        raise ResultError(f"{key!r} is {value.literal}; metrics must be finite numbers")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        raise ResultError(f"{key!r} = {value} does not fit in a float") from None
    if not math.isfinite(number):
        raise ResultError(f"{key!r} is {number}; metrics must be finite numbers")
    return number


def _collect(prefix: str, values: Mapping[str, Any], out: ParsedResult, depth: int) -> None:
    for key, value in values.items():
        name = f"{prefix}{key}"
        number = _number(name, value)
        if number is not None:
            out.metrics[name] = number
        elif isinstance(value, str):
            out.artifacts[name] = cap_text(value)
        elif isinstance(value, bool):
            # A flag is information for the model, not a score: keeping it out of the
            # metrics means True can never be ranked as 1.0.
            out.artifacts[name] = str(value)
        elif value is None:
            out.warnings.append(f"ignored {name!r}: null")
        elif isinstance(value, Mapping):
            if depth >= _MAX_DEPTH:
                raise ResultError(f"{name!r} nests objects deeper than {_MAX_DEPTH} levels")
            _collect(f"{name}.", value, out, depth + 1)
        else:
            raise ResultError(
                f"{name!r} has type {type(value).__name__}; values must be numbers, "
                "strings, booleans, null or objects of those"
            )


def parse_result(data: str | bytes | Mapping[str, Any]) -> ParsedResult:
    """Validate an evaluator's result.

    Numbers become metrics, strings artifacts, nested objects (Shinka's ``public`` /
    ``private``) are flattened as ``"public.x"``. ``combined_score`` is required and
    must be a finite number (not a bool); ``correct`` must be a bool when present;
    ``failure``, when present, is the kind of failure of the candidate the evaluator ran
    (one of :data:`CANDIDATE_FAILURES`) and makes the evaluation a failed one.

    Args:
        data: The result as JSON text, or an already decoded mapping.

    Returns:
        The validated result.

    Raises:
        ResultError: The result is malformed; the message names the offending key.
    """
    value = load_json(data) if isinstance(data, str | bytes) else data
    if not isinstance(value, Mapping):
        raise ResultError(
            f"the result must be a JSON object of metrics, got {type(value).__name__}"
        )
    if "combined_score" not in value:
        raise ResultError(f"the result has no 'combined_score'; keys: {sorted(value)!r}")
    score = _number("combined_score", value["combined_score"])
    if score is None:
        raise ResultError(
            f"'combined_score' must be a finite number, got "
            f"{type(value['combined_score']).__name__} {value['combined_score']!r}"
        )
    out = ParsedResult(combined_score=score)
    rest = {k: v for k, v in value.items() if k != "combined_score"}
    if "correct" in rest:
        correct = rest.pop("correct")
        if not isinstance(correct, bool):
            raise ResultError(f"'correct' must be true or false, got {correct!r}")
        out.correct = correct
    failure = rest.pop("failure", None)
    if failure is not None:
        if failure not in CANDIDATE_FAILURES:
            raise ResultError(
                f"'failure' must be one of {', '.join(CANDIDATE_FAILURES)}, got {failure!r}"
            )
        out.failure = failure
        out.correct = False
    for key in _FEEDBACK_KEYS:
        text = rest.pop(key, None)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ResultError(f"{key!r} must be a string, got {type(text).__name__}")
        out.feedback = "\n".join(filter(None, [out.feedback, cap_text(text)]))
    _collect("", rest, out, 1)
    out.metrics["combined_score"] = score
    return out


def parse_correct(data: str | bytes) -> tuple[bool, str]:
    """Validate Shinka's ``correct.json``: ``{"correct": bool, "error": str | null}``.

    Returns:
        Whether the program is correct, and the error text (possibly empty).

    Raises:
        ResultError: The file is malformed.
    """
    value = load_json(data, what="correct.json")
    if not isinstance(value, Mapping) or not isinstance(value.get("correct"), bool):
        raise ResultError('correct.json must be an object with a boolean "correct"')
    error = value.get("error")
    if error is not None and not isinstance(error, str):
        raise ResultError(f'correct.json "error" must be a string, got {error!r}')
    return value["correct"], cap_text(error or "")
