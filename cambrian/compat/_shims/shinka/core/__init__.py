"""``run_shinka_eval``: ShinkaEvolve's evaluation helper, as Cambrian implements it.

A ShinkaEvolve ``evaluate.py`` calls it from its ``main(program_path, results_dir)``.
It imports the candidate program *in this interpreter* (see :mod:`cambrian.compat`
for what that means for isolation), calls one of its functions ``num_runs`` times,
validates and aggregates the results, and writes ``metrics.json`` and
``correct.json`` into ``results_dir``, where Cambrian reads them back.
"""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["run_shinka_eval"]


def _load_program(program_path: str) -> Any:
    """Import the candidate file as a fresh module named ``program``."""
    spec = importlib.util.spec_from_file_location("program", program_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a Python module from {program_path!r}")
    module = importlib.util.module_from_spec(spec)
    # Registered so dataclasses/pickle inside the program can find their module.
    sys.modules["program"] = module
    spec.loader.exec_module(module)
    return module


def _default_aggregate(results: list[Any]) -> dict[str, Any]:
    """Mean of the results when they are all plain numbers, else a score of 0."""
    numbers = [r for r in results if isinstance(r, int | float) and not isinstance(r, bool)]
    if results and len(numbers) == len(results):
        return {"combined_score": float(statistics.fmean(numbers))}
    return {"combined_score": 0.0}


def _plain(value: Any) -> Any:
    """Make a metrics value strict-JSON writable: numpy to Python, NaN/inf to None."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        value = value.tolist()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float):
        return value
    return repr(value)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(_plain(payload), indent=2, allow_nan=False))


def run_shinka_eval(
    program_path: str,
    results_dir: str,
    experiment_fn_name: str,
    num_runs: int = 1,
    get_experiment_kwargs: Callable[[int], dict[str, Any]] | None = None,
    aggregate_metrics_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
    validate_fn: Callable[[Any], tuple[bool, str | None]] | None = None,
    default_metrics_on_error: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool, str | None]:
    """Run ``experiment_fn_name`` from the program ``num_runs`` times and score it.

    Args:
        program_path: the candidate program file.
        results_dir: directory for ``metrics.json`` and ``correct.json`` (created).
        experiment_fn_name: name of the function to call in the program.
        num_runs: how many times to call it.
        get_experiment_kwargs: ``run_index -> kwargs`` for each call (default: none).
        aggregate_metrics_fn: ``results -> metrics dict`` (default: the mean of
            numeric results as ``combined_score``).
        validate_fn: ``result -> (is_valid, error message)``; the first invalid
            result makes the whole evaluation incorrect.
        default_metrics_on_error: metrics reported when the program raises
            (default ``{"combined_score": 0.0}``).

    Returns:
        ``(metrics, correct, error_msg)``; ``error_msg`` is None when correct.
    """
    out_dir = Path(results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[Any] = []
    times: list[float] = []
    errors: list[str] = []
    try:
        module = _load_program(program_path)
        experiment = getattr(module, experiment_fn_name)
        for run_index in range(num_runs):
            kwargs = get_experiment_kwargs(run_index) if get_experiment_kwargs else {}
            started = time.perf_counter()
            result = experiment(**kwargs)
            times.append(time.perf_counter() - started)
            results.append(result)
            if validate_fn is not None:
                valid, message = validate_fn(result)
                if not valid:
                    errors.append(message or f"run {run_index} failed validation")
        aggregate = aggregate_metrics_fn or _default_aggregate
        metrics = dict(aggregate(results))
        correct = not errors
        error_msg = errors[0] if errors else None
    except Exception as exc:
        # The program is what failed: report it as an incorrect candidate, not a crash.
        metrics = dict(default_metrics_on_error or {"combined_score": 0.0})
        correct = False
        # The innermost frames point the proposer at the failing line of the program.
        where = "".join(traceback.format_tb(exc.__traceback__, limit=-3))
        error_msg = f"{type(exc).__name__}: {exc}\n{where}".rstrip()
    metrics["execution_time_mean"] = statistics.fmean(times) if times else 0.0
    metrics["execution_time_std"] = statistics.pstdev(times) if len(times) > 1 else 0.0
    metrics["num_valid_runs"] = len(results) - len(errors)
    metrics["num_invalid_runs"] = len(errors)
    score = metrics.get("combined_score")
    if isinstance(score, float) and not math.isfinite(score):
        metrics["combined_score"] = 0.0
        correct, error_msg = False, error_msg or f"combined_score is {score!r}"
    _write_json(out_dir / "metrics.json", metrics)
    _write_json(out_dir / "correct.json", {"correct": correct, "error": error_msg})
    return metrics, correct, error_msg
