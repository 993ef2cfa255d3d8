"""The shinka/openevolve shims and the foreign-layout fixtures they let run unchanged.

Fixture evaluators run in a subprocess (cwd = a temp dir, ``sys.executable``) with the
shims directory on PYTHONPATH, as the evaluation worker arranges it.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import cambrian.compat
from cambrian.compat import SHIMS_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHINKA = FIXTURES / "shinka_circle"
OPENEVOLVE = FIXTURES / "openevolve_circle"
RESULT_OBJECT = FIXTURES / "openevolve_result_object"

# Imports an evaluator by path, calls one of its functions on a program, prints JSON;
# an EvaluationResult is unpacked so the test can see where its class came from.
_CALL = (
    "import importlib.util, json, sys\n"
    "spec = importlib.util.spec_from_file_location('evaluator', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "result = getattr(module, sys.argv[2])(sys.argv[3])\n"
    "if hasattr(result, 'metrics'):\n"
    "    result = {'class': type(result).__module__ + '.' + type(result).__name__,\n"
    "              'metrics': result.metrics, 'artifacts': result.artifacts,\n"
    "              'to_dict': result.to_dict()}\n"
    "print(json.dumps(result))\n"
)


def shim_env() -> dict[str, str]:
    """The current environment with the shims appended to PYTHONPATH."""
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*parts, str(SHIMS_DIR)])}


def call_evaluator(evaluator: Path, function: str, program: Path, cwd: Path) -> Any:
    proc = subprocess.run(
        [sys.executable, "-c", _CALL, str(evaluator), function, str(program)],
        cwd=cwd,
        env=shim_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def broken_copy(source: Path, tmp_path: Path, old: str, new: str) -> Path:
    """Copy a seed program with one snippet replaced (the snippet must be there)."""
    text = source.read_text()
    assert old in text
    target = tmp_path / source.name
    target.write_text(text.replace(old, new))
    return target


# --- the package surface ---------------------------------------------------------------


def test_exported_members() -> None:
    assert cambrian.compat.__all__ == ["SHIMS_DIR"]
    assert isinstance(SHIMS_DIR, Path)
    assert (SHIMS_DIR / "shinka" / "core" / "__init__.py").is_file()
    assert (SHIMS_DIR / "openevolve" / "evaluation_result.py").is_file()


# --- ShinkaEvolve ----------------------------------------------------------------------


def run_shinka_main(program: Path, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the fixture's evaluate.py as ShinkaEvolve does; return (metrics, correct)."""
    results = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            str(SHINKA / "evaluate.py"),
            "--program_path",
            str(program),
            "--results_dir",
            str(results),
        ],
        cwd=tmp_path,
        env=shim_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    metrics = json.loads((results / "metrics.json").read_text())
    correct = json.loads((results / "correct.json").read_text())
    return metrics, correct


def test_shinka_main_writes_metrics_and_correct(tmp_path: Path) -> None:
    metrics, correct = run_shinka_main(SHINKA / "initial.py", tmp_path)
    assert correct == {"correct": True, "error": None}
    assert metrics["combined_score"] > 1.0
    assert metrics["private"]["reported_sum_of_radii"] == metrics["combined_score"]
    assert metrics["num_valid_runs"] == 1
    assert metrics["execution_time_mean"] >= 0.0


def test_shinka_invalid_result_is_incorrect(tmp_path: Path) -> None:
    program = broken_copy(SHINKA / "initial.py", tmp_path, "radii * (1 - 1e-9)", "radii * 1.5")
    metrics, correct = run_shinka_main(program, tmp_path)
    assert correct["correct"] is False
    assert "overlap" in correct["error"] or "outside" in correct["error"]
    assert metrics["num_invalid_runs"] == 1


def test_shinka_program_that_raises_is_incorrect(tmp_path: Path) -> None:
    program = broken_copy(
        SHINKA / "initial.py",
        tmp_path,
        "    centers = [(0.5, 0.5)]\n",
        "    raise ValueError('no packing today')\n",
    )
    metrics, correct = run_shinka_main(program, tmp_path)
    assert correct["correct"] is False
    assert correct["error"].startswith("ValueError: no packing today")
    assert "construct_packing" in correct["error"]  # the traceback names the frame
    assert metrics["combined_score"] == 0.0


