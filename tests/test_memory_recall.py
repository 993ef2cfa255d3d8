"""Recall: a run's best program starts the next run of its task, verified again first."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import QUAD_PROGRAM, program_rows, write_logged_task, write_task

from cambrian import evolve
from cambrian.memory import MemoryStore
from cambrian.memory._recall import KEEP_PER_TASK, blocks_of, recall, remember, transplant
from cambrian.models import ReplayModel

SEQUENTIAL: dict[str, Any] = {"concurrency": {"proposals": 1, "evaluations": 1}}


def _config(samples: int, **memory: Any) -> dict[str, Any]:
    return {**SEQUENTIAL, "budget": {"max_samples": samples}, "memory": memory}


def _memory() -> MemoryStore:
    return MemoryStore(Path(os.environ["CAMBRIAN_MEMORY"]))


_rows = program_rows


def _block(files_json: str) -> str:
    text = json.loads(files_json)["program.py"]
    return text.split("# EVOLVE-BLOCK-START\n")[1].split("# EVOLVE-BLOCK-END")[0]


# -- blocks ----------------------------------------------------------------------------


def test_block_bodies_go_back_into_a_seed_whose_outside_code_changed() -> None:
    evolved = {"program.py": QUAD_PROGRAM.replace("X = 0.3", "X = 0.69")}
    blocks = blocks_of(evolved)
    assert blocks == {"program.py": ["X = 0.69\nY = 2.0"]}
    new_seed = {"program.py": QUAD_PROGRAM.replace("return [X, Y]", "return [float(X), Y]")}
    out = transplant(new_seed, blocks)
    assert out is not None
    assert "X = 0.69" in out["program.py"] and "float(X)" in out["program.py"]
    assert transplant(evolved, blocks_of(new_seed)) == {"program.py": QUAD_PROGRAM}


def test_transplant_refuses_blocks_that_do_not_fit() -> None:
    seed = {"program.py": QUAD_PROGRAM}
    assert transplant(seed, {"other.py": ["X = 1"]}) is None
    assert transplant(seed, {"program.py": ["X = 1", "Y = 2"]}) is None  # one block, not two
    two = {"a.py": QUAD_PROGRAM, "b.py": QUAD_PROGRAM}
    assert transplant(two, {"a.py": ["X = 1"]}) is None  # b.py's block is missing


def test_blocks_that_lack_a_name_the_new_seed_calls_are_not_recalled(tmp_path: Path) -> None:
    with MemoryStore(tmp_path / "m.db") as memory:
        from cambrian.archive import Program

        evolved = Program(1, {"program.py": QUAD_PROGRAM.replace("X = 0.3", "X = 0.69")}, 0.9, True)
        remember(
            memory, task_name="quad", tags=(), program=evolved, seed_score=0.5, ref="r:1", origin={}
        )
        assert len(recall(memory, "quad", {"program.py": QUAD_PROGRAM}, 2)) == 1
        # The new seed's code outside the block also calls Z, which the old block lacks.
        calls_z = QUAD_PROGRAM.replace("Y = 2.0\n", "Y = 2.0\nZ = 1\n").replace(
            "[X, Y]", "[X, Y, Z]"
        )
        assert recall(memory, "quad", {"program.py": calls_z}, 2) == []


def test_crlf_files_keep_their_line_endings() -> None:
    crlf = QUAD_PROGRAM.replace("\n", "\r\n")
    blocks = blocks_of({"p.py": crlf.replace("X = 0.3", "X = 0.5")})
    assert blocks == {"p.py": ["X = 0.5\r\nY = 2.0"]}
    out = transplant({"p.py": crlf}, blocks)
    assert out == {"p.py": crlf.replace("X = 0.3", "X = 0.5")}


# -- across runs -------------------------------------------------------------------------


def test_the_next_run_starts_from_the_last_runs_best(quad_task: Path, tmp_path: Path) -> None:
    one = evolve(quad_task, run_dir=tmp_path / "one", config=_config(40))
    assert one.best_score is not None and one.seed_score is not None
    assert one.best_score > one.seed_score and one.learned["programs_kept"] == 1
    best_one = next(r for r in _rows(tmp_path / "one") if r["id"] == one.best_id)
    with _memory() as memory:
        (kept,) = memory.list(kind="program")
    assert kept.name == "quad" and kept.metadata["score"] == one.best_score
    assert kept.supporting == (f"{kept.metadata['origin']['run']}:{one.best_id}",)
    assert kept.metadata["blocks"] == {"program.py": [_block(best_one["files"]).rstrip("\n")]}

    two = evolve(quad_task, run_dir=tmp_path / "two", config=_config(5))
    table = _rows(tmp_path / "two")
    seed, recalled = table[0], table[1]
    assert seed["operator"] == "seed" and recalled["operator"] == "recall"
    assert recalled["parent_id"] is None and recalled["sample"] is None
    assert _block(recalled["files"]) == _block(best_one["files"])
    # Verified again in this run before anything used it: evaluated before the first
    # proposal, scored by this run's evaluator.
    assert recalled["score"] == pytest.approx(one.best_score)
    first_proposal = next(r for r in table if r["sample"] == 0)
    assert recalled["finished_at"] <= first_proposal["created_at"]
    assert two.best_score is not None and two.best_score >= one.best_score
    assert two.learned["programs_recalled"] == 1
    assert two.samples == 5  # a recalled program is not a proposal
    with _memory() as memory:
        kept = memory.get(kept.id)
    assert kept.trials == 1 and kept.successes == 1  # it verified again


def test_memory_off_and_recall_zero_start_from_the_seed(quad_task: Path, tmp_path: Path) -> None:
    evolve(quad_task, run_dir=tmp_path / "one", config=_config(30))
    for name, memory in (("off", {"enabled": False}), ("zero", {"recall": 0})):
        evolve(quad_task, run_dir=tmp_path / name, config=_config(3, **memory))
        assert [r["operator"] for r in _rows(tmp_path / name)][:2] == ["seed", "numeric_mutation"]


def test_a_run_that_never_beats_its_seed_keeps_nothing(tmp_path: Path) -> None:
    flat = write_task(
        tmp_path / "flat",
        evaluator="def evaluate(program_path):\n    return {'combined_score': 1.0}\n",
    )
    summary = evolve(flat, run_dir=tmp_path / "run", config=_config(5))
    assert summary.learned["programs_kept"] == 0
    with _memory() as memory:
        assert memory.list(kind="program") == []


def test_a_tampered_memory_cannot_inflate_a_score(quad_task: Path, tmp_path: Path) -> None:
    """Memory is not trusted: a recalled program is only as good as this run measures."""
    evolve(quad_task, run_dir=tmp_path / "one", config=_config(30))
    with _memory() as memory:
        (kept,) = memory.list(kind="program")
        # A claimed perfect score, and a block that crashes the entry point.
        forged = {"program.py": ["X = 0.7\nY = 1.5\nraise SystemExit(0)"]}
        memory.update(replace(kept, metadata={**kept.metadata, "score": 1e9, "blocks": forged}))
    for name in ("two", "three"):
        run = evolve(quad_task, run_dir=tmp_path / name, config=_config(2, min_trials=2))
        recalled = _rows(tmp_path / name)[1]
        assert recalled["operator"] == "recall" and not recalled["correct"]
        assert run.best_score is not None and run.best_score < 1.0
    with _memory() as memory:
        record = memory.get(kept.id)
    # It failed to verify twice: failed trials, archived (min_trials=2), not recalled again.
    assert record.trials == 2 and record.successes == 0 and record.status == "archived"
    evolve(quad_task, run_dir=tmp_path / "four", config=_config(2))
    db = sqlite3.connect(tmp_path / "four" / "run.db")
    seen = {r[0] for r in db.execute("SELECT record_id FROM memory_seen")}
    db.close()
    assert kept.id not in seen


def test_the_same_best_twice_is_one_record_with_more_evidence(
    quad_task: Path, tmp_path: Path
) -> None:
    evolve(quad_task, run_dir=tmp_path / "one", config=_config(30))
    # No proposals: the second run's best is the recalled program itself.
    evolve(quad_task, run_dir=tmp_path / "two", config=_config(0))
    with _memory() as memory:
        (kept,) = memory.list(kind="program")
    assert len(kept.supporting) == 2 and kept.supporting[1].endswith(":2")


def test_only_the_best_few_programs_stay_active(quad_task: Path, tmp_path: Path) -> None:
    for i in range(KEEP_PER_TASK + 2):
        # Each run starts from the seed alone, with another random seed.
        evolve(quad_task, run_dir=tmp_path / str(i), config={**_config(8, recall=0), "seed": i})
    with _memory() as memory:
        programs = memory.list(kind="program")
    active = [p for p in programs if p.status == "active"]
    archived = [p for p in programs if p.status == "archived"]
    assert len(active) == KEEP_PER_TASK and len(programs) == len({p.text for p in programs})
    assert min(p.metadata["score"] for p in active) >= max(
        (p.metadata["score"] for p in archived), default=0.0
    )


def test_a_replay_starts_from_the_recorded_recall_and_writes_nothing(
    quad_task: Path, tmp_path: Path
) -> None:
    from cambrian import Completion, FunctionModel, Message

    def model(messages: list[Message]) -> Completion:
        text = messages[-1].content
        x = 0.3 + 0.01 * text.count("Score")
        return Completion(f"```python\nX = {x:.4f}\nY = 1.9\n```", model="m")

    config = {**_config(3), "propose": {"operators": {"rewrite": 1.0}}}
    evolve(quad_task, model=FunctionModel(model), run_dir=tmp_path / "one", config=config)
    evolve(quad_task, model=FunctionModel(model), run_dir=tmp_path / "two", config=config)
    with _memory() as memory:
        for record in memory.list(kind="program"):  # a replay must not recall from memory
            memory.set_status(record.id, "archived", "test")
        before = [(r.id, r.trials, r.updated_at, r.status) for r in memory.list()]
    evolve(quad_task, model=ReplayModel(tmp_path / "two"), run_dir=tmp_path / "r", config=config)
    recorded = [(r["code_hash"], r["operator"], r["score"]) for r in _rows(tmp_path / "two")]
    replayed = [(r["code_hash"], r["operator"], r["score"]) for r in _rows(tmp_path / "r")]
    assert replayed == recorded and recorded[1][1] == "recall"
    with _memory() as memory:
        assert [(r.id, r.trials, r.updated_at, r.status) for r in memory.list()] == before


@pytest.mark.slow
def test_kill_during_the_recalled_evaluation_recalls_once(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "evaluations.jsonl"
    task = write_logged_task(tmp_path / "quad", log, 1.0)
    fast = {"evaluator": {"env": {"EVAL_SLEEP": "0"}}}
    evolve(task, run_dir=tmp_path / "one", config={**_config(20), **fast})
    with _memory() as memory:
        (kept,) = memory.list(kind="program")
    log.unlink(missing_ok=True)
    run_dir = tmp_path / "two"
    args = ["run", task, "--run-dir", run_dir, "--max-samples", 2, "--evaluations", 1]
    cmd = [sys.executable, "-m", "cambrian", *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # The seed is evaluated, the recalled program is being evaluated: kill now.
    while not log.exists() or len(log.read_text().splitlines()) < 1:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [(r["operator"], r["status"]) for r in _rows(run_dir)] == [
        ("seed", "done"),
        ("recall", "running"),
    ]
    resumed = subprocess.run(
        [sys.executable, "-m", "cambrian", "resume", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    table = _rows(run_dir)
    assert [r["operator"] for r in table].count("recall") == 1
    assert all(r["status"] == "done" for r in table) and len(table) == 4  # seed, recall, 2
    with _memory() as memory:
        record = memory.get(kept.id)
    assert record.trials == 1 and record.successes == 1  # credited once, after the resume


def test_a_kept_program_travels_by_jsonl_to_another_memory(quad_task: Path, tmp_path: Path) -> None:
    one = evolve(quad_task, run_dir=tmp_path / "one", config=_config(30))
    exported = tmp_path / "memory.jsonl"
    with _memory() as memory, exported.open("w") as fh:
        memory.export_jsonl(fh)
    other = tmp_path / "other.db"
    with MemoryStore(other) as memory, exported.open() as fh:
        assert memory.import_jsonl(fh) == (1, 0)
    evolve(quad_task, run_dir=tmp_path / "two", config=_config(0, path=str(other)))
    recalled = _rows(tmp_path / "two")[1]
    assert recalled["operator"] == "recall" and recalled["score"] == pytest.approx(one.best_score)


def test_an_unusable_default_memory_file_leaves_memory_off_but_a_named_one_is_an_error(
    quad_task: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cambrian import ConfigError, Event

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.delenv("CAMBRIAN_MEMORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # memory.db cannot be created here
    events: list[Event] = []
    summary = evolve(quad_task, run_dir=tmp_path / "one", config=_config(3), on_event=events.append)
    assert summary.samples == 3 and summary.learned == {}
    started = next(e for e in events if e.kind == "started")
    assert started.message.startswith("memory off: cannot open memory database")
    with pytest.raises(ConfigError, match="cannot open memory database"):
        evolve(
            quad_task,
            run_dir=tmp_path / "two",
            config=_config(3, path=str(blocker / "memory.db")),
        )
