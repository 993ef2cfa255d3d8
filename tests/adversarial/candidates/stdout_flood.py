"""Attack: write gigabytes to stdout and stderr (never stops), to exhaust the evaluator's
or the orchestrator's memory through captured output.

Expected: failure "timeout"; the captured output that reaches the evaluator and the
orchestrator stays capped at a few KiB.
"""

import os


def solve(inputs):
    chunk = b"SCORE: 1.0 " * 100_000  # ~1 MiB
    while True:
        os.write(1, chunk)
        os.write(2, chunk)
