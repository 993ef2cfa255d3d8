"""A finished program as the archive sees it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Program:
    """One evaluated program (done or failed) with its lineage.

    ``score`` is the evaluator's ``combined_score`` (higher is better); ``None`` when
    the evaluation failed. ``correct`` is False for failed and for incorrect programs.
    """

    id: int
    files: dict[str, str]
    score: float | None
    correct: bool
    parent_id: int | None = None
    island: int = 0
    generation: int = 0
    operator: str = "seed"
    metrics: dict[str, float] = field(default_factory=dict)
    feedback: str = ""
    failure: str | None = None
    error: str = ""
    inspiration_ids: tuple[int, ...] = ()
    children: int = 0

    @property
    def code(self) -> str:
        """All files joined, in path order (what length features measure)."""
        return "\n".join(self.files[k] for k in sorted(self.files))

    @property
    def code_length(self) -> int:
        return len(self.code)
