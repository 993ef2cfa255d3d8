"""The run database: explicit states, single finish, recovery, exclusive lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cambrian._exceptions import RunLockedError, RunStoreError
from cambrian.evaluate import EvalResult
from cambrian.store import NewCandidate, RunStore


def cand(sample: int | None = None, x: str = "1") -> NewCandidate:
    return NewCandidate(
        files={"p.py": f"X = {x}\n"},
        operator="seed" if sample is None else "numeric_mutation",
        parent_id=None,
        island=0,
        generation=0,
        sample=sample,
    )


def test_wal_mode_and_state_machine(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        pid = store.add_candidate(cand())
        assert store.queued_ids() == [pid]
        store.start(pid, lease_s=10)
        with pytest.raises(RunStoreError, match="not queued"):
            store.start(pid, lease_s=10)
        store.finish(pid, EvalResult(ok=True, combined_score=0.5, correct=True, metrics={"a": 1.0}))
        with pytest.raises(RunStoreError, match="already finished"):
            store.finish(pid, EvalResult(ok=True, combined_score=9.0, correct=True))
        row = store.program(pid)
        assert row is not None
        assert (row["status"], row["score"], row["finish_seq"], row["attempts"]) == (
            "done",
            0.5,
            1,
            1,
        )


def test_failed_result_is_never_correct(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        pid = store.add_candidate(cand())
        store.start(pid, lease_s=10)
        store.finish(
            pid, EvalResult(ok=False, combined_score=None, correct=True, failure="timeout")
        )
        row = store.program(pid)
        assert row is not None and row["status"] == "failed" and row["correct"] == 0
        assert store.best_row() is None


def test_recover_requeues_then_poisons(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        pid = store.add_candidate(cand())
        for attempt in range(1, 4):
            store.start(pid, lease_s=10)  # the orchestrator "dies" during each evaluation
            requeued, poisoned = store.recover(max_attempts=3)
            assert (requeued, poisoned) == ((1, 0) if attempt < 3 else (0, 1))
        row = store.program(pid)
        assert row is not None and row["status"] == "failed" and row["failure"] == "poison"


def test_graceful_requeue_does_not_count_as_an_attempt(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        pid = store.add_candidate(cand())
        store.start(pid, lease_s=10)
        store.requeue(pid)
        row = store.program(pid)
        assert row is not None and (row["status"], row["attempts"]) == ("queued", 0)


def test_samples_are_unique(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.add_candidate(cand(0, "1"))
        with pytest.raises(sqlite3.IntegrityError):
            store.add_candidate(cand(0, "2"))
        assert store.samples() == 1 and store.next_sample() == 1


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(RunLockedError):
        RunStore(tmp_path)
    RunStore(tmp_path, lock=False).close()  # readers are fine
    store.close()
    RunStore(tmp_path).close()
