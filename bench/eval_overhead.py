"""Per-evaluation launch overhead of Cambrian's evaluation path, per sandbox backend.

Compares, side by side in one run (interleaved, so machine noise hits all alike), the
median wall time of:

* ``bare process``: ``python -c pass`` with plain ``subprocess.run`` (the floor);
* ``process backend``: the same through ``run_process`` (process group + rlimits);
* ``bwrap backend``: the same through ``run_process`` under bubblewrap (cold: a fresh
  sandbox, uid drop, staging and cgroups every time);
* ``evaluate_program [backend]``: a full evaluation of a trivial candidate with an
  evaluator that returns a constant, per backend;
* ``run_candidate [backend]``: one ``run_candidate`` call of a trivial entry point.

Run: ``.venv/bin/python bench/eval_overhead.py [N]`` (default N = 30). No pre-warmed
fork-server exists yet, so only cold numbers are reported.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cambrian.evaluate import EvaluatorConfig, evaluate_program
from cambrian.sandbox import Limits, describe_isolation, run_candidate, run_process
from cambrian.sandbox._bwrap import probe
from cambrian.task import Task

EVALUATOR = "def evaluate(program_path):\n    return {'combined_score': 1.0}\n"
PROGRAM = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\ndef main():\n    return X\n"


async def main(n: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="cambrian-bench-"))
    # A task dir must be readable by the sandbox uid, as a normal checkout is.
    root.chmod(0o755)
    (root / "evaluate.py").write_text(EVALUATOR)
    (root / "program.py").write_text(PROGRAM)
    task = Task(
        name="bench",
        root=root,
        format="cambrian",
        seed={"program.py": PROGRAM},
        entry="program.py",
        evaluator=root / "evaluate.py",
        protocol="evaluate",
    )
    backends = ["process"] + (["bwrap"] if probe()[0] is not None else [])
    counter = iter(range(10**9))
    pass_argv = [sys.executable, "-c", "pass"]

    async def bare() -> None:
        subprocess.run(pass_argv, check=True)

    def raw(backend: str) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            work = root / "raw" / str(next(counter))
            work.mkdir(parents=True)
            limits = Limits(timeout_s=30, backend=backend)  # type: ignore[arg-type]
            result = await run_process(pass_argv, cwd=work, env={}, limits=limits)
            assert result.returncode == 0, result.stderr

        return go

    def full(backend: str) -> Callable[[], Awaitable[None]]:
        config = EvaluatorConfig(limits=Limits(timeout_s=30, backend=backend))  # type: ignore[arg-type]

        async def go() -> None:
            work = root / "work" / str(next(counter))
            result = await evaluate_program(
                task, {"program.py": PROGRAM}, work_dir=work, config=config
            )
            assert result.ok, result.error

        return go

    def cand(backend: str) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            os.environ["CAMBRIAN_CANDIDATE_SANDBOX"] = json.dumps({"backend": backend})
            result = await asyncio.to_thread(run_candidate, root / "program.py", timeout=30)
            assert result.ok, result.error

        return go

    cases: dict[str, Callable[[], Awaitable[None]]] = {"bare process": bare}
    for b in backends:
        cases[f"{b} backend (cold)"] = raw(b)
    for b in backends:
        cases[f"evaluate_program [{b}]"] = full(b)
    for b in backends:
        cases[f"run_candidate [{b}]"] = cand(b)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(n):
        for name, fn in cases.items():
            t = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - t)
    floor = statistics.median(times["bare process"]) * 1000
    print(f"isolation: {describe_isolation()}")
    print(f"n = {n}")
    for name, values in times.items():
        med = statistics.median(values) * 1000
        print(f"{name:28s} median {med:7.1f} ms   (over bare: {med - floor:6.1f} ms)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
