"""Evaluator for the symbolic-regression task (trusted code; the candidate is not).

The data set is generated here, deterministically, from a formula the candidate has
to rediscover: y = 1.7 sin(2.3 x) + 0.5 x^2 - 0.8 plus a little Gaussian noise. It
is split into a training part, which the feedback describes, and a held-out part,
which alone decides the score: combined_score = 1 / (1 + MSE on held-out points).

The candidate's ``predict(xs)`` runs through ``cambrian.run_candidate``: its own
sandboxed process (no network, no view of this directory, cleared environment, hard
timeout). It receives only x values; the targets never leave this process.
Predictions come back as strict JSON data (NaN and Infinity are rejected).

Environment:
    CAMBRIAN_CANDIDATE_TIMEOUT_S: seconds the candidate may run (default 30).
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from typing import Any

from cambrian import run_candidate

DEFAULT_TIMEOUT_S = 30.0
SEED = 20240607
N_TRAIN = 48
N_HELDOUT = 32
NOISE = 0.02

# ---------------------------------------------------------------------------------------
# Running the untrusted candidate: cambrian.run_candidate calls one function of the
# program in its own sandbox (no network, no view of this directory, hard-killed at the
# timeout) and hands back its return value as strict JSON data, never as an object.
# ---------------------------------------------------------------------------------------


class CandidateError(Exception):
    """The candidate crashed, timed out or returned something that is not strict JSON."""

    def __init__(self, failure: str, message: str) -> None:
        super().__init__(f"{failure}: {message}")
        self.failure = failure  # timeout, oom, crash, invalid_result or compile_error


def call_candidate(program_path: str, function: str, args: list[Any], timeout_s: float) -> Any:
    """``function(*args)`` from the candidate program, run in its own sandbox.

    Raises:
        CandidateError: on a crash, a timeout, or a value that is not strict JSON data.
    """
    result = run_candidate(program_path, function, args=args, timeout=timeout_s)
    if not result.ok:
        raise CandidateError(result.failure or "crash", result.error)
    return result.value


def _timeout_s() -> float:
    return float(os.environ.get("CAMBRIAN_CANDIDATE_TIMEOUT_S", DEFAULT_TIMEOUT_S))


# ---------------------------------------------------------------------------------------
# The hidden data and the score.
# ---------------------------------------------------------------------------------------


def truth(x: float) -> float:
    """The formula behind the data (never shown to the candidate)."""
    return 1.7 * math.sin(2.3 * x) + 0.5 * x * x - 0.8


def hidden_data() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Return the (train, held-out) splits as lists of (x, y), the same on every call."""
    rng = random.Random(SEED)
    points = []
    for _ in range(N_TRAIN + N_HELDOUT):
        x = rng.uniform(-3.0, 3.0)
        points.append((x, truth(x) + rng.gauss(0.0, NOISE)))
    return points[:N_TRAIN], points[N_TRAIN:]


def _mse(points: list[tuple[float, float]], predictions: list[float]) -> float:
    return sum((p - y) ** 2 for (_, y), p in zip(points, predictions, strict=True)) / len(points)


def _check_predictions(predictions: Any, expected_length: int) -> str | None:
    """Return why ``predictions`` is unusable, or None when it is a list of finite numbers."""
    if not isinstance(predictions, list):
        return f"predict() must return a list, got {type(predictions).__name__}"
    if len(predictions) != expected_length:
        return f"predict() returned {len(predictions)} values for {expected_length} inputs"
    for i, value in enumerate(predictions):
        # bool is an int subclass; True is not a prediction.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"prediction {i} is {value!r}, not a number"
        if not math.isfinite(value):
            return f"prediction {i} is {value!r}, not finite"
    return None


def _failure(message: str, failure: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"combined_score": 0.0, "correct": False, "feedback": message}
    if failure is not None:
        # How the candidate failed (timeout, crash…), so Cambrian records that kind.
        result["failure"] = failure
    return result


def evaluate(program_path: str) -> dict[str, Any]:
    """Score a candidate formula on held-out points.

    Args:
        program_path: path to the candidate program exposing ``predict(xs)``.

    Returns:
        ``combined_score`` (1 / (1 + held-out MSE)), ``correct``, ``feedback``, and for
        usable predictions ``train_mse`` and ``heldout_mse``.
    """
    train, heldout = hidden_data()
    xs = [x for x, _ in train + heldout]
    try:
        predictions = call_candidate(program_path, "predict", [xs], _timeout_s())
    except CandidateError as exc:
        return _failure(f"predict() failed: {exc}", exc.failure)
    problem = _check_predictions(predictions, len(xs))
    if problem is not None:
        return _failure(problem)
    predictions = [float(p) for p in predictions]
    train_mse = _mse(train, predictions[:N_TRAIN])
    heldout_mse = _mse(heldout, predictions[N_TRAIN:])
    # The worst training residuals tell the proposer where the formula is off; held-out
    # targets are never described, so they stay a fair test.
    worst = sorted(
        zip(train, predictions[:N_TRAIN], strict=True), key=lambda pair: -abs(pair[1] - pair[0][1])
    )[:3]
    misses = "; ".join(f"x={x:.3f}: expected {y:.3f}, got {p:.3f}" for (x, y), p in worst)
    return {
        "combined_score": 1.0 / (1.0 + heldout_mse),
        "correct": True,
        "feedback": (
            f"train MSE {train_mse:.4g}, held-out MSE {heldout_mse:.4g}; "
            f"largest training misses: {misses}"
        ),
        "train_mse": train_mse,
        "heldout_mse": heldout_mse,
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1] if len(sys.argv) > 1 else "program.py"), indent=2))
