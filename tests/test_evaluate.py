"""evaluate_program end to end: real worker processes, adversarial candidates."""

from __future__ import annotations

import asyncio
import json
import math
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

import cambrian.evaluate as evaluate
from cambrian.evaluate import EvalResult, EvaluatorConfig, evaluate_program
from cambrian.sandbox import Limits
from cambrian.task import Files, Task

pytestmark = pytest.mark.timeout(30)

PROGRAM = "def score():\n    return 0.5\n"

# Imports the candidate the way OpenEvolve evaluators do and reports its score.
GOOD_EVALUATOR = """
import importlib.util

def load(path):
    spec = importlib.util.spec_from_file_location("candidate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

def evaluate(program_path):
    value = load(program_path).score()
    print("evaluator ran")
    return {
        "combined_score": value,
        "n_tests": 3,
        "public": {"x": 1.5, "label": "nested"},
        "note": "a string goes to artifacts",
        "valid": True,
        "feedback": "try harder",
    }
"""


def make_task(
    tmp_path: Path,
    evaluator: str,
    *,
    protocol: str = "evaluate",
    entry: str = "main.py",
    siblings: dict[str, str] | None = None,
) -> Task:
    root = tmp_path / "task"
    root.mkdir()
    (root / "evaluate.py").write_text(textwrap.dedent(evaluator))
    for name, text in (siblings or {}).items():
        (root / name).write_text(textwrap.dedent(text))
    return Task(
        name="t",
        root=root,
        format="cambrian",
        seed={"main.py": PROGRAM},
        entry=entry,
        evaluator=root / "evaluate.py",
        protocol=protocol,  # type: ignore[arg-type]
    )


def run(task: Task, tmp_path: Path, files: Files | None = None, **config: object) -> EvalResult:
    config.setdefault("limits", Limits(timeout_s=10))
    return asyncio.run(
        evaluate_program(
            task,
            files if files is not None else {"main.py": PROGRAM},
            work_dir=tmp_path / "work",
            config=EvaluatorConfig(**config),  # type: ignore[arg-type]
        )
    )


def test_exported_members() -> None:
    assert set(evaluate.__all__) == {
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
    }
    text = evaluate.describe_isolation()
    assert text.startswith("bubblewrap") or text.startswith("NO SANDBOX")


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        EvaluatorConfig(timeout_s=3)  # type: ignore[call-arg]


def test_good_dict_result(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, GOOD_EVALUATOR), tmp_path)
    assert result.ok, result.error
    assert result.failure is None
    assert result.combined_score == 0.5
    assert result.correct is True
    assert result.metrics["n_tests"] == 3.0
    assert result.metrics["public.x"] == 1.5
    assert result.artifacts["public.label"] == "nested"
    assert result.artifacts["note"] == "a string goes to artifacts"
    assert result.artifacts["valid"] == "True"
    assert "valid" not in result.metrics
    assert result.feedback == "try harder"
    assert "evaluator ran" in result.stdout
    assert result.wall_time > 0


def test_object_with_metrics_and_artifacts(tmp_path: Path) -> None:
    evaluator = """
    class EvaluationResult:
        def __init__(self, metrics, artifacts):
            self.metrics = metrics
            self.artifacts = artifacts

    def evaluate(program_path):
        return EvaluationResult({"combined_score": 0.75, "speed": 2},
                                {"stderr": b"bytes \\xff", "log": "text"})
    """
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.ok, result.error
    assert result.combined_score == 0.75
    assert result.metrics["speed"] == 2.0
    assert result.artifacts["log"] == "text"
    assert result.artifacts["stderr"].startswith("bytes ")


