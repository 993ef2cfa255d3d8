"""Evaluator for the symbolic-regression task (trusted code; the candidate is not).

The data set is generated here, deterministically, from a formula the candidate has
to rediscover: y = 1.7 sin(2.3 x) + 0.5 x^2 - 0.8 plus a little Gaussian noise. It
is split into a training part, which the feedback describes, and a held-out part,
which alone decides the score: combined_score = 1 / (1 + MSE on held-out points).

The candidate's ``predict(xs)`` runs in a separate Python process with a hard
timeout, inside an empty temporary directory, with a scrubbed environment. It
receives only x values on stdin; the targets never leave this process. Predictions
come back as strict JSON (NaN and Infinity are rejected).

Environment:
    CAMBRIAN_CANDIDATE_TIMEOUT_S: seconds the candidate may run (default 30).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT_S = 30.0
SEED = 20240607
N_TRAIN = 48
N_HELDOUT = 32
NOISE = 0.02

# ---------------------------------------------------------------------------------------
# Running the untrusted candidate (the same small runner appears in each example so that
# every example directory is self-contained).
# ---------------------------------------------------------------------------------------

# Executed with ``python -c`` in the candidate process: import the candidate file, call
# one function with the JSON arguments read from stdin, write the JSON result to a file.
# Candidate prints go to stderr so stdout can never be mistaken for a result.
_RUNNER = """
import importlib.util, json, sys
program, function, output = sys.argv[1:4]
args = json.loads(sys.stdin.read())
real_stdout, sys.stdout = sys.stdout, sys.stderr
spec = importlib.util.spec_from_file_location("candidate", program)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
result = getattr(module, function)(*args)
def plain(value):
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "item"):
        return value.item()
    return value
with open(output, "w") as handle:
    json.dump(plain(result), handle)
"""


class CandidateError(Exception):
    """The candidate crashed, timed out or returned something that is not strict JSON."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in the candidate's output")


def strict_json_loads(text: str) -> Any:
    """Parse JSON, refusing the NaN/Infinity extensions that Python's json accepts."""
    return json.loads(text, parse_constant=_reject_constant)


def run_candidate(program_path: str, function: str, args: list[Any], timeout_s: float) -> Any:
    """Call ``function(*args)`` from the candidate file in a separate, killable process.

    Returns:
        The function's return value, decoded from strict JSON.

    Raises:
        CandidateError: on a crash, a timeout, or output that is not strict JSON.
    """
    with tempfile.TemporaryDirectory(prefix="candidate-") as work:
        program = Path(work, "candidate.py")
        shutil.copyfile(program_path, program)
        output = Path(work, "output.json")
        # Only PATH is passed on: the candidate must not see the evaluator's environment.
        env = {"PATH": os.environ.get("PATH", "")}
        with open(Path(work, "stderr.txt"), "w+b") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-c", _RUNNER, str(program), function, str(output)],
                cwd=work,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group, so we can kill all of it
            )
            try:
                proc.communicate(json.dumps(args).encode(), timeout=timeout_s)
            except subprocess.TimeoutExpired:
                raise CandidateError(f"timed out after {timeout_s:g} s and was killed") from None
            finally:
                # Also stops whatever it left running in the background.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            # Only the tail: a candidate may have written gigabytes.
            stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 2000))
            tail = stderr.read().decode(errors="replace").strip()
        if proc.returncode != 0:
            raise CandidateError(f"exited with status {proc.returncode}: {tail}")
        try:
            return strict_json_loads(output.read_text())
        except (OSError, ValueError) as exc:
            raise CandidateError(f"returned no valid JSON result: {exc}") from None


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


def _failure(message: str) -> dict[str, Any]:
    return {"combined_score": 0.0, "correct": False, "feedback": message}


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
        predictions = run_candidate(program_path, "predict", [xs], _timeout_s())
    except CandidateError as exc:
        return _failure(f"predict() failed: {exc}")
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
