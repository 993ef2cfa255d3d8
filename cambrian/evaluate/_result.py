"""The outcome of evaluating one candidate, as the orchestrator records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

FailureKind = Literal[
    "model_error",  # the model's response was malformed, empty or null
    "parse_error",  # the model reply held no usable edit
    "edit_error",  # an edit did not apply
    "scope_violation",  # an edit touched code outside the EVOLVE-BLOCKs
    "duplicate",  # identical to a program already in the run
    "compile_error",  # candidate source does not compile
    "timeout",  # wall-clock limit hit; the process tree was killed
    "oom",  # memory limit hit
    "crash",  # evaluator or candidate process died / raised
    "invalid_result",  # evaluator output missing, not strict JSON, or malformed
    "evaluator_error",  # the (trusted) evaluator raised
    "poison",  # killed its worker too many times
]
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)


@dataclass
class EvalResult:
    """Validated result of one evaluation.

    ``ok`` is False when the evaluation itself failed (``failure`` says why); a program
    can evaluate fine (``ok``) and still be incorrect (``correct`` False).
    """

    ok: bool
    combined_score: float | None = None
    correct: bool = False
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: str = ""
    artifacts: dict[str, str] = field(default_factory=dict)
    failure: FailureKind | None = None
    error: str = ""
    wall_time: float = 0.0
    stdout: str = ""
    stderr: str = ""
    warnings: list[str] = field(default_factory=list)