def test_evaluator_imports_siblings_and_numpy_scalars(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    assert np is not None
    evaluator = """
    import numpy as np
    from helper import BASE

    def evaluate(program_path):
        return {"combined_score": np.float32(BASE), "count": np.int64(4)}
    """
    task = make_task(tmp_path, evaluator, siblings={"helper.py": "BASE = 0.25\n"})
    result = run(task, tmp_path)
    assert result.ok, result.error
    assert result.combined_score == 0.25
    assert result.metrics["count"] == 4.0


def test_program_path_is_the_directory_for_empty_entry(tmp_path: Path) -> None:
    evaluator = """
    import os

    def evaluate(program_path):
        return {"combined_score": 1.0, "files": ",".join(sorted(os.listdir(program_path)))}
    """
    files = {"main.py": PROGRAM, "pkg/util.py": "X = 1\n", "data.txt": "hello"}
    result = run(make_task(tmp_path, evaluator, entry=""), tmp_path, files=files)
    assert result.ok, result.error
    assert result.artifacts["files"] == "data.txt,main.py,pkg"
    assert (tmp_path / "work" / "program" / "pkg" / "util.py").read_text() == "X = 1\n"


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("float('nan')", "NaN"),
        ("float('inf')", "Infinity"),
        ("True", "'combined_score' must be a finite number"),
        ("'0.9'", "'combined_score' must be a finite number"),
        (None, "no 'combined_score'"),
    ],
)
def test_bad_combined_score_is_invalid(tmp_path: Path, returned: str | None, message: str) -> None:
    body = "{}" if returned is None else f"{{'combined_score': {returned}}}"
    evaluator = f"def evaluate(program_path):\n    return {body}\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert not result.ok
    assert result.failure == "invalid_result"
    assert message in result.error
    assert result.combined_score is None


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("[1, 2]", "expected a dict of metrics"),
        ("{'combined_score': 1.0, 'scores': [1, 2]}", "'scores' has type list"),
        ("{'combined_score': 1.0, 'correct': 'yes'}", "'correct' must be true or false"),
        ("{'combined_score': 1.0, 'other': float('nan')}", "'other' is NaN"),
        ("{'combined_score': 1.0, 'o': object()}", "not JSON serialisable"),
    ],
)
def test_malformed_result_is_invalid(tmp_path: Path, returned: str, message: str) -> None:
    evaluator = f"def evaluate(program_path):\n    return {returned}\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.failure == "invalid_result"
    assert message in result.error


def test_correct_false_is_ok_but_incorrect(tmp_path: Path) -> None:
    evaluator = "def evaluate(p):\n    return {'combined_score': 0.0, 'correct': False}\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.ok
    assert result.correct is False


def test_evaluator_raising_is_evaluator_error(tmp_path: Path) -> None:
    evaluator = "def evaluate(program_path):\n    raise ValueError('boom: bad input')\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert not result.ok
    assert result.failure == "evaluator_error"
    assert "ValueError: boom: bad input" in result.error


def test_missing_evaluate_function(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, "X = 1\n"), tmp_path)
    assert result.failure == "invalid_result"
    assert "no evaluate(program_path)" in result.error


def test_syntax_error_is_compile_error_without_spawning(tmp_path: Path) -> None:
    marker = tmp_path / "spawned"
    evaluator = f"open({str(marker)!r}, 'w').close()\ndef evaluate(p):\n    return {{}}\n"
    files = {"main.py": "def f():\n    return (1,\n", "ok.py": "X = 1\n"}
    result = run(make_task(tmp_path, evaluator), tmp_path, files=files)
    assert result.failure == "compile_error"
    assert result.error.startswith("main.py:2")
    assert "SyntaxError" in result.error
    assert not marker.exists()
    assert not (tmp_path / "work" / "program").exists()


@pytest.mark.parametrize("name", ["../evil.py", "/tmp/evil.py", "a/../../evil.py", ""])
def test_path_traversal_is_rejected(tmp_path: Path, name: str) -> None:
    result = run(make_task(tmp_path, GOOD_EVALUATOR), tmp_path, files={name: "X = 1\n"})
    assert not result.ok
    assert result.failure == "scope_violation"
    assert repr(name) in result.error
    assert not (tmp_path / "evil.py").exists()


CASCADE = """
from pathlib import Path

def evaluate_stage1(program_path):
    return {"combined_score": 0.1, "stage1": 1}

def evaluate_stage2(program_path):
    Path(program_path).parent.parent.joinpath("stage2_ran").write_text("yes")
    return {"combined_score": 0.9, "stage2": 1}

def evaluate(program_path):
    Path(program_path).parent.parent.joinpath("evaluate_ran").write_text("yes")
    return {"combined_score": 0.3}
"""


