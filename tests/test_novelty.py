"""Near-duplicate candidates are rejected before they cost an evaluation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cambrian import ScriptedModel, evolve
from cambrian.propose import NoveltyFilter, normalized_tokens

CODE = "# EVOLVE-BLOCK-START\ndef f(x):\n    # double it\n    return 2 * x\n# EVOLVE-BLOCK-END\n"


def test_comments_and_layout_do_not_make_a_program_new() -> None:
    reformatted = (
        "# EVOLVE-BLOCK-START\ndef f( x ):\n\n    return 2*x   # twice\n# EVOLVE-BLOCK-END\n"
    )
    changed = CODE.replace("2 * x", "3 * x")
    assert normalized_tokens({"p.py": reformatted}) == normalized_tokens({"p.py": CODE})
    assert normalized_tokens({"p.py": changed}) != normalized_tokens({"p.py": CODE})
    novelty = NoveltyFilter(threshold=0.99)
    novelty.remember(1, {"p.py": CODE})
    assert "program 1 again" in (novelty.judge({"p.py": reformatted}, [1]) or "")
    assert novelty.judge({"p.py": changed}, [1]) is None  # a real (if small) change
    assert novelty.judge({"p.py": reformatted}, [2]) is None  # only the given programs


def test_near_duplicates_by_similarity() -> None:
    body = "\n".join(f"    total += {i} * x" for i in range(200))
    base = f"def g(x):\n    total = 0\n{body}\n    return total\n"
    tweak = base.replace("    total += 7 * x", "    total += 7 * x + 0")
    novelty = NoveltyFilter(threshold=0.99)
    novelty.remember(5, {"g.py": base})
    assert "the same as program 5" in (novelty.judge({"g.py": tweak}, [5]) or "")
    assert NoveltyFilter(threshold=1.0).judge({"g.py": tweak}, []) is None


def test_engine_asks_again_instead_of_evaluating_a_reformatted_copy(
    quad_task: Path, tmp_path: Path
) -> None:
    same = "```python\n# tidier\nX = 0.3   # start\nY = 2.0\n```"
    model = ScriptedModel([same, same, "```python\nX = 0.6\nY = 1.6\n```"])
    summary = evolve(
        quad_task,
        model=model,
        run_dir=tmp_path / "run",
        config={
            "budget": {"max_samples": 1},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": {"operators": {"rewrite": 1.0}, "reflections": 2},
        },
    )
    assert len(model.calls) == 3
    assert "again, up to comments and formatting" in model.calls[1][-1].content
    db = sqlite3.connect(tmp_path / "run" / "run.db")
    rows = db.execute("SELECT status, files FROM programs ORDER BY id").fetchall()
    db.close()
    # Only the seed and the real change were evaluated.
    assert len(rows) == 2 and rows[1][0] == "done" and "X = 0.6" in rows[1][1]
    assert summary.best_score is not None and summary.best_score > summary.seed_score  # type: ignore[operator]
