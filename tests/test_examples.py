"""Behaviour of the example evaluators, above all against adversarial candidates.

Every evaluator runs in its own subprocess (cwd = a temp dir, ``sys.executable``),
the way Cambrian runs trusted evaluators; the evaluator in turn runs the candidate.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cambrian.sandbox import diagnose

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CIRCLES = EXAMPLES / "circle_packing"
SYMREG = EXAMPLES / "symbolic_regression"

# Imports the evaluator by path, evaluates one program, prints the result as JSON.
_EVALUATE = (
    "import importlib.util, json, sys\n"
    "spec = importlib.util.spec_from_file_location('evaluator', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "spec.loader.exec_module(module)\n"
    "print(json.dumps(module.evaluate(sys.argv[2])))\n"
)


def run_evaluator(
    evaluator: Path, program: Path, cwd: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Evaluate ``program`` with ``evaluator`` in a fresh interpreter; return its dict."""
    proc = subprocess.run(
        [sys.executable, "-c", _EVALUATE, str(evaluator), str(program)],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


def load_module(path: Path) -> ModuleType:
    """Import a trusted file (an evaluator) by path, for its helpers."""
    spec = importlib.util.spec_from_file_location(f"_loaded_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- circle packing --------------------------------------------------------------------


def tangent_packing() -> tuple[list[list[float]], list[float]]:
    """A valid packing that touches exactly: circles 0 and 1 kiss, circle 2 kisses x = 1.

    Dyadic numbers keep the float arithmetic exact, so the valid case is truly tangent
    and a one-ulp change is truly an overlap.
    """
    centers = [[0.25, 0.5], [0.5, 0.5], [0.875, 0.5]]
    radii = [0.125, 0.125, 0.125]
    for k in range(23):  # small circles in two rows, far from the big ones
        centers.append([0.05 + 0.075 * (k % 12), 0.1 if k < 12 else 0.9])
        radii.append(0.02)
    return centers, radii


def write_packing_program(
    path: Path, centers: Any, radii: Any, reported: str = "sum(RADII)", extra: str = ""
) -> Path:
    """Write a candidate whose run_packing() returns the given literals (repr is exact)."""
    path.write_text(
        "import math, os, sys, time\n"
        f"CENTERS = {centers!r}\n"
        f"RADII = {radii!r}\n"
        "def run_packing():\n"
        f"{extra}"
        f"    return CENTERS, RADII, {reported}\n"
    )
    return path


def evaluate_packing(tmp_path: Path, centers: Any, radii: Any, **kwargs: str) -> dict[str, Any]:
    program = write_packing_program(tmp_path / "candidate.py", centers, radii, **kwargs)
    return run_evaluator(CIRCLES / "evaluate.py", program, tmp_path)


def assert_rejected(result: dict[str, Any], *fragments: str) -> None:
    assert result["combined_score"] == 0.0
    assert result["correct"] is False
    for fragment in fragments:
        assert fragment in result["feedback"]


def test_circle_seed_is_valid_and_scores_near_one(tmp_path: Path) -> None:
    result = run_evaluator(CIRCLES / "evaluate.py", CIRCLES / "program.py", tmp_path)
    assert result["correct"] is True
    assert 0.9 < result["combined_score"] < 1.0
    assert result["combined_score"] == result["sum_radii"]


def test_exactly_tangent_packing_is_valid(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    result = evaluate_packing(tmp_path, centers, radii)
    assert result["correct"] is True
    assert result["combined_score"] == pytest.approx(sum(radii))


def test_overlap_by_one_ulp_is_rejected(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    radii[1] = math.nextafter(0.125, 1.0)
    assert_rejected(evaluate_packing(tmp_path, centers, radii), "circles 0 and 1 overlap")


def test_poking_out_by_one_ulp_is_rejected(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    radii[2] = math.nextafter(0.125, 1.0)
    result = evaluate_packing(tmp_path, centers, radii)
    assert_rejected(result, "circle 2 pokes out", "1 - (x + r)")


def test_nan_radius_is_rejected(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    result = evaluate_packing(tmp_path, centers, radii, extra="    RADII[5] = math.nan\n")
    assert_rejected(result, "NaN")


def test_wrong_shape_is_rejected(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    assert_rejected(evaluate_packing(tmp_path, centers[:-1], radii[:-1]), "shape (26, 2)")
    centers[4] = [0.5, 0.1, 0.0]
    assert_rejected(evaluate_packing(tmp_path, centers, radii), "center 4 must be a pair")


def test_negative_radius_is_rejected(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    radii[3] = -0.01
    assert_rejected(evaluate_packing(tmp_path, centers, radii), "circle 3 has negative radius")


def test_reported_sum_is_ignored(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    result = evaluate_packing(tmp_path, centers, radii, reported="1000.0")
    assert result["correct"] is True
    assert result["combined_score"] == pytest.approx(sum(radii))
    assert "1000.0" in result["feedback"]


def test_printed_fake_score_is_ignored(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    fake = '    print(\'{"combined_score": 99.0, "correct": true}\')\n'
    fake += "    os.write(1, b'{\"combined_score\": 99.0}\\n')\n"
    result = evaluate_packing(tmp_path, centers, radii, extra=fake)
    assert result["combined_score"] == pytest.approx(sum(radii))


def test_numpy_arrays_are_accepted(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    extra = "    import numpy as np\n    return np.array(CENTERS), np.array(RADII), np.float64(3)\n"
    result = evaluate_packing(tmp_path, centers, radii, extra=extra)
    assert result["correct"] is True
    assert result["combined_score"] == pytest.approx(sum(radii))


def test_candidate_that_raises_scores_zero(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    extra = "    raise RuntimeError('constructor exploded')\n"
    result = evaluate_packing(tmp_path, centers, radii, extra=extra)
    assert_rejected(result, "run_packing() failed", "constructor exploded")


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie awaiting its reaper counts as dead."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def _spawn_sleeper(marker: str) -> str:
    """Candidate lines that start a long-sleeping grandchild carrying ``marker`` in argv.

    The candidate's sandbox cannot write outside itself, so the test finds the
    grandchild by its marker in /proc instead of by a pid file.
    """
    return (
        "    import subprocess\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
        f"{marker!r}])\n"
    )


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # it exited while we looked
                continue
    return found


def assert_killed(marker: str) -> None:
    deadline = time.monotonic() + 5  # the kernel may take a moment to tear it down
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(marker) == []


def test_candidate_past_the_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    marker = f"cambrian-test-sleeper-{uuid.uuid4().hex}"
    extra = _spawn_sleeper(marker) + "    time.sleep(60)\n"
    program = write_packing_program(tmp_path / "candidate.py", centers, radii, extra=extra)
    result = run_evaluator(
        CIRCLES / "evaluate.py", program, tmp_path, env={"CAMBRIAN_CANDIDATE_TIMEOUT_S": "1"}
    )
    assert_rejected(result, "did not return within 1 s")
    assert_killed(marker)


def test_background_children_do_not_outlive_the_evaluation(tmp_path: Path) -> None:
    centers, radii = tangent_packing()
    marker = f"cambrian-test-sleeper-{uuid.uuid4().hex}"
    result = evaluate_packing(tmp_path, centers, radii, extra=_spawn_sleeper(marker))
    assert result["correct"] is True
    assert_killed(marker)


# --- symbolic regression ---------------------------------------------------------------

PERFECT = {
    "AMPLITUDE = 0.0": "AMPLITUDE = 1.7",
    "FREQUENCY = 1.0": "FREQUENCY = 2.3",
    "QUADRATIC = 0.0": "QUADRATIC = 0.5",
    "SLOPE = 0.5": "SLOPE = 0.0",
    "INTERCEPT = 0.0": "INTERCEPT = -0.8",
}


def test_symreg_seed_is_valid_but_poor(tmp_path: Path) -> None:
    result = run_evaluator(SYMREG / "evaluate.py", SYMREG / "program.py", tmp_path)
    assert result["correct"] is True
    assert 0.0 < result["combined_score"] < 0.5
    assert result["combined_score"] == pytest.approx(1 / (1 + result["heldout_mse"]))


def test_symreg_true_constants_score_about_one(tmp_path: Path) -> None:
    source = (SYMREG / "program.py").read_text()
    for old, new in PERFECT.items():
        assert old in source
        source = source.replace(old, new)
    program = tmp_path / "candidate.py"
    program.write_text(source)
    result = run_evaluator(SYMREG / "evaluate.py", program, tmp_path)
    assert result["correct"] is True
    assert result["combined_score"] > 0.99


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("return [0.0] * (len(xs) - 1)", "values for"),
        ("return [float('nan')] * len(xs)", "NaN"),
        ("return ['1.0'] * len(xs)", "not a number"),
        ("return {'y': 1.0}", "must return a list"),
    ],
)
def test_symreg_malformed_predictions_are_incorrect(
    tmp_path: Path, body: str, fragment: str
) -> None:
    program = tmp_path / "candidate.py"
    program.write_text(f"def predict(xs):\n    {body}\n")
    result = run_evaluator(SYMREG / "evaluate.py", program, tmp_path)
    assert_rejected(result, fragment)


def test_symreg_candidate_cannot_see_the_targets(tmp_path: Path) -> None:
    train, heldout = load_module(SYMREG / "evaluate.py").hidden_data()
    targets = sorted(
        {repr(y) for _, y in train + heldout} | {f"{y:.6f}" for _, y in train + heldout}
    )
    inputs = sorted({repr(x) for x, _ in train + heldout})
    # Everything the candidate can observe goes into one text: its environment, argv,
    # stdin, its arguments, every file in its directory, and the evaluator's directory
    # if it can list it. It reports what it found by raising (it cannot write outside
    # its sandbox), and the evaluator passes the message back as feedback.
    program = tmp_path / "candidate.py"
    program.write_text(
        "import os, sys\n"
        f"TARGETS = {targets!r}\n"
        f"INPUTS = {inputs!r}\n"
        "def predict(xs):\n"
        "    seen = [repr(dict(os.environ)), repr(sys.argv), sys.stdin.read(), repr(xs)]\n"
        f"    for folder in ('.', {str(SYMREG)!r}):\n"
        "        try:\n"
        "            names = [os.path.join(folder, n) for n in os.listdir(folder)]\n"
        "        except OSError:\n"
        "            continue\n"
        "        for name in names:\n"
        "            if os.path.isfile(name) and not os.path.samefile(name, __file__):\n"
        "                try:\n"
        "                    seen.append(open(name, errors='replace').read())\n"
        "                except OSError:\n"
        "                    pass\n"
        "    text = '\\n'.join(seen)\n"
        "    found = sum(t in text for t in TARGETS)\n"
        "    inputs = sum(i in text for i in INPUTS)\n"
        f"    visible = os.path.exists({str(SYMREG / 'evaluate.py')!r})\n"
        "    raise RuntimeError(f'seen-report targets={found} inputs={inputs} visible={visible}')\n"
    )
    result = run_evaluator(SYMREG / "evaluate.py", program, tmp_path)
    # The scan works: it does find every input it was given... but no target.
    assert f"seen-report targets=0 inputs={len(inputs)}" in result["feedback"]
    if diagnose()["backend"] == "bwrap":
        # In its own namespace the candidate cannot even see the evaluator's files.
        assert "visible=False" in result["feedback"]