def test_cascade_stops_below_threshold(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, CASCADE), tmp_path, cascade_thresholds=[0.5])
    assert result.ok, result.error
    assert result.combined_score == 0.1
    assert "stage2" not in result.metrics
    assert not (tmp_path / "work" / "stage2_ran").exists()
    assert not (tmp_path / "work" / "evaluate_ran").exists()
    assert any("stopped after stage 1" in w for w in result.warnings)


def test_cascade_continues_above_threshold(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, CASCADE), tmp_path, cascade_thresholds=[0.05])
    assert result.ok, result.error
    assert result.combined_score == 0.9
    assert result.metrics["stage1"] == 1.0
    assert result.metrics["stage2"] == 1.0
    assert (tmp_path / "work" / "stage2_ran").exists()


def test_cascade_disabled_uses_evaluate(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, CASCADE), tmp_path, cascade=False)
    assert result.combined_score == 0.3
    assert not (tmp_path / "work" / "stage2_ran").exists()


SHINKA = """
import json, os

def main(program_path, results_dir):
    assert os.path.isfile(program_path)
    with open(os.path.join(results_dir, "metrics.json"), "w") as f:
        json.dump({"combined_score": 2.5, "public": {"a": 1}, "private": {"b": 2},
                   "text_feedback": "close"}, f)
    with open(os.path.join(results_dir, "correct.json"), "w") as f:
        json.dump({"correct": False, "error": "wrong answer"}, f)
"""


def test_shinka_main_protocol(tmp_path: Path) -> None:
    result = run(make_task(tmp_path, SHINKA, protocol="shinka_main"), tmp_path)
    assert result.ok, result.error
    assert result.combined_score == 2.5
    assert result.metrics["public.a"] == 1.0
    assert result.metrics["private.b"] == 2.0
    assert result.feedback == "close"
    assert result.correct is False
    assert result.artifacts["correct.error"] == "wrong answer"


def test_shinka_main_without_metrics_file(tmp_path: Path) -> None:
    evaluator = "def main(program_path, results_dir):\n    pass\n"
    result = run(make_task(tmp_path, evaluator, protocol="shinka_main"), tmp_path)
    assert result.failure == "invalid_result"
    assert "metrics.json" in result.error


def test_shinka_metrics_with_nan_is_invalid(tmp_path: Path) -> None:
    evaluator = """
    import os
    def main(program_path, results_dir):
        with open(os.path.join(results_dir, "metrics.json"), "w") as f:
            f.write('{"combined_score": NaN}')
    """
    result = run(make_task(tmp_path, evaluator, protocol="shinka_main"), tmp_path)
    assert result.failure == "invalid_result"
    assert "NaN" in result.error


def test_secrets_do_not_reach_the_evaluator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    evaluator = """
    import json, os, subprocess, sys
    def evaluate(program_path):
        child = subprocess.run([sys.executable, "-c", "import os; print(dict(os.environ))"],
                               capture_output=True, text=True).stdout
        return {"combined_score": 0.0, "env": json.dumps(dict(os.environ)), "child": child,
                "home": os.path.expanduser("~"), "cwd": os.getcwd()}
    """
    result = run(make_task(tmp_path, evaluator), tmp_path, env={"MY_SETTING": "42"})
    assert result.ok, result.error
    env = json.loads(result.artifacts["env"])
    assert "OPENAI_API_KEY" not in env
    assert "sk-test-secret" not in result.artifacts["child"]
    assert env["MY_SETTING"] == "42"
    assert env["PYTHONHASHSEED"] == "0"
    work = str((tmp_path / "work").resolve())
    assert result.artifacts["home"] == work
    assert result.artifacts["cwd"] == work


