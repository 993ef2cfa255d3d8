"""Orchestrator faults: a locked database, a full disk, kills at chosen points, poison.

Each test drives a real `cambrian` process and checks the invariants that matter:
no finished evaluation lost or re-run, every sample recorded once, cost counted once,
and `PRAGMA integrity_check` = ok afterwards.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import write_task

pytestmark = pytest.mark.slow

DRIVER = textwrap.dedent(
    '''
    """Runs an evolution with a priced function model; can SIGKILL itself at a chosen point."""
    import asyncio, json, os, random, signal, sys
    import cambrian
    from cambrian import Completion, FunctionModel, Usage

    task, run_dir, kill_kind, kill_nth, calls_log = sys.argv[1:6]
    kill_nth = int(kill_nth)
    seen = {"events": 0, "calls": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def on_event(event):
        if event.kind == kill_kind:
            seen["events"] += 1
            if seen["events"] == kill_nth:
                die()

    async def reply(messages):
        seen["calls"] += 1
        if kill_kind == "model_call" and seen["calls"] == kill_nth:
            await asyncio.sleep(0.05)
            die()  # mid-call: the reply never arrives
        await asyncio.sleep(0.05)
        x = random.SystemRandom().uniform(0.0, 1.0)
        with open(calls_log, "a") as fh:
            fh.write("call\\n")
        return Completion(f"```python\\nX = {x!r}\\nY = 2.0\\n```", model="priced",
                          usage=Usage(100, 10, 0.01))

    cambrian.evolve(task, model=FunctionModel(reply), run_dir=run_dir, on_event=on_event,
                    config={"budget": {"max_samples": 10},
                            "propose": {"operators": {"rewrite": 1.0}}})
    '''
)


def _db(run_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{run_dir / 'run.db'}?mode=ro", uri=True, timeout=10)


def _finished(run_dir: Path) -> dict[int, tuple]:
    if not (run_dir / "run.db").exists():
        return {}
    db = _db(run_dir)
    try:
        rows = db.execute(
            "SELECT id, status, score, finish_seq, cost, files FROM programs"
            " WHERE status IN ('done', 'failed')"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()
    return {r[0]: r[1:] for r in rows}


def _check_complete(run_dir: Path, samples: int) -> None:
    db = _db(run_dir)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute(
            "SELECT COUNT(*) FROM programs WHERE status IN ('queued', 'running')"
        ).fetchone() == (0,)
        got = [r[0] for r in db.execute("SELECT sample FROM programs WHERE sample IS NOT NULL")]
        assert len(got) == samples and len(set(got)) == samples
    finally:
        db.close()


@pytest.mark.parametrize(
    ("kill_kind", "nth"),
    [("model_call", 3), ("proposed", 2), ("evaluated", 4), ("improved", 2)],
)
def test_kill_at_chosen_points_loses_nothing_and_counts_cost_once(
    tmp_path: Path, kill_kind: str, nth: int
) -> None:
    task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.1" }\n')
    driver = tmp_path / "drive.py"
    driver.write_text(DRIVER)
    run_dir, calls = tmp_path / "run", tmp_path / "calls.log"
    killed = subprocess.run(
        [sys.executable, driver, task, run_dir, kill_kind, str(nth), calls],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    before = _finished(run_dir)

    resumed = subprocess.run(
        [sys.executable, driver, task, run_dir, "never", "0", calls],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    after = _finished(run_dir)
    assert {pid: after[pid] for pid in before} == before  # nothing finished was redone
    _check_complete(run_dir, samples=10)

    db = _db(run_dir)
    cost, tokens = db.execute("SELECT SUM(cost), SUM(prompt_tokens) FROM programs").fetchone()
    db.close()
    completed_calls = len(calls.read_text().splitlines())
    # Each recorded proposal carries exactly the usage of its own calls: cost and
    # tokens agree, and no call is charged twice (calls lost to the kill are not charged).
    assert cost == pytest.approx(0.01 * tokens / 100)
    assert 10 * 0.01 - 1e-9 <= cost <= 0.01 * completed_calls + 1e-9


def _start_run(task: Path, run_dir: Path, samples: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cambrian",
            "run",
            task,
            "--run-dir",
            run_dir,
            "--max-samples",
            str(samples),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_finished(run_dir: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(_finished(run_dir)) < n:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)


def test_locked_database_pauses_then_recovers(tmp_path: Path) -> None:
    task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.1" }\n')
    run_dir = tmp_path / "run"
    proc = _start_run(task, run_dir, samples=20)
    _wait_finished(run_dir, 3, proc)
    blocker = sqlite3.connect(run_dir / "run.db", timeout=10, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    time.sleep(5)
    assert proc.poll() is None, "the run must wait, not die"
    during = len(_finished(run_dir))
    blocker.execute("ROLLBACK")
    blocker.close()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "paused:" in out and "database is locked" in out
    assert during < 21
    _check_complete(run_dir, samples=20)


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True)
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


def test_full_disk_pauses_then_recovers(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "4m"):
        pytest.skip("needs root and tmpfs mounts to make a really full disk")
    try:
        task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.1" }\n')
        run_dir = mnt / "run"
        proc = _start_run(task, run_dir, samples=25)
        _wait_finished(run_dir, 3, proc)
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError, match="No space left"):
            while True:
                os.write(fd, b"\0" * 65536)
        os.close(fd)
        time.sleep(4)
        assert proc.poll() is None, "the run must wait for space, not die"
        before = _finished(run_dir)
        filler.unlink()
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        assert "paused:" in out
        after = _finished(run_dir)
        assert {pid: after[pid] for pid in before} == before
        _check_complete(run_dir, samples=25)
        # The full disk was nobody's fault: no candidate may be marked failed for it.
        assert {v[0] for v in after.values()} == {"done"}
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _seed_attempts(run_dir: Path) -> tuple[str, int] | None:
    if not (run_dir / "run.db").exists():
        return None
    db = _db(run_dir)
    try:
        return db.execute("SELECT status, attempts FROM programs WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()


def test_candidate_that_keeps_killing_the_orchestrator_is_poisoned(tmp_path: Path) -> None:
    # The orchestrator dies three times while the same evaluation is running (here the
    # test kills it; in the wild, a candidate that takes the host down with it).
    task = write_task(tmp_path / "task", toml='[evaluator]\nenv = { EVAL_SLEEP = "30" }\n')
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "cambrian",
        "run",
        task,
        "--run-dir",
        run_dir,
        "--max-samples",
        "0",
        "--evaluations",
        "1",
    ]
    for attempt in range(1, 4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        # Wait until *this* orchestrator has started the evaluation (the row left by the
        # previous one still reads `running` until recovery requeues it).
        while _seed_attempts(run_dir) != ("running", attempt):
            assert time.monotonic() < deadline, _seed_attempts(run_dir)
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stdout + final.stderr
    db = _db(run_dir)
    row = db.execute("SELECT status, failure, attempts FROM programs WHERE id = 1").fetchone()
    db.close()
    assert row == ("failed", "poison", 3)
    assert "failures: poison 1" in final.stdout
