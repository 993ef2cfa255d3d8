"""Evaluator for the 26-circle packing task (trusted code; the candidate is not).

The candidate's ``run_packing()`` runs through ``cambrian.run_candidate``: its own
sandboxed process (no network, no view of this directory, cleared environment, hard
timeout). Its return value comes back as strict JSON data (NaN and Infinity are
rejected), and the score is recomputed here from the raw centres and radii: whatever
sum or score the candidate reports or prints is ignored.

Validity is checked with zero tolerance using exact rational arithmetic
(``fractions.Fraction`` holds every float exactly), so circles may touch each other
or the walls, but not overlap or poke out by even one ulp.

Environment:
    CAMBRIAN_CANDIDATE_TIMEOUT_S: seconds the candidate may run (default 30).
"""

from __future__ import annotations

import json
import math
import os
import sys
from fractions import Fraction
from typing import Any

from cambrian import run_candidate

N_CIRCLES = 26
DEFAULT_TIMEOUT_S = 30.0

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
# Checking a packing exactly.
# ---------------------------------------------------------------------------------------


class InvalidPacking(Exception):
    """The packing breaks a rule; the message says which circle(s) and by how much."""


def _number(value: Any, what: str) -> Fraction:
    """Return ``value`` as an exact Fraction, or raise if it is not a finite real number."""
    # bool is an int subclass; True is not a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPacking(f"{what} is {value!r}, not a number")
    if not math.isfinite(value):
        raise InvalidPacking(f"{what} is {value!r}, not finite")
    return Fraction(value)


def parse_packing(result: Any) -> tuple[list[tuple[Fraction, Fraction]], list[Fraction]]:
    """Check the shape of ``(centers, radii, sum_radii)`` and convert it to Fractions."""
    if not isinstance(result, list) or len(result) != 3:
        raise InvalidPacking("run_packing() must return (centers, radii, sum_radii)")
    centers, radii, _reported_sum = result
    if not isinstance(centers, list) or len(centers) != N_CIRCLES:
        got = len(centers) if isinstance(centers, list) else type(centers).__name__
        raise InvalidPacking(f"centers must have shape ({N_CIRCLES}, 2), got {got} rows")
    if not isinstance(radii, list) or len(radii) != N_CIRCLES:
        got = len(radii) if isinstance(radii, list) else type(radii).__name__
        raise InvalidPacking(f"radii must have shape ({N_CIRCLES},), got {got}")
    points = []
    for i, center in enumerate(centers):
        if not isinstance(center, list) or len(center) != 2:
            raise InvalidPacking(f"center {i} must be a pair (x, y), got {center!r}")
        points.append(
            (_number(center[0], f"x of circle {i}"), _number(center[1], f"y of circle {i}"))
        )
    exact_radii = [_number(r, f"radius of circle {i}") for i, r in enumerate(radii)]
    for i, r in enumerate(exact_radii):
        if r < 0:
            raise InvalidPacking(f"circle {i} has negative radius {float(r)!r}")
    return points, exact_radii


def check_packing(points: list[tuple[Fraction, Fraction]], radii: list[Fraction]) -> None:
    """Raise InvalidPacking at the first circle outside the square or overlapping another."""
    for i, ((x, y), r) in enumerate(zip(points, radii, strict=True)):
        sides = {"x - r": x - r, "y - r": y - r, "1 - (x + r)": 1 - x - r, "1 - (y + r)": 1 - y - r}
        for label, slack in sides.items():
            if slack < 0:
                raise InvalidPacking(
                    f"circle {i} pokes out of the square: {label} = {float(slack):.3g} < 0"
                )
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            dx = points[i][0] - points[j][0]
            dy = points[i][1] - points[j][1]
            reach = radii[i] + radii[j]
            deficit = reach * reach - (dx * dx + dy * dy)
            if deficit > 0:
                # reach - distance ~= deficit / (2 * reach) when the overlap is small.
                overlap = float(deficit / (2 * reach))
                raise InvalidPacking(f"circles {i} and {j} overlap by about {overlap:.3g}")


# ---------------------------------------------------------------------------------------
# Entry point.
# ---------------------------------------------------------------------------------------


def _failure(message: str, failure: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"combined_score": 0.0, "correct": False, "feedback": message}
    if failure is not None:
        # How the candidate failed (timeout, crash…), so Cambrian records that kind.
        result["failure"] = failure
    return result


def evaluate(program_path: str) -> dict[str, Any]:
    """Score a candidate packing: the exact sum of radii if valid, else 0.

    Args:
        program_path: path to the candidate program exposing ``run_packing()``.

    Returns:
        ``combined_score`` (sum of radii, 0.0 when invalid), ``correct``, ``feedback``,
        and for valid packings ``sum_radii`` and ``min_radius``.
    """
    try:
        result = call_candidate(program_path, "run_packing", [], _timeout_s())
    except CandidateError as exc:
        return _failure(f"run_packing() failed: {exc}", exc.failure)
    try:
        points, radii = parse_packing(result)
        check_packing(points, radii)
    except InvalidPacking as exc:
        return _failure(f"invalid packing: {exc}")
    total = float(sum(radii))
    feedback = f"valid packing of {N_CIRCLES} circles, sum of radii {total:.6f}"
    reported = result[2]
    if isinstance(reported, int | float) and not math.isclose(reported, total, rel_tol=1e-9):
        feedback += f" (the program reported {reported!r}; the recomputed sum is used)"
    return {
        "combined_score": total,
        "correct": True,
        "feedback": feedback,
        "sum_radii": total,
        "min_radius": float(min(radii)),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1] if len(sys.argv) > 1 else "program.py"), indent=2))
