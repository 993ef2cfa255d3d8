"""What an operator receives and what it returns."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..archive import Program
from ..models import Model, Usage
from ..task import Files, Task


@dataclass
class ProposalContext:
    """Everything an operator may use to propose one candidate.

    Attributes:
        task: The task being evolved.
        parent: The program to change (a failed/incorrect one for ``fix``).
        inspirations: Other programs to learn from (top and diverse).
        rng: This proposal's own random stream (seeded from run seed + sample index).
        model: The model, or None when the run has none.
        settings: The run's :class:`~cambrian.ProposeConfig`.
        is_duplicate: Why an artifact is not new (already in the run, or too close to
            a program of the parent's island), or None when it is.
        advice: Lessons retrieved from memory, rendered for the prompt ("" for none).
        preamble: The system prompt's opening (an evolved variant), or None for the
            built-in one.
    """

    task: Task
    parent: Program
    inspirations: list[Program]
    rng: random.Random
    model: Model | None
    settings: object
    is_duplicate: Callable[[Files], str | None]
    advice: str = ""
    preamble: str | None = None


@dataclass
class Proposal:
    """An operator's outcome: a candidate, or the model-caused reason there is none.

    When ``failure`` is set, ``files`` are the parent's and the proposal is recorded
    as a failed program (it counts as a sample and its tokens are charged).
    """

    files: Files
    operator: str
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    edit_format: str | None = None
    fuzz: tuple[str, ...] = ()
    change: str = ""
    reply: str | None = None
    failure: str | None = None
    error: str = ""
    reflections: int = 0


Operator = Callable[[ProposalContext], Awaitable[Proposal]]
