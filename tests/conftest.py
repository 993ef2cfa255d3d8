"""Shared fixtures: small real tasks written into tmp dirs."""

from __future__ import annotations

import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

QUAD_PROGRAM = """\
# EVOLVE-BLOCK-START
X = 0.3
Y = 2.0
# EVOLVE-BLOCK-END


def solve():
    return [X, Y]
"""

# A trusted evaluator: runs the candidate in its own process, reads its answer as
# strict JSON, and scores it itself. EVAL_SLEEP slows it down; EVAL_LOG records each
# evaluation (pid, program hash, start, end) so tests can see overlap and duplicates.
QUAD_EVALUATOR = """\
import hashlib
import json
import math
import os
import subprocess
import sys
import time


def _bad(constant):
    raise ValueError(constant)


def evaluate(program_path):
    start = time.time()
    time.sleep(float(os.environ.get("EVAL_SLEEP", "0")))
    code = open(program_path, encoding="utf-8").read()
    runner = "import json, runpy, sys; ns = runpy.run_path(sys.argv[1]); print(json.dumps(ns['solve']()))"
    proc = subprocess.run(
        [sys.executable, "-c", runner, program_path], capture_output=True, text=True, timeout=10
    )
    log = os.environ.get("EVAL_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps({"hash": hashlib.sha256(code.encode()).hexdigest(),
                                 "start": start, "end": time.time()}) + "\\n")
    if proc.returncode != 0:
        return {"combined_score": 0.0, "correct": False, "feedback": proc.stderr[-500:]}
    x, y = json.loads(proc.stdout.strip().splitlines()[-1], parse_constant=_bad)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)):
        return {"combined_score": 0.0, "correct": False, "feedback": "non-finite output"}
    err = (x - 0.7) ** 2 + (y - 1.5) ** 2
    return {"combined_score": 1.0 / (1.0 + err), "error": err, "feedback": f"error {err:.4g}"}
"""


def write_task(
    root: Path, program: str = QUAD_PROGRAM, evaluator: str = QUAD_EVALUATOR, toml: str = ""
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "program.py").write_text(textwrap.dedent(program))
    (root / "evaluate.py").write_text(evaluator)
    if toml:
        (root / "cambrian.toml").write_text(textwrap.dedent(toml))
    return root


def program_rows(run_dir: Path) -> list[sqlite3.Row]:
    """Every program row of a run, by id."""
    db = sqlite3.connect(run_dir / "run.db")
    db.row_factory = sqlite3.Row
    try:
        return db.execute("SELECT * FROM programs ORDER BY id").fetchall()
    finally:
        db.close()


def write_logged_task(root: Path, log: Path, sleep: float) -> Path:
    """The quad task with an evaluator that takes ``sleep`` seconds and logs to ``log``."""
    return write_task(
        root,
        # The log lies outside the evaluator's sandbox: grant it explicitly.
        toml=f'[evaluator]\nenv = {{ EVAL_SLEEP = "{sleep}", EVAL_LOG = "{log}" }}\n'
        f'writable_paths = ["{log.parent}"]\n',
    )


@pytest.fixture
def quad_task(tmp_path: Path) -> Path:
    """A tiny task whose optimum is X=0.7, Y=1.5 (score 1.0); the seed scores ~0.5."""
    return write_task(tmp_path / "quad")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never reach a real provider: make sure no key leaks in from the host.
    for key in list(os.environ):
        if key.endswith("_API_KEY"):
            monkeypatch.delenv(key)
    # `cambrian run` defaults to the embedded LLM where one is installed; tests that
    # drive the CLI (and their subprocesses) use the fast built-in operator unless
    # they say otherwise.
    monkeypatch.setenv("CAMBRIAN_MODEL", "none")
    # The memory that outlives runs: never the user's own file during tests.
    memory = tmp_path_factory.mktemp("memory") / "memory.db"
    monkeypatch.setenv("CAMBRIAN_MEMORY", str(memory))
