"""Memory end to end with scripted models: distil, retrieve, credit, archive, evolve prompts.

The "student" model below follows advice: without it, it walks X and Y towards the
optimum in small steps; when a retrieved insight tells it where the optimum is, it
goes straight there. So a second run that starts with the first run's memory must
reach the best score in fewer samples, and a run with memory off must not.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cambrian import Completion, FunctionModel, Message, RunSummary, Usage, evolve
from cambrian._exceptions import ModelResponseError
from cambrian.memory import MemoryStore, Record
from cambrian.models import ReplayModel

LESSON = "Set X to 0.7 and Y to 1.5, which is where the error vanishes."
WARNING = "Jumping X far past 1.0 ruins the score."
BAD_TIP = "Set X to 5 because large constants score higher."
NEW_PREAMBLE = "You are a patient optimiser: move one constant at a time towards the optimum."


def _memory_path() -> Path:
    return Path(os.environ["CAMBRIAN_MEMORY"])


def _ids(prompt: str) -> list[str]:
    return re.findall(r"## Program (\d+)", prompt)


class Student:
    """Answers every prompt the engine and the learner send, and keeps what it saw.

    Without a lesson it walks: proposal k sets X = 0.3 + 0.05 k and Y = 2 - 0.0625 k,
    reaching the optimum (X 0.7, Y 1.5, score 1) at k = 8.
    """

    def __init__(self, *, follow_bad_tip: bool = False) -> None:
        self.proposal_prompts: list[list[Message]] = []
        self.analyzer_prompts: list[str] = []
        self.mutation_prompts: list[str] = []
        self.follow_bad_tip = follow_bad_tip

    def __call__(self, messages: list[Message]) -> Completion:
        prompt = messages[-1].content
        usage = Usage(100, 20, 0.001)
        if "RAISED the score" in prompt:
            self.analyzer_prompts.append(prompt)
            cites = ", ".join(_ids(prompt))
            text = f"GUIDING: {LESSON} [{cites}]\nRECOMMENDATIONS:\n- go to the optimum"
            return Completion(text, model="student", usage=usage)
        if "FAILED or LOWERED" in prompt:
            self.analyzer_prompts.append(prompt)
            cites = ", ".join(_ids(prompt))
            return Completion(f"CAUTIONARY: {WARNING} [{cites}]", model="student", usage=usage)
        if "standing instructions" in prompt:
            self.mutation_prompts.append(prompt)
            return Completion(f"```\n{NEW_PREAMBLE}\n```", model="student", usage=usage)
        self.proposal_prompts.append(messages)
        prompt = "\n".join(m.content for m in messages[1:])
        if self.follow_bad_tip and BAD_TIP in prompt:
            x, y = 5.0 + 0.1 * len(self.proposal_prompts), 2.0
        elif LESSON in prompt:
            x, y = 0.7, 1.5
        else:  # walk towards the optimum, one step per proposal
            step = len(self.proposal_prompts)
            x, y = 0.3 + 0.05 * step, 2.0 - 0.0625 * step
        code = f"```python\nX = {x:.4f}\nY = {max(y, 1.5):.4f}\n```"
        return Completion(code, model="student", usage=usage)


CONFIG: dict[str, Any] = {
    "budget": {"max_samples": 12, "target_score": 0.999},
    "concurrency": {"proposals": 1, "evaluations": 1},
    "propose": {"operators": {"rewrite": 1.0}},
    # Lessons alone: recalling run one's best program would end run two before its
    # first proposal (test_memory_recall.py covers that).
    "memory": {"distill_every": 2, "evolve_prompts": False, "recall": 0},
}


def _run(
    task: Path, run_dir: Path, student: Student, memory: dict[str, object] | None = None
) -> RunSummary:
    config = {**CONFIG, "memory": {**CONFIG["memory"], **(memory or {})}}
    return evolve(
        task, model=FunctionModel(student, name="student"), run_dir=run_dir, config=config
    )


def _programs(run_dir: Path) -> list[tuple[str, float | None]]:
    db = sqlite3.connect(run_dir / "run.db")
    rows = db.execute("SELECT code_hash, score FROM programs ORDER BY id").fetchall()
    db.close()
    return [(r[0], r[1]) for r in rows]


def _samples_to_best(run_dir: Path) -> int:
    db = sqlite3.connect(run_dir / "run.db")
    row = db.execute(
        "SELECT sample FROM programs WHERE status = 'done' AND correct = 1"
        " ORDER BY score DESC, sample LIMIT 1"
    ).fetchone()
    db.close()
    return int(row[0]) + 1


def test_a_second_run_starts_from_the_first_runs_lessons(quad_task: Path, tmp_path: Path) -> None:
    first = Student()
    one = _run(quad_task, tmp_path / "one", first)
    assert one.best_score == pytest.approx(1.0)
    assert one.learned["distillations"] >= 1 and one.learned["created"] >= 1
    with MemoryStore(_memory_path()) as memory:
        lessons = [r for r in memory.list(kind="insight") if r.text.startswith("Set X to 0.7")]
        assert len(lessons) == 1, "the same lesson twice must merge, not duplicate"
        lesson = lessons[0]
        assert lesson.polarity == "guiding" and "quad" in lesson.tags
        assert lesson.supporting and all(ref.startswith("run-") for ref in lesson.supporting)
    # The run database keeps its own copy of what the run wrote, and what each prompt saw.
    db = sqlite3.connect(tmp_path / "one" / "run.db")
    assert db.execute("SELECT COUNT(*) FROM memory_records WHERE kind = 'insight'").fetchone()[0]
    assert db.execute("SELECT COUNT(*) FROM memory_seen WHERE settled = 1").fetchone()[0] >= 1
    db.close()

    second = Student()
    two = _run(quad_task, tmp_path / "two", second)
    # The very first proposal of the second run already carries the lesson.
    assert LESSON in second.proposal_prompts[0][-1].content
    assert _samples_to_best(tmp_path / "two") == 1 < _samples_to_best(tmp_path / "one")
    assert two.best_score == pytest.approx(1.0)
    with MemoryStore(_memory_path()) as memory:
        lesson = memory.get(lesson.id)
        assert lesson.trials >= 1 and lesson.successes >= 1  # credited by the second run
        before = [(r.id, r.trials, r.updated_at) for r in memory.list()]

    # Replaying the second run puts the same advice back into the same prompts (strict
    # replay would stop at the first difference) and teaches the memory nothing twice.
    replay = evolve(
        quad_task,
        model=ReplayModel(tmp_path / "two"),
        run_dir=tmp_path / "replay",
        config=CONFIG,
    )
    assert replay.stop_reason == two.stop_reason and replay.best_score == two.best_score
    assert _programs(tmp_path / "replay") == _programs(tmp_path / "two")
    with MemoryStore(_memory_path()) as memory:
        assert [(r.id, r.trials, r.updated_at) for r in memory.list()] == before


def test_memory_off_means_no_lessons_and_no_head_start(quad_task: Path, tmp_path: Path) -> None:
    _run(quad_task, tmp_path / "one", Student())
    student = Student()
    _run(quad_task, tmp_path / "off", student, {"enabled": False})
    assert not any(LESSON in m[-1].content for m in student.proposal_prompts)
    assert not student.analyzer_prompts
    assert _samples_to_best(tmp_path / "off") > 1  # it walks; it does not jump


def test_advice_that_keeps_failing_is_archived_and_no_longer_shown(
    quad_task: Path, tmp_path: Path
) -> None:
    with MemoryStore(_memory_path()) as memory:
        bad, _ = memory.add(
            Record(kind="insight", text=BAD_TIP, polarity="guiding", tags=("quad",))
        )
    student = Student(follow_bad_tip=True)
    _run(
        quad_task,
        tmp_path / "run",
        student,
        {"min_trials": 2, "archive_below": 0.3, "distill_every": 100},
    )
    with MemoryStore(_memory_path()) as memory:
        record = memory.get(bad.id)
        history = [h["event"] for h in memory.history(bad.id)]
    assert record.status == "archived" and record.successes == 0 and record.trials >= 2
    assert "archived" in history
    # Shown until two failures are in (the proposer may be one proposal ahead of the
    # evaluator), never after.
    shown = [BAD_TIP in m[-1].content for m in student.proposal_prompts]
    assert shown[:2] == [True, True] and sum(shown) <= 3 and not any(shown[3:])
    assert len(shown) > 4


def test_uncited_or_invented_evidence_is_not_written(quad_task: Path, tmp_path: Path) -> None:
    def model(messages: list[Message]) -> Completion:
        prompt = messages[-1].content
        if "RAISED the score" in prompt or "FAILED or LOWERED" in prompt:
            cites = ", ".join(_ids(prompt))
            return Completion(
                "GUIDING: Nothing supports this sentence at all.\n"
                "CAUTIONARY: This one cites a program that does not exist. [9999]\n"
                "SKILL: lucky-guess | worked once\nX = 0.7\nEND SKILL [2]\n"
                # The prompt's own examples, copied with real citations: not lessons.
                f"GUIDING: Spread the centres evenly over the square before fitting the radii. [{cites}]\n"
                f"CAUTIONARY: Deleting a helper that the entry point calls makes every run crash. [{cites}]",
                model="m",
            )
        x = 0.3 + 0.01 * len(re.findall("Score", prompt))
        return Completion(f"```python\nX = {x:.3f}\nY = 2.0\n```", model="m")

    summary = evolve(
        quad_task,
        model=FunctionModel(model),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 4},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
            "memory": {"distill_every": 2, "evolve_prompts": False},
        },
    )
    with MemoryStore(_memory_path()) as memory:
        assert memory.list(kind="insight") == [] and memory.list(kind="skill") == []
    assert summary.learned["rejected"] >= 4 and summary.learned["created"] == 0


def test_prompt_variants_are_evolved_selected_and_credited(quad_task: Path, tmp_path: Path) -> None:
    student = Student()
    summary = evolve(
        quad_task,
        model=FunctionModel(student, name="student"),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 10},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
            "memory": {"retrieve": 0, "distill_every": 100, "mutate_prompt_every": 3},
        },
    )
    assert summary.learned["prompt_mutations"] >= 1 and student.mutation_prompts
    systems = [m[0].content for m in student.proposal_prompts]
    assert any(s.startswith(NEW_PREAMBLE) for s in systems)
    # The fixed rules survive any variant.
    assert all("Only code between EVOLVE-BLOCK-START" in s for s in systems)
    with MemoryStore(_memory_path()) as memory:
        variants = memory.list(kind="prompt")
    (default,) = [v for v in variants if v.name == "default"]
    evolved = [v for v in variants if v.text == NEW_PREAMBLE]
    assert default.trials >= 1
    # The student always answers the same text: the second mutation is not a new variant.
    assert len(evolved) == 1 and evolved[0].metadata["parents"] == [default.id]
    assert summary.learned["rejected"] >= 1
    # Every evaluated child credited exactly one variant (duplicates are not evaluated).
    db = sqlite3.connect(tmp_path / "run" / "run.db")
    credited = db.execute(
        "SELECT COUNT(*) FROM programs WHERE sample IS NOT NULL"
        " AND COALESCE(failure, '') != 'duplicate'"
    ).fetchone()[0]
    db.close()
    assert credited >= 5 and sum(v.trials for v in variants) == credited


def test_memory_calls_are_charged_to_the_run(quad_task: Path, tmp_path: Path) -> None:
    summary = _run(quad_task, tmp_path / "run", Student())
    db = sqlite3.connect(tmp_path / "run" / "run.db")
    spent = db.execute("SELECT COUNT(*), SUM(cost) FROM spend WHERE purpose = 'distill'").fetchone()
    proposals = db.execute("SELECT SUM(cost) FROM programs").fetchone()[0]
    db.close()
    assert spent[0] >= 1
    assert summary.cost == pytest.approx(proposals + spent[1])


def test_analyzer_failures_never_stop_the_run(quad_task: Path, tmp_path: Path) -> None:
    calls = {"analyzer": 0, "proposals": 0}

    def model(messages: list[Message]) -> Completion:
        prompt = messages[-1].content
        if "RAISED the score" in prompt or "FAILED or LOWERED" in prompt:
            calls["analyzer"] += 1
            raise ModelResponseError("the analyzer answered with nothing usable")
        calls["proposals"] += 1
        x = 0.3 + 0.01 * calls["proposals"]
        return Completion(f"```python\nX = {x:.3f}\nY = 2.0\n```", model="m")

    summary = evolve(
        quad_task,
        model=FunctionModel(model),
        run_dir=tmp_path / "run",
        config={**CONFIG, "budget": {"max_samples": 6}},
    )
    assert calls["analyzer"] >= 1 and summary.samples == 6
    assert summary.learned["distillations"] >= 1 and summary.learned["created"] == 0


def test_a_procedure_that_worked_twice_becomes_a_skill_the_next_run_sees(
    quad_task: Path, tmp_path: Path
) -> None:
    skill = "SKILL: step-x-up | when X is below its optimum\nRaise X by 0.05 each time.\nEND SKILL"
    seen: list[str] = []

    def model(messages: list[Message]) -> Completion:
        prompt = messages[-1].content
        if "RAISED the score" in prompt:
            return Completion(f"{skill} [{', '.join(_ids(prompt))}]", model="m")
        if "FAILED or LOWERED" in prompt:
            return Completion("RECOMMENDATIONS:\n- none", model="m")
        seen.append(prompt)
        x = 0.3 + 0.05 * len(seen)
        return Completion(f"```python\nX = {x:.4f}\nY = 2.0\n```", model="m")

    one = _run_with(quad_task, tmp_path / "one", model, samples=4)
    assert one.learned["created"] >= 1
    with MemoryStore(_memory_path()) as memory:
        (record,) = memory.list(kind="skill")
    assert record.name == "step-x-up" and len(record.supporting) >= 2
    assert record.text == "Raise X by 0.05 each time."
    seen.clear()
    _run_with(quad_task, tmp_path / "two", model, samples=1)
    assert "## Skill step-x-up: when X is below its optimum" in seen[0]


def _run_with(task: Path, run_dir: Path, model: Any, *, samples: int) -> RunSummary:
    return evolve(
        task,
        model=FunctionModel(model),
        run_dir=run_dir,
        config={
            **CONFIG,
            "budget": {"max_samples": samples},
            "memory": {**CONFIG["memory"], "distill_every": 2},
        },
    )
