"""Ensembles, recording and replay through whole runs; spend per model in status."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cambrian import Completion, FunctionModel, Message, Usage, evolve
from cambrian._api import resume
from cambrian.cli import main
from cambrian.models import EnsembleModel

CONFIG = {
    "concurrency": {"proposals": 1, "evaluations": 1},
    "propose": {"operators": {"rewrite": 1.0}},
    "seed": 5,
}


def _improver(name: str, cost: float) -> FunctionModel:
    counter = {"n": 0}

    def reply(messages: list[Message]) -> Completion:
        counter["n"] += 1
        x = 0.3 + 0.4 * (1 - 0.5 ** counter["n"])  # creeps towards the optimum 0.7
        text = f"```python\nX = {x!r}\nY = 1.5\n```"
        return Completion(text, model=name, usage=Usage(100, 10, cost))

    return FunctionModel(reply, name=name)


def _stuck(name: str) -> FunctionModel:
    def reply(messages: list[Message]) -> Completion:
        return Completion("I would not change anything.", model=name, usage=Usage(100, 5, 0.001))

    return FunctionModel(reply, name=name)


def _db(run: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{run / 'run.db'}?mode=ro", uri=True)


def test_ensemble_rewards_the_useful_model_and_resumes_its_state(
    quad_task: Path, tmp_path: Path
) -> None:
    def ensemble() -> EnsembleModel:
        return EnsembleModel([_improver("good", 0.001), _stuck("bad")], seed=1)

    run = tmp_path / "run"
    evolve(
        quad_task, model=ensemble(), run_dir=run, config={**CONFIG, "budget": {"max_samples": 8}}
    )
    db = _db(run)
    state = json.loads(
        db.execute("SELECT value FROM meta WHERE key = 'ensemble_state'").fetchone()[0]
    )
    db.close()
    assert state is not None
    # Resume with a fresh ensemble object: it continues from the persisted state.
    resumed_model = ensemble()
    resume(run, model=resumed_model, config={"budget": {"max_samples": 20}})
    after = resumed_model.state()
    members = {name: info for name, info in after["members"].items()}
    pulls = {name: info["pulls"] for name, info in members.items()}
    assert sum(pulls.values()) >= 20  # the first session's pulls were restored, not reset
    assert pulls["good"] > pulls["bad"]


def test_calls_are_recorded_and_replay_reproduces_the_run(quad_task: Path, tmp_path: Path) -> None:
    first = tmp_path / "recorded"
    evolve(
        quad_task,
        model=_improver("m", 0.0),
        run_dir=first,
        config={**CONFIG, "budget": {"max_samples": 5}},
    )
    db = _db(first)
    assert db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 5
    original = db.execute("SELECT code_hash, parent_id, score FROM programs ORDER BY id").fetchall()
    db.close()

    second = tmp_path / "replayed"
    evolve(
        quad_task,
        model=f"replay:{first}",
        run_dir=second,
        config={**CONFIG, "budget": {"max_samples": 5}},
    )
    db = _db(second)
    replayed = db.execute("SELECT code_hash, parent_id, score FROM programs ORDER BY id").fetchall()
    db.close()
    assert replayed == original


def test_status_reports_spend_per_model(
    quad_task: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    evolve(
        quad_task,
        model=_improver("priced", 0.02),
        run_dir=run,
        config={**CONFIG, "budget": {"max_samples": 3}},
    )
    assert main(["status", str(run), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    spend = info["by_model"]["priced"]
    assert spend["proposals"] == 3 and spend["cost"] == pytest.approx(0.06)
    assert spend["improvements"] >= 1
    assert spend["cost_per_improvement"] == pytest.approx(0.06 / spend["improvements"])
    assert info["recorded_calls"] == 3
