"""Evaluator worker: the trusted side of one evaluation, run in its own process.

Started by :func:`cambrian.evaluate.evaluate_program` as a script (by path, with
``-P``), so it imports nothing of Cambrian and only the standard library: start-up is
fast and a broken Cambrian import can never be mistaken for a broken candidate.

Usage: ``python -s -P -B _worker.py '<json spec>'`` with a nonce line on stdin. The
spec names the task root, the evaluator file, the protocol, the program path, the
results dir, the result path, the shims dir and the cascade settings. The outcome is
written to the result path as one JSON *envelope*, which also carries the nonce:

* ``{"status": "ok", "result_json": <text>, "artifacts": {...}, "warnings": [...]}``
  plus, for Shinka, ``"correct_json": <text>``. ``result_json`` is the evaluator's
  metrics, serialised here and validated strictly by the orchestrator.
* ``{"status": "error", "kind": "evaluator_error" | "invalid_result", "error": <text>}``
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

_MAX_ARTIFACT_CHARS = 64 * 1024
_MAX_FILE_BYTES = 1024 * 1024
_TRACEBACK_CHARS = 4000


class _Reject(Exception):
    """The evaluator's output cannot be reported; the message says why."""


def _import_evaluator(path: str) -> Any:
    name = Path(path).stem
    if name in sys.modules:
        name = "cambrian_task_evaluator"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _Reject(f"cannot import the evaluator file {path!r}")
    module = importlib.util.module_from_spec(spec)
    # Registered before execution so pickling (multiprocessing) and dataclasses that
    # look the module up by name work as they do for a normal import.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _jsonable(value: Any) -> Any:
    """json.dumps fallback for numpy scalars and arrays, the common non-JSON values."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"a value of type {type(value).__name__} is not JSON serialisable")


def _artifact_text(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value)
    return text[:_MAX_ARTIFACT_CHARS]


def _split(value: Any, where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Metrics and artifacts from a dict or an object with ``.metrics``/``.artifacts``."""
    if isinstance(value, dict):
        return value, {}
    metrics = getattr(value, "metrics", None)
    if isinstance(metrics, dict):
        artifacts = getattr(value, "artifacts", None) or {}
        if not isinstance(artifacts, dict):
            raise _Reject(f"{where} returned .artifacts of type {type(artifacts).__name__}")
        return metrics, {str(k): _artifact_text(v) for k, v in artifacts.items()}
    raise _Reject(
        f"{where} returned {type(value).__name__}; expected a dict of metrics or an "
        "object with a .metrics dict"
    )


def _stage_score(metrics: dict[str, Any]) -> float:
    """The score a cascade threshold is compared with (OpenEvolve's rule)."""
    score = metrics.get("combined_score")
    if isinstance(score, int | float) and not isinstance(score, bool):
        return float(score)
    numbers = [
        float(v) for v in metrics.values() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return sum(numbers) / len(numbers) if numbers else 0.0


def _run_evaluate(module: Any, spec: dict[str, Any]) -> dict[str, Any]:
    program_path = spec["program_path"]
    cascade = spec["cascade"]
    stage_fns = []
    for k in (1, 2, 3):
        fn = getattr(module, f"evaluate_stage{k}", None)
        if not callable(fn):
            break
        stage_fns.append(fn)
    use_cascade = bool(stage_fns) if cascade is None else (cascade and bool(stage_fns))
    if not use_cascade:
        evaluate = getattr(module, "evaluate", None)
        if not callable(evaluate):
            raise _Reject("the evaluator defines no evaluate(program_path) function")
        metrics, artifacts = _split(evaluate(program_path), "evaluate()")
        return _ok(metrics, artifacts, [])
    thresholds: list[float] = spec["thresholds"]
    merged: dict[str, Any] = {}
    merged_artifacts: dict[str, str] = {}
    warnings: list[str] = []
    for k, fn in enumerate(stage_fns):
        metrics, artifacts = _split(fn(program_path), f"evaluate_stage{k + 1}()")
        merged.update(metrics)
        merged_artifacts.update(artifacts)
        if k + 1 < len(stage_fns) and k < len(thresholds):
            score = _stage_score(metrics)
            if score < thresholds[k]:
                warnings.append(
                    f"cascade stopped after stage {k + 1}: score {score} < "
                    f"threshold {thresholds[k]}"
                )
                break
    return _ok(merged, merged_artifacts, warnings)


def _read_capped(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read(_MAX_FILE_BYTES + 1)
    if len(data) > _MAX_FILE_BYTES:
        raise _Reject(f"{path.name} is larger than {_MAX_FILE_BYTES} bytes")
    return data.decode("utf-8", errors="replace")


def _run_shinka(module: Any, spec: dict[str, Any]) -> dict[str, Any]:
    main = getattr(module, "main", None)
    if not callable(main):
        raise _Reject("the evaluator defines no main(program_path, results_dir) function")
    results_dir = Path(spec["results_dir"])
    results_dir.mkdir(parents=True, exist_ok=True)
    main(spec["program_path"], str(results_dir))
    metrics_file = results_dir / "metrics.json"
    if not metrics_file.is_file():
        raise _Reject("main() wrote no metrics.json into results_dir")
    envelope: dict[str, Any] = {"status": "ok", "result_json": _read_capped(metrics_file)}
    correct_file = results_dir / "correct.json"
    if correct_file.is_file():
        envelope["correct_json"] = _read_capped(correct_file)
    return envelope


def _ok(metrics: dict[str, Any], artifacts: dict[str, str], warnings: list[str]) -> dict[str, Any]:
    try:
        text = json.dumps(metrics, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise _Reject(f"the metrics are not JSON serialisable: {exc}") from None
    return {"status": "ok", "result_json": text, "artifacts": artifacts, "warnings": warnings}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Import the evaluator, run it per the spec, and return the envelope."""
    try:
        module = _import_evaluator(spec["evaluator"])
        if spec["protocol"] == "shinka_main":
            return _run_shinka(module, spec)
        return _run_evaluate(module, spec)
    except _Reject as exc:
        return {"status": "error", "kind": "invalid_result", "error": str(exc)}
    except Exception:
        # Reporting the trusted evaluator's failure (including one the candidate
        # provoked inside it) is this process's whole job; the traceback goes back to
        # the orchestrator. SystemExit/KeyboardInterrupt still end the process.
        return {
            "status": "error",
            "kind": "evaluator_error",
            "error": traceback.format_exc()[-_TRACEBACK_CHARS:],
        }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    # The nonce comes on stdin, not argv: a candidate the evaluator runs as a child
    # process cannot read it from /proc, so it cannot forge the result file.
    nonce = sys.stdin.readline().strip()
    # The task root comes first so the evaluator imports its sibling modules; the
    # shims come last so a really installed shinka/openevolve always wins.
    sys.path.insert(0, spec["task_root"])
    sys.path.append(spec["shims_dir"])
    sys.argv = [spec["evaluator"]]
    envelope = run(spec)
    envelope["nonce"] = nonce
    result_path = Path(spec["result_path"])
    tmp = result_path.with_name(result_path.name + ".tmp")
    tmp.write_text(json.dumps(envelope), encoding="utf-8")
    # Atomic: the orchestrator sees the whole envelope or none.
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: threads and atexit hooks left by the evaluator or the
    # candidate must not turn a finished evaluation into a timeout. The orchestrator
    # kills whatever is left in the process group.
    os._exit(code)
