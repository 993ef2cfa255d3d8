"""``kill -9`` of the orchestrator at any moment loses nothing and duplicates nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_logged_task, write_task

pytestmark = pytest.mark.slow

MAX_SAMPLES = 14


def _cambrian(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "cambrian", *map(str, args)]


def _finished(run_dir: Path) -> dict[int, tuple]:
    db_path = run_dir / "run.db"
    if not db_path.exists():
        return {}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute(
            "SELECT id, status, score, finish_seq, files, sample FROM programs"
            " WHERE status IN ('done', 'failed')"
        ).fetchall()
    except sqlite3.OperationalError:  # schema not created yet
        return {}
    finally:
        db.close()
    # The evaluator logs the sha256 of the program text it evaluated.
    return {
        r[0]: (*r[1:4], hashlib.sha256(json.loads(r[4])["program.py"].encode()).hexdigest(), r[5])
        for r in rows
    }


def _wait_for(run_dir: Path, n: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(_finished(run_dir)) < n:
        assert proc.poll() is None, "the run ended before the kill point"
        assert time.monotonic() < deadline, f"never reached {n} finished programs"
        time.sleep(0.02)


@pytest.mark.parametrize("kill_after", [0, 1, 4, 9])
def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path: Path, kill_after: int) -> None:
    log = tmp_path / "evaluations.jsonl"
    task = write_logged_task(tmp_path / "task", log, 0.25)
    run_dir = tmp_path / "run"
    args = ["run", task, "--run-dir", run_dir, "--max-samples", MAX_SAMPLES, "--seed", 3]
    proc = subprocess.Popen(_cambrian(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after == 0:
        time.sleep(0.6)  # mid-start: the seed may or may not be recorded yet
    else:
        _wait_for(run_dir, kill_after, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _finished(run_dir)

    # Killed before anything finished, the run may not even be recorded yet: running
    # the same command again picks up whatever is there (a run dir of the same task
    # resumes), which is what a user would do.
    again = _cambrian("resume", run_dir) if before else _cambrian(*args)
    resumed = subprocess.run(again, capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    after = _finished(run_dir)

    # Nothing finished before the kill changed or vanished.
    assert {pid: after[pid] for pid in before} == before
    # The run completed its budget exactly once per sample, nothing left in flight.
    samples = sorted(v[4] for v in after.values() if v[4] is not None)
    assert len(samples) == MAX_SAMPLES and len(set(samples)) == MAX_SAMPLES
    db = sqlite3.connect(run_dir / "run.db")
    assert db.execute(
        "SELECT COUNT(*) FROM programs WHERE status IN ('queued','running')"
    ).fetchone() == (0,)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    # A finished evaluation is never run again: each program that was done before
    # the kill was evaluated exactly once.
    evaluated = [json.loads(line)["hash"] for line in log.read_text().splitlines()]
    for pid, (status, _score, _seq, digest, _sample) in before.items():
        if status == "done":
            assert evaluated.count(digest) == 1, f"program {pid} was evaluated again"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_gracefully_and_resumes(tmp_path: Path, sig: signal.Signals) -> None:
    task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.3" }\n')
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        _cambrian("run", task, "--run-dir", run_dir, "--max-samples", 30),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_for(run_dir, 3, proc)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"interrupted by {sig.name}" in out
    db = sqlite3.connect(run_dir / "run.db")
    assert db.execute("SELECT COUNT(*) FROM programs WHERE status = 'running'").fetchone() == (0,)
    db.close()

    status = subprocess.run(_cambrian("status", run_dir, "--json"), capture_output=True, text=True)
    info = json.loads(status.stdout)
    assert info["live"] is False and 0 < info["samples"] < 30

    resumed = subprocess.run(
        _cambrian("resume", run_dir), capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    info = json.loads(
        subprocess.run(
            _cambrian("status", run_dir, "--json"), capture_output=True, text=True
        ).stdout
    )
    assert info["samples"] == 30
    assert set(info["by_status"]) <= {"done", "failed"}


def test_a_second_orchestrator_is_refused_while_one_runs(tmp_path: Path) -> None:
    task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.3" }\n')
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        _cambrian("run", task, "--run-dir", run_dir, "--max-samples", 20),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(run_dir, 1, proc)
        second = subprocess.run(_cambrian("resume", run_dir), capture_output=True, text=True)
        assert second.returncode == 2
        assert "another cambrian process" in second.stdout + second.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
