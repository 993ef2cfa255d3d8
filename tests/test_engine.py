"""The engine's loop, budgets, lineage and model-driven proposals, on real processes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import program_rows, write_logged_task, write_task

from cambrian import Completion, FunctionModel, Message, ScriptedModel, Usage, evolve
from cambrian._api import resume
from cambrian._exceptions import ModelError, RunStoreError

rows = program_rows


def diff_reply(old: str, new: str) -> str:
    return (
        "Moving X towards the optimum should lower the error.\n\n"
        "program.py\n```python\n<<<<<<< SEARCH\n"
        f"{old}\n=======\n{new}\n>>>>>>> REPLACE\n```\n"
    )


def test_numeric_mutation_improves_the_seed(quad_task: Path, tmp_path: Path) -> None:
    summary = evolve(quad_task, run_dir=tmp_path / "run", config={"budget": {"max_samples": 40}})
    assert summary.samples == 40
    assert summary.seed_score is not None and summary.best_score is not None
    assert summary.best_score > summary.seed_score
    table = rows(tmp_path / "run")
    assert len(table) == 41
    assert {r["status"] for r in table} <= {"done", "failed"}
    # Every child records its lineage; only literals inside the block changed.
    for r in table[1:]:
        assert r["parent_id"] is not None and r["operator"] == "numeric_mutation"
        assert r["generation"] >= 1
        code = json.loads(r["files"])["program.py"]
        seed = json.loads(table[0]["files"])["program.py"]
        assert code.split("# EVOLVE-BLOCK-END")[1] == seed.split("# EVOLVE-BLOCK-END")[1]


def test_same_seed_same_run_when_sequential(quad_task: Path, tmp_path: Path) -> None:
    # Memory off: with it, run b would start from run a's best program.
    config = {
        "budget": {"max_samples": 15},
        "concurrency": {"proposals": 1, "evaluations": 1},
        "memory": {"enabled": False},
    }
    evolve(quad_task, run_dir=tmp_path / "a", config={**config, "seed": 7})
    evolve(quad_task, run_dir=tmp_path / "b", config={**config, "seed": 7})
    evolve(quad_task, run_dir=tmp_path / "c", config={**config, "seed": 8})
    a, b, c = (
        [(r["code_hash"], r["parent_id"], r["score"]) for r in rows(tmp_path / d)] for d in "abc"
    )
    assert a == b
    assert a != c


def test_scripted_model_diff_is_applied_with_lineage(quad_task: Path, tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            diff_reply("X = 0.3", "X = 0.7"),
            Completion(
                diff_reply("Y = 2.0", "Y = 1.5"), model="scripted", usage=Usage(100, 20, 0.01)
            ),
        ],
        name="scripted-test",
    )
    summary = evolve(
        quad_task,
        model=model,
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 2},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"diff": 1.0}},
        },
    )
    table = rows(tmp_path / "run")
    assert [r["operator"] for r in table] == ["seed", "diff", "diff"]
    assert table[1]["model"] == "scripted-test" and table[1]["edit_format"] == "diff"
    assert json.loads(table[1]["fuzz"]) == ["exact"]
    assert "X = 0.7" in json.loads(table[1]["files"])["program.py"]
    # The second proposal did not wait for the first one's evaluation (the loop is
    # concurrent), so both children descend from the seed.
    assert [r["parent_id"] for r in table] == [None, 1, 1]
    assert table[2]["prompt_tokens"] == 100 and table[2]["cost"] == pytest.approx(0.01)
    assert summary.best_score == pytest.approx(1 / 1.16)
    assert summary.cost == pytest.approx(0.01)
    # The prompt carried the parent's code, score and evaluator feedback.
    first_user = model.calls[0][-1].content
    assert "X = 0.3" in first_user and "error" in first_user and "SEARCH" in first_user


def test_unapplicable_reply_is_reflected_then_recorded(quad_task: Path, tmp_path: Path) -> None:
    model = ScriptedModel(
        [
            diff_reply("X = 0.333", "X = 0.7"),  # hallucinated SEARCH
            diff_reply("X = 0.3", "X = 0.7"),  # fixed after seeing the error
            "I think the program is already optimal.",  # no edit at all
            "Still no edit.",
        ]
    )
    evolve(
        quad_task,
        model=model,
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 2},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"diff": 1.0}, "reflections": 1},
        },
    )
    reflection = model.calls[1][-1].content
    assert "could not be applied" in reflection and "X = 0.3" in reflection
    table = rows(tmp_path / "run")
    assert table[1]["status"] == "done" and "X = 0.7" in table[1]["files"]
    assert table[2]["status"] == "failed" and table[2]["failure"] == "parse_error"
    assert table[2]["reply"] == "Still no edit."
    # A proposal failure never reached an evaluator.
    assert table[2]["eval_time"] is None


def test_edit_outside_evolve_block_is_rejected(quad_task: Path, tmp_path: Path) -> None:
    bad = diff_reply("def solve():\n    return [X, Y]", "def solve():\n    return [0.7, 1.5]")
    model = ScriptedModel([bad], cycle=True)
    evolve(
        quad_task,
        model=model,
        run_dir=tmp_path / "run",
        config={"budget": {"max_samples": 1}, "propose": {"operators": {"diff": 1.0}}},
    )
    child = rows(tmp_path / "run")[1]
    assert child["status"] == "failed" and child["failure"] == "scope_violation"


def test_target_score_stops_early(quad_task: Path, tmp_path: Path) -> None:
    counter = {"n": 0}

    def closer(messages: list[Message]) -> str:
        # Each call moves X 0.1 closer to the optimum: the 4th proposal is perfect;
        # later ones wander off slightly (distinct programs, never duplicates).
        counter["n"] += 1
        n = counter["n"]
        x = 0.3 + 0.1 * n if n <= 4 else 0.7 + 0.001 * n
        return f"Closer.\n```python\nX = {x:.3f}\nY = 1.5\n```\n"

    summary = evolve(
        quad_task,
        model=FunctionModel(closer),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 50, "target_score": 0.999},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
        },
    )
    assert summary.stop_reason.startswith("target_score")
    assert summary.best_score == pytest.approx(1.0)
    assert summary.samples <= 8


def test_max_cost_stops_new_proposals(quad_task: Path, tmp_path: Path) -> None:
    counter = {"n": 0}

    def reply(messages: list[Message]) -> Completion:
        counter["n"] += 1
        value = 0.3 + counter["n"] / 100
        text = f"```python\nX = {value:.2f}\nY = 2.0\n```"
        return Completion(text, model="priced", usage=Usage(10, 10, 0.25))

    summary = evolve(
        quad_task,
        model=FunctionModel(reply),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 50, "max_cost": 1.0},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
        },
    )
    assert summary.stop_reason == "max_cost reached"
    assert summary.samples == 4 and summary.cost == pytest.approx(1.0)
    # In-flight work finished: nothing is left queued.
    assert {r["status"] for r in rows(tmp_path / "run")} == {"done"}


def test_max_tokens_stops_new_proposals_and_holds_across_resume(
    quad_task: Path, tmp_path: Path
) -> None:
    counter = {"n": 0}

    def reply(messages: list[Message]) -> Completion:
        counter["n"] += 1
        text = f"```python\nX = {0.3 + counter['n'] / 100:.2f}\nY = 2.0\n```"
        return Completion(text, model="metered", usage=Usage(60, 40, 0.0))

    config = {
        "budget": {"max_samples": 50, "max_tokens": 250},
        "concurrency": {"proposals": 1, "evaluations": 1},
        "propose": {"operators": {"rewrite": 1.0}},
    }
    run = tmp_path / "run"
    summary = evolve(quad_task, model=FunctionModel(reply), run_dir=run, config=config)
    assert summary.stop_reason == "max_tokens reached"
    # 3 calls reach 300 ≥ 250 tokens; the fourth is never made.
    assert summary.samples == 3 and counter["n"] == 3
    assert {r["status"] for r in rows(run)} == {"done"}
    # The cap is for the whole run: a resume under the same cap makes no new call.
    again = resume(run, model=FunctionModel(reply), config=config)
    assert again.stop_reason == "max_tokens reached"
    assert counter["n"] == 3 and again.samples == 3


def test_max_wall_time_stops_and_requeues(tmp_path: Path) -> None:
    task = write_task(tmp_path / "slow", toml='[evaluator]\nenv = { EVAL_SLEEP = "0.4" }\n')
    summary = evolve(
        task,
        run_dir=tmp_path / "run",
        config={"budget": {"max_samples": 1000, "max_wall_time_s": 1.5}},
    )
    assert summary.stop_reason == "max_wall_time reached"
    assert summary.samples < 1000
    statuses = {r["status"] for r in rows(tmp_path / "run")}
    assert "running" not in statuses


def test_model_and_evaluator_overlap(tmp_path: Path) -> None:
    log = tmp_path / "evals.jsonl"
    task = write_logged_task(tmp_path / "t", log, 0.5)
    calls: list[tuple[float, float]] = []
    counter = {"n": 0}

    async def slow(messages: list[Message]) -> str:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(0.5)
        counter["n"] += 1
        calls.append((start, loop.time()))
        return diff_reply("X = 0.3", f"X = {0.3 + counter['n'] / 1000:.3f}")

    evolve(
        task,
        model=FunctionModel(slow),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 6},
            "concurrency": {"proposals": 2, "evaluations": 2},
            "propose": {"operators": {"diff": 1.0}},
        },
    )
    evals = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(evals) == 7

    # Convert the loop clock to wall clock via the first overlap-free reference:
    # both lists are compared as intervals, so only relative order matters.
    def overlaps(a: list[tuple[float, float]]) -> bool:
        a = sorted(a)
        return any(a[i + 1][0] < a[i][1] for i in range(len(a) - 1))

    assert overlaps(calls), "two model calls should have been in flight at once"
    assert overlaps([(e["start"], e["end"]) for e in evals]), "evaluations should overlap"


def test_seed_that_fails_stops_with_a_clear_reason(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "broken",
        program="# EVOLVE-BLOCK-START\nX = 0.3\nY = 2.0\n# EVOLVE-BLOCK-END\n\ndef solve():\n    raise RuntimeError('boom')\n",
    )
    summary = evolve(task, run_dir=tmp_path / "run", config={"budget": {"max_samples": 10}})
    assert "seed" in summary.stop_reason and "boom" in summary.stop_reason
    assert summary.samples == 0


def test_resume_continues_to_the_new_budget(quad_task: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = evolve(quad_task, run_dir=run, config={"budget": {"max_samples": 5}})
    before = {r["id"]: (r["score"], r["finish_seq"]) for r in rows(run)}
    second = resume(run, config={"budget": {"max_samples": 12}})
    assert first.samples == 5 and second.samples == 12
    after = rows(run)
    assert len(after) == 13
    assert {r["id"]: (r["score"], r["finish_seq"]) for r in after if r["id"] in before} == before
    assert second.best_score is not None and second.best_score >= first.best_score  # type: ignore[operator]


def test_run_dir_of_another_task_is_refused(quad_task: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    evolve(quad_task, run_dir=run, config={"budget": {"max_samples": 1}})
    other = write_task(
        tmp_path / "other",
        program="# EVOLVE-BLOCK-START\nX = 0.5\nY = 1.0\n# EVOLVE-BLOCK-END\n\ndef solve():\n    return [X, Y]\n",
    )
    with pytest.raises(RunStoreError, match="another task"):
        evolve(other, run_dir=run)


def test_model_operator_without_model_is_a_user_error(quad_task: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="needs a model"):
        evolve(quad_task, run_dir=tmp_path / "run", config={"propose": {"operators": {"diff": 1}}})


def test_multi_file_artifact_evolves(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text(
        "import sys\nsys.path.insert(0, __file__.rsplit('/', 1)[0])\n"
        "from pkg.consts import X, Y\n\n\ndef solve():\n    return [X, Y]\n"
    )
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "consts.py").write_text(
        "# EVOLVE-BLOCK-START\nX = 0.3\nY = 2.0\n# EVOLVE-BLOCK-END\n"
    )
    (root / "evaluate.py").write_text(
        "import json, os, subprocess, sys\n\n"
        "def evaluate(program_path):\n"
        "    main = os.path.join(program_path, 'main.py')\n"
        "    code = \"import json, runpy, sys; print(json.dumps(runpy.run_path(sys.argv[1])['solve']()))\"\n"
        "    out = subprocess.run([sys.executable, '-c', code, main], capture_output=True, text=True, timeout=10)\n"
        "    x, y = json.loads(out.stdout)\n"
        "    return {'combined_score': 1 / (1 + (x - 0.7) ** 2 + (y - 1.5) ** 2)}\n"
    )
    (root / "cambrian.toml").write_text('[task]\nseed = "src"\n')
    summary = evolve(root, run_dir=tmp_path / "run", config={"budget": {"max_samples": 20}})
    assert summary.best_score is not None and summary.seed_score is not None
    assert summary.best_score > summary.seed_score
    table = rows(tmp_path / "run")
    best = json.loads(next(r for r in table if r["id"] == summary.best_id)["files"])
    assert sorted(best) == ["main.py", "pkg/__init__.py", "pkg/consts.py"]
    assert best["main.py"] == (root / "src" / "main.py").read_text()  # only marked files change


def test_model_errors_stop_pause_or_fail_the_proposal(quad_task: Path, tmp_path: Path) -> None:
    from cambrian._exceptions import ModelResponseError, ModelUnavailableError
    from cambrian.engine import Event

    calls = {"n": 0}

    def flaky(messages: list[Message]) -> str:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ModelUnavailableError("503 from the provider", retry_after=0.05)
        if calls["n"] == 3:
            raise ModelResponseError("empty choices")
        return f"```python\nX = {0.3 + calls['n'] / 100:.2f}\nY = 2.0\n```"

    events: list[Event] = []
    summary = evolve(
        quad_task,
        model=FunctionModel(flaky),
        run_dir=tmp_path / "flaky",
        on_event=events.append,
        config={
            "budget": {"max_samples": 3},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
        },
    )
    # Outages cost no sample; the empty reply is a recorded, failed proposal.
    assert summary.samples == 3 and summary.failures == {"model_error": 1}
    assert sum(e.kind == "paused" for e in events) == 2

    def no_key(messages: list[Message]) -> str:
        raise ModelError("401 Unauthorized: set OPENAI_API_KEY")

    stopped = evolve(
        quad_task,
        model=FunctionModel(no_key),
        run_dir=tmp_path / "nokey",
        config={"budget": {"max_samples": 5}, "propose": {"operators": {"rewrite": 1.0}}},
    )
    assert stopped.stop_reason.startswith("model error: 401") and stopped.samples == 0
    assert stopped.best_score is not None  # the seed was still evaluated; resumable later


RUN_CANDIDATE_EVALUATOR = """\
from cambrian import run_candidate


def evaluate(program_path):
    result = run_candidate(program_path, "solve", timeout=1.0)
    if not result.ok:
        return {"combined_score": 0.0, "correct": False, "feedback": result.error,
                "failure": result.failure}
    x, y = result.value
    return {"combined_score": 1.0 / (1.0 + (x - 0.7) ** 2 + (y - 1.5) ** 2)}
"""


def test_candidate_failure_kind_reported_by_the_evaluator_is_recorded(tmp_path: Path) -> None:
    task = write_task(tmp_path / "t", evaluator=RUN_CANDIDATE_EVALUATOR)
    replies = [
        "```python\nX = 0.5\nY = 1.5\n```",
        "```python\nX = 0.3\nY = 2.0\nwhile True:\n    pass\n```",
    ]
    evolve(
        task,
        model=ScriptedModel(replies),
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 2},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}},
        },
    )
    table = rows(tmp_path / "run")
    assert (table[1]["status"], table[1]["failure"]) == ("done", None)
    assert (table[2]["status"], table[2]["failure"]) == ("failed", "timeout")
    assert "did not return within 1 s" in table[2]["error"]
