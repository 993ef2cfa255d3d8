"""Per-evaluation launch overhead of Cambrian's evaluation path.

Compares, side by side in one run, the median wall time of:

* ``bare python``: ``python -c pass`` through ``run_process`` (the floor);
* ``evaluate_program``: a full evaluation of a trivial candidate with an evaluator
  that returns a constant (compile check, work dir, worker, strict result parsing).

Run: ``.venv/bin/python bench/eval_overhead.py [N]`` (default N = 40).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cambrian.evaluate import EvaluatorConfig, describe_isolation, evaluate_program
from cambrian.sandbox import Limits, run_process
from cambrian.task import Task

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"


async def main(n: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="cambrian-bench-"))
    (root / "evaluate.py").write_text(EVALUATOR)
    task = Task(
        name="bench",
        root=root,
        format="cambrian",
        seed={"program.py": PROGRAM},
        entry="program.py",
        evaluator=root / "evaluate.py",
        protocol="evaluate",
    )
    config = EvaluatorConfig(limits=Limits(timeout_s=30))
    bare: list[float] = []
    full: list[float] = []
    for i in range(n):  # interleaved so machine noise hits both alike
        t = time.perf_counter()
        await run_process([sys.executable, "-c", "pass"], cwd=root, env={}, limits=config.limits)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = await evaluate_program(
            task, {"program.py": PROGRAM}, work_dir=root / "work" / str(i), config=config
        )
        full.append(time.perf_counter() - t)
        assert result.ok, result.error
    b, f = statistics.median(bare) * 1000, statistics.median(full) * 1000
    print(f"isolation: {describe_isolation()}")
    print(f"n = {n}")
    print(f"bare python      median {b:7.1f} ms")
    print(
        f"evaluate_program median {f:7.1f} ms   (overhead over bare: {f - b:5.1f} ms, ratio {f / b:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 40))
