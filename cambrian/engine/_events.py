"""Events the engine reports while it runs, and the summary it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EventKind = Literal[
    "started",  # the run (or a resumed session) began
    "proposed",  # a candidate was queued for evaluation
    "proposal_failed",  # a proposal produced no candidate (edit error, duplicate…)
    "evaluated",  # an evaluation finished (done or failed)
    "improved",  # a new best correct program
    "stopping",  # a stop was requested; ``message`` says why
    "paused",  # the database is busy or the disk full; retrying (``message`` says what)
]


@dataclass(frozen=True)
class Event:
    """One thing that happened in a run."""

    kind: EventKind
    program_id: int | None = None
    score: float | None = None
    best_score: float | None = None
    samples: int = 0
    evaluated: int = 0
    message: str = ""


EventHandler = Callable[[Event], None]


@dataclass
class RunSummary:
    """What a finished (or stopped) session of a run reports."""

    run_dir: Path
    stop_reason: str
    best_id: int | None
    best_score: float | None
    seed_score: float | None
    samples: int
    evaluated: int
    failures: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    cost: float = 0.0
    learned: dict[str, int] = field(default_factory=dict)
    """Memory activity this session: distillations, records created/merged/rejected,
    prompt mutations, records archived (empty when memory was off)."""
