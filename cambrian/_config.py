"""Run configuration: typed, documented, loadable from ``cambrian.toml``.

Precedence, lowest first: defaults → the task directory's settings → explicit
overrides (CLI flags or Python keyword arguments). Field names are the same in all
three places (``budget.max_samples`` ⇔ ``--max-samples`` ⇔ ``[budget] max_samples``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._exceptions import ConfigError
from .archive import ArchiveConfig
from .evaluate import EvaluatorConfig
from .sandbox import Limits


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Budget(_Strict):
    """When the run stops. Any limit reached stops it; ``None`` means no limit."""

    max_samples: int | None = Field(100, ge=0)
    """Proposals to make (the seed is not counted)."""
    max_wall_time_s: float | None = Field(None, gt=0)
    """Wall-clock seconds, summed over every session of the run (resumes included)."""
    target_score: float | None = None
    """Stop as soon as a correct program reaches this ``combined_score``."""
    max_cost: float | None = Field(None, ge=0)
    """Dollars spent on model calls."""
    max_tokens: int | None = Field(None, ge=0)
    """Model tokens (prompt + completion) spent on model calls, memory included."""


class Concurrency(_Strict):
    """How much work is in flight at once."""

    proposals: int = Field(2, ge=1)
    """Concurrent proposals (model calls)."""
    evaluations: int = Field(2, ge=1)
    """Concurrent evaluations (sandboxed processes)."""


class ProposeConfig(_Strict):
    """How candidates are proposed."""

    operators: dict[str, float] | None = None
    """Operator name → weight. Default: ``numeric_mutation`` without a model;
    ``diff`` 0.6, ``rewrite`` 0.3, ``fix`` 0.1 with one."""
    temperature: float | None = None
    """Sampling temperature passed to the model."""
    max_tokens: int | None = None
    """Completion token cap passed to the model."""
    reflections: int = Field(1, ge=0)
    """Times a reply whose edit does not apply is sent back with the error."""
    duplicate_retries: int = Field(3, ge=0)
    """Times a proposal identical to an existing program is resampled."""
    novelty_threshold: float | None = Field(0.99, gt=0, le=1)
    """Model proposals whose normalised token 3-grams are at least this similar
    (Jaccard) to a program of the parent's island are rejected before evaluation and
    asked again; None keeps only the exact-duplicate check."""
    record: bool = True
    """Store every prompt and reply (compressed) in the run database, for replay."""
    context_tokens: int | None = Field(None, ge=256)
    """Prompt budget in tokens; default: the model's context window minus max_tokens.
    Inspirations are dropped, then feedback cut, before a proposal is given up."""
    mutation_max_literals: int = Field(3, ge=1)
    """numeric_mutation: most literals changed at once."""
    mutation_scale: tuple[float, float] = (0.001, 0.3)
    """numeric_mutation: relative step sizes are drawn log-uniformly from this range."""


class EnsembleConfig(_Strict):
    """How a run with several models (or a temperature list) picks one per proposal."""

    strategy: Literal["ucb", "thompson", "fixed"] = "ucb"
    """Cost-aware UCB1, Thompson sampling, or fixed weights; rewarded by the
    improvement of each child over its parent."""
    weights: list[float] | None = None
    """Per-model weights for ``fixed``."""
    temperatures: list[float] | None = None
    """Each call draws its temperature from this list."""
    cost_weight: float = Field(1.0, ge=0)
    """How strongly cost divides a model's score (0: ignore cost)."""
    exploration: float = Field(1.0, ge=0)
    """UCB exploration constant."""


class MemoryConfig(_Strict):
    """What the run learns and keeps for the next runs (programs, insights, skills, prompts).

    Every run keeps its best program for the next runs of its task and starts from
    theirs (``recall``). Lessons, skills and prompt variants need a model: runs with
    only model-free operators neither read nor write them.
    """

    enabled: bool = True
    """Recall programs, retrieve, distil and evolve prompts; False runs without any memory."""
    path: str | None = None
    """The memory file shared by runs; default ``$CAMBRIAN_MEMORY``, else
    ``$XDG_DATA_HOME/cambrian/memory.db`` (``~/.local/share/cambrian/memory.db``)."""
    tags: list[str] = Field(default_factory=list)
    """Scope tags of this task (the task's name is always one); runs that share a tag
    share their insights."""
    recall: int = Field(2, ge=0, le=20)
    """Best programs of earlier runs of this task (same name) that a new run evaluates
    again, in its own sandbox, before its first proposal, and so starts from. Only their
    EVOLVE-BLOCK bodies travel, into the current seed; 0 starts from the seed alone."""
    retrieve: int = Field(3, ge=0, le=20)
    """Insights and skills shown per proposal (keep it small)."""
    embeddings: str | None = None
    """An embeddings model spec (``openai/text-embedding-3-small``,
    ``openai-compatible/NAME@http://host:port/v1``; needs the ``openai`` extra): the
    lexical candidates are then re-ranked by BM25 and cosine similarity together.
    None: lexical (BM25) retrieval only."""
    distill_every: int = Field(10, ge=1)
    """Evaluations between two analyzer calls."""
    archive_below: float = Field(0.3, ge=0, le=1)
    """A record whose smoothed success rate falls below this is archived…"""
    min_trials: int = Field(5, ge=1)
    """…once it has been shown this many times."""
    evolve_prompts: bool = True
    """Select the proposer's system prompt among variants by bandit and mutate it."""
    mutate_prompt_every: int = Field(20, ge=1)
    """Proposals between two prompt mutations."""
    prompt_variants: int = Field(4, ge=1)
    """Most active prompt variants per task; the weakest tried ones are archived."""


class RunConfig(_Strict):
    """Everything that shapes one run."""

    seed: int = 0
    """Random seed: selection and local operators are deterministic given it."""
    model: str | list[str] | None = None
    """Model spec(s) to propose with; several form an ensemble. ``None`` uses the
    built-in numeric mutation operator."""
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    budget: Budget = Field(default_factory=Budget)
    concurrency: Concurrency = Field(default_factory=Concurrency)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    evaluator: EvaluatorConfig = Field(default_factory=EvaluatorConfig)
    propose: ProposeConfig = Field(default_factory=ProposeConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    max_attempts: int = Field(3, ge=1)
    """An evaluation interrupted by orchestrator deaths this many times is marked poison."""


def merge_settings(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = value
    return out


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    # Let task files write `[evaluator] timeout_s = 10` instead of `[evaluator.limits]`.
    ev = data.get("evaluator")
    if isinstance(ev, dict):
        limits = {k: ev[k] for k in list(ev) if k in Limits.model_fields}
        if limits:
            ev = {k: v for k, v in ev.items() if k not in limits}
            ev["limits"] = {**ev.get("limits", {}), **limits}
            data = {**data, "evaluator": ev}
    return data


def build_config(*layers: dict[str, Any]) -> RunConfig:
    """Merge nested dicts (later wins) into a validated :class:`RunConfig`.

    Raises:
        ConfigError: A value is invalid; the message names the field.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = merge_settings(merged, _normalise(layer))
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid run configuration: {problems}") from None