@pytest.fixture
def shinka_core() -> Iterator[ModuleType]:
    """The shim's ``shinka.core`` imported in-process under a private name."""
    path = SHIMS_DIR / "shinka" / "core" / "__init__.py"
    spec = importlib.util.spec_from_file_location("_shim_shinka_core", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("program", None)  # run_shinka_eval registers the program module


def test_run_shinka_eval_runs_validates_and_aggregates(
    shinka_core: ModuleType, tmp_path: Path
) -> None:
    program = tmp_path / "program.py"
    program.write_text("def experiment(scale):\n    return 2.0 * scale\n")
    seen: list[Any] = []

    def validate(result: float) -> tuple[bool, str | None]:
        seen.append(result)
        return (result < 5, None if result < 5 else f"{result} is too big")

    metrics, correct, error = shinka_core.run_shinka_eval(
        program_path=str(program),
        results_dir=str(tmp_path / "out"),
        experiment_fn_name="experiment",
        num_runs=4,
        get_experiment_kwargs=lambda i: {"scale": i},
        validate_fn=validate,
        aggregate_metrics_fn=lambda results: {"combined_score": sum(results), "n": len(results)},
    )
    assert seen == [0.0, 2.0, 4.0, 6.0]
    assert (correct, error) == (False, "6.0 is too big")
    assert metrics["combined_score"] == 12.0
    assert metrics["n"] == 4
    assert (metrics["num_valid_runs"], metrics["num_invalid_runs"]) == (3, 1)
    assert json.loads((tmp_path / "out" / "correct.json").read_text()) == {
        "correct": False,
        "error": "6.0 is too big",
    }
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["combined_score"] == 12.0


def test_run_shinka_eval_defaults(shinka_core: ModuleType, tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text("def experiment():\n    return 3\n")
    metrics, correct, error = shinka_core.run_shinka_eval(
        str(program), str(tmp_path / "out"), "experiment", num_runs=2
    )
    assert (correct, error) == (True, None)
    assert metrics["combined_score"] == 3.0  # mean of numeric results


def test_run_shinka_eval_rejects_a_non_finite_score(
    shinka_core: ModuleType, tmp_path: Path
) -> None:
    program = tmp_path / "program.py"
    program.write_text("def experiment():\n    return float('inf')\n")
    metrics, correct, _ = shinka_core.run_shinka_eval(
        str(program), str(tmp_path / "out"), "experiment"
    )
    assert correct is False
    assert metrics["combined_score"] == 0.0
    # What was written is strict JSON.
    text = (tmp_path / "out" / "metrics.json").read_text()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in metrics.json"))


# --- OpenEvolve ------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["evaluate", "evaluate_stage1", "evaluate_stage2"])
def test_openevolve_seed_scores(function: str, tmp_path: Path) -> None:
    metrics = call_evaluator(
        OPENEVOLVE / "evaluator.py", function, OPENEVOLVE / "initial_program.py", tmp_path
    )
    assert metrics["validity"] == 1.0
    assert metrics["combined_score"] > 0.5


def test_openevolve_string_metric_on_invalid_shapes(tmp_path: Path) -> None:
    program = broken_copy(
        OPENEVOLVE / "initial_program.py", tmp_path, "for col in range(5)", "for col in range(4)"
    )
    metrics = call_evaluator(OPENEVOLVE / "evaluator.py", "evaluate", program, tmp_path)
    assert metrics["combined_score"] == 0.0
    assert metrics["error"] == "Invalid shapes"


def test_openevolve_config_follows_their_schema() -> None:
    config = yaml.safe_load((OPENEVOLVE / "config.yaml").read_text())
    assert {"max_iterations", "random_seed", "llm", "prompt", "database", "evaluator"} <= set(
        config
    )
    assert config["prompt"]["system_message"].strip()
    assert {"population_size", "num_islands", "migration_interval"} <= set(config["database"])
    assert config["evaluator"]["cascade_evaluation"] is True
    assert len(config["evaluator"]["cascade_thresholds"]) == 2


def test_openevolve_evaluation_result_object(tmp_path: Path) -> None:
    result = call_evaluator(
        RESULT_OBJECT / "evaluator.py", "evaluate", RESULT_OBJECT / "initial_program.py", tmp_path
    )
    assert result["class"] == "openevolve.evaluation_result.EvaluationResult"
    assert result["metrics"] == {"combined_score": 0.2, "loss": 4.0}
    assert result["to_dict"] == result["metrics"]
    assert "loss = 4" in result["artifacts"]["feedback"]


def test_evaluation_result_helpers() -> None:
    path = SHIMS_DIR / "openevolve" / "evaluation_result.py"
    spec = importlib.util.spec_from_file_location("_shim_evaluation_result", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    try:
        spec.loader.exec_module(module)
        plain = module.EvaluationResult.from_dict({"combined_score": 1.0})
        assert (plain.metrics, plain.artifacts, plain.has_artifacts()) == (
            {"combined_score": 1.0},
            {},
            False,
        )
        rich = module.EvaluationResult({"combined_score": 0.5}, {"stderr": "warning"})
        assert rich.has_artifacts() and rich.get_artifact_keys() == ["stderr"]
        assert rich.to_dict() == {"combined_score": 0.5}
    finally:
        del sys.modules[spec.name]
