"""Run OpenEvolve and ShinkaEvolve task directories unchanged.

Their evaluators import helpers from their own frameworks: ShinkaEvolve's
``from shinka.core import run_shinka_eval`` and OpenEvolve's
``from openevolve.evaluation_result import EvaluationResult``. :data:`SHIMS_DIR`
holds small stand-ins for exactly those names, written for Cambrian. The evaluation
worker appends it to ``sys.path`` *after* every other entry, so a really installed
``shinka`` or ``openevolve`` package still wins.

Isolation caveat: ``run_shinka_eval`` imports and runs the candidate program inside
the evaluator's interpreter, as ShinkaEvolve itself does. That is weaker than
Cambrian's own tasks, whose evaluators run the candidate in a separate process; the
whole evaluator process is still sandboxed, so the candidate cannot reach the
orchestrator, but it can tamper with its evaluator. The shims exist only so that
such task directories run as they are; write new tasks in Cambrian's format.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHIMS_DIR"]

SHIMS_DIR: Path = Path(__file__).resolve().parent / "_shims"
"""Directory to append to ``sys.path`` (or PYTHONPATH) of an evaluator process."""