def test_candidate_printing_a_fake_score_changes_nothing(tmp_path: Path) -> None:
    program = (
        'import json\nprint(json.dumps({"combined_score": 1e9}))\n'
        'print("combined_score: 1000000000")\ndef score():\n    return 0.25\n'
    )
    result = run(make_task(tmp_path, GOOD_EVALUATOR), tmp_path, files={"main.py": program})
    assert result.ok, result.error
    assert result.combined_score == 0.25
    assert "1e+09" in result.stdout or "1000000000" in result.stdout


def test_candidate_forging_the_result_file_is_rejected(tmp_path: Path) -> None:
    program = textwrap.dedent(
        """
        import json, os
        forged = {"status": "ok", "result_json": json.dumps({"combined_score": 1e9})}
        with open(os.path.join(os.getcwd(), "result.json"), "w") as f:
            json.dump(forged, f)
        os._exit(0)
        """
    )
    result = run(make_task(tmp_path, GOOD_EVALUATOR), tmp_path, files={"main.py": program})
    assert not result.ok
    assert result.failure == "invalid_result"
    assert result.combined_score is None
    assert "not written by the evaluator worker" in result.error


def test_timeout(tmp_path: Path) -> None:
    evaluator = "import time\ndef evaluate(p):\n    time.sleep(30)\n"
    result = run(make_task(tmp_path, evaluator), tmp_path, limits=Limits(timeout_s=1, grace_s=0.1))
    assert result.failure == "timeout"
    assert "1s wall-clock limit" in result.error
    assert 1.0 <= result.wall_time < 5.0


def test_memory_bomb_is_oom(tmp_path: Path) -> None:
    evaluator = "def evaluate(p):\n    return {'combined_score': len(bytearray(2 * 1024**3))}\n"
    result = run(make_task(tmp_path, evaluator), tmp_path, limits=Limits(memory_mb=256))
    assert result.failure == "oom"
    assert not result.ok


def test_hard_crash_is_crash(tmp_path: Path) -> None:
    evaluator = "import os, signal\ndef evaluate(p):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.failure == "crash"
    assert "signal 11" in result.error


def test_exit_without_result_is_invalid(tmp_path: Path) -> None:
    evaluator = "import os\ndef evaluate(p):\n    os._exit(0)\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.failure == "invalid_result"
    assert "without writing a result" in result.error


def test_stale_result_from_a_previous_run_is_not_reused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    stale = {"status": "ok", "result_json": '{"combined_score": 99}', "nonce": "x"}
    (work / "result.json").write_text(json.dumps(stale))
    evaluator = "import os\ndef evaluate(p):\n    os._exit(0)\n"
    result = run(make_task(tmp_path, evaluator), tmp_path)
    assert result.failure == "invalid_result"
    assert not math.isclose(result.combined_score or 0.0, 99)


def test_worker_sys_path_and_isolation(tmp_path: Path) -> None:
    evaluator = """
    import sys
    def evaluate(p):
        mods = ",".join(m for m in sys.modules if m.startswith("cambrian"))
        return {"combined_score": 0.0, "first": sys.path[0], "last": sys.path[-1],
                "mods": mods}
    """
    task = make_task(tmp_path, evaluator)
    result = run(task, tmp_path)
    assert result.ok, result.error
    assert result.artifacts["first"] == str(task.root)
    assert result.artifacts["last"].endswith("_shims")
    # The worker is stdlib-only: no Cambrian code shares the evaluator's interpreter.
    assert result.artifacts["mods"] == ""


def test_evaluator_isolation_and_warning(tmp_path: Path) -> None:
    from cambrian.evaluate import evaluator_isolation

    for name in ("legacy", "modern"):
        (tmp_path / name).mkdir()
    legacy = make_task(tmp_path / "legacy", GOOD_EVALUATOR)
    assert evaluator_isolation(legacy) == "shared"
    result = run(legacy, tmp_path / "l")
    assert any("weaker isolation" in w for w in result.warnings)
    modern = make_task(
        tmp_path / "modern",
        "from cambrian.sandbox import run_candidate\n\n"
        "def evaluate(program_path):\n"
        "    r = run_candidate(program_path, 'solve', timeout=20)\n"
        "    return {'combined_score': float(r.value) if r.ok else 0.0}\n",
    )
    assert evaluator_isolation(modern) == "candidate"
