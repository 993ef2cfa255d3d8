"""How candidates are evaluated: limits, cascade, evaluator environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cambrian.sandbox import Limits


class EvaluatorConfig(BaseModel):
    """Settings for running a task's evaluator on a candidate."""

    model_config = ConfigDict(extra="forbid")

    limits: Limits = Field(default_factory=Limits)
    """Hard limits for the evaluator's process tree (the candidate runs inside it)."""

    cascade: bool | None = None
    """Use ``evaluate_stage1/2/3``: None means whenever the evaluator defines them."""

    cascade_thresholds: list[float] = Field(default_factory=list)
    """Stage k+1 runs only if stage k's ``combined_score`` >= threshold k; a stage
    without a threshold always lets the next one run (OpenEvolve semantics)."""

    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for the evaluator. Nothing else of the
    orchestrator's environment (API keys included) reaches it."""

    readonly_paths: list[Path] = Field(default_factory=list)
    """Extra host paths the evaluator may read under bubblewrap (the task dir, the
    Python installation and Cambrian are always readable; nothing else is)."""

    writable_paths: list[Path] = Field(default_factory=list)
    """Extra host paths the evaluator (and a candidate sharing its sandbox) may write
    under bubblewrap, e.g. a log dir; the evaluation's work dir always is. Under root
    they are handed to the sandbox uid."""
