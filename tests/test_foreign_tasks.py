"""OpenEvolve- and ShinkaEvolve-layout task directories evolve unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import FIXTURES

from cambrian import evolve


@pytest.mark.parametrize(
    ("fixture", "seed_score"),
    [("openevolve_circle", 0.9311), ("shinka_circle", 1.6727), ("openevolve_result_object", 0.2)],
)
def test_foreign_task_runs_unchanged(tmp_path: Path, fixture: str, seed_score: float) -> None:
    summary = evolve(
        FIXTURES / fixture, run_dir=tmp_path / "run", config={"budget": {"max_samples": 4}}
    )
    assert summary.seed_score == pytest.approx(seed_score, abs=1e-3)
    assert summary.samples == 4 and summary.evaluated == 5
    assert summary.best_score is not None and summary.best_score >= summary.seed_score
    db = sqlite3.connect(tmp_path / "run" / "run.db")
    statuses = {r[0] for r in db.execute("SELECT status FROM programs")}
    db.close()
    assert statuses <= {"done", "failed"}
