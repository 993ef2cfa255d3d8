"""Does memory make the next run better? Samples-to-best with memory on vs off.

Four runs of one task, one proposal and one evaluation in flight (so each run is a
reproducible sequence given its seed and its prompts):

* ``first``: seed A, memory on, starting from an empty memory file;
* ``second+memory``: seed B, memory on, with what ``first`` left in that file;
* ``second+lessons``: seed B, a copy of the same memory with ``recall = 0``: the
  lessons, skills and prompt variants without the recalled programs;
* ``second-memory``: seed B, memory off (the control).

The second runs differ only in memory. For each run the table gives the best score,
the sample at which it was first reached, and the sample at which the first run's
best was first matched ("-" when never). Sample 0 is everything evaluated before the
first proposal (the seed, and programs recalled from memory). Everything is read back
from the run databases, so the numbers can be re-derived from them.

Run: ``.venv/bin/python bench/memory_transfer.py TASK_DIR --model SPEC --samples N``
(e.g. ``examples/circle_packing --model local/qwen2.5-coder-1.5b --samples 15``).
Results go to ``--out`` (default ``runs/memory-transfer-<time>``): the run
directories, the memory files and ``result.json``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from cambrian import evolve
from cambrian.store import RunStore


def _first_sample_reaching(run_dir: Path, score: float) -> int | None:
    with RunStore(run_dir, lock=False) as store:
        return store.first_sample_reaching(score)


def _run(
    name: str,
    task: Path,
    out: Path,
    model: str,
    seed: int,
    samples: int,
    memory: dict[str, Any],
    propose: dict[str, Any],
) -> dict[str, Any]:
    started = time.monotonic()
    summary = evolve(
        task,
        model=None if model == "none" else model,  # none: the model-free operator
        run_dir=out / name,
        config={
            "seed": seed,
            "budget": {"max_samples": samples},
            "concurrency": {"proposals": 1, "evaluations": 1},
            "propose": propose,
            "memory": memory,
        },
    )
    assert summary.best_score is not None, f"{name}: nothing scored"
    row = {
        "run": name,
        "seed": seed,
        "memory": memory.get("enabled", True),
        "seed_score": summary.seed_score,
        "best_score": summary.best_score,
        "samples": summary.samples,
        "sample_of_best": _first_sample_reaching(out / name, summary.best_score),
        "wall_s": round(time.monotonic() - started, 1),
        "learned": summary.learned,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 1), metavar=("A", "B"))
    parser.add_argument("--max-tokens", type=int, default=900, help="per proposal")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path("runs") / time.strftime("memory-transfer-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=False)
    memory_file = out / "memory.db"
    on: dict[str, Any] = {"enabled": True, "path": str(memory_file.resolve())}
    propose = {"max_tokens": args.max_tokens}
    a, b = args.seeds
    runs = [
        ("first", a, on),
        ("second+memory", b, on),
        ("second+lessons", b, {**on, "path": str((out / "lessons.db").resolve()), "recall": 0}),
        ("second-memory", b, {"enabled": False}),
    ]
    rows = []
    for name, seed, memory in runs:
        rows.append(_run(name, args.task, out, args.model, seed, args.samples, memory, propose))
        if name == "first":
            # The lessons-only run starts from the memory exactly as the first run left it.
            with sqlite3.connect(memory_file) as src, sqlite3.connect(out / "lessons.db") as dst:
                src.backup(dst)
    target = rows[0]["best_score"]
    for row in rows:
        row["sample_reaching_first_best"] = _first_sample_reaching(out / row["run"], target)
    (out / "result.json").write_text(json.dumps(rows, indent=2))
    print(f"\n{args.task} with {args.model}, {args.samples} samples per run ({out})")
    print(f"{'run':<16} {'seed':>4} {'best':>10} {'at sample':>9} {'reaches first best':>19}")
    for row in rows:
        reach = row["sample_reaching_first_best"]
        print(
            f"{row['run']:<16} {row['seed']:>4} {row['best_score']:>10.6g}"
            f" {row['sample_of_best']:>9} {'-' if reach is None else reach:>19}"
        )


if __name__ == "__main__":
    main()
