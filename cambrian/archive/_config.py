"""Archive configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cambrian.archive._selection import selector_names, selector_params

__all__ = ["ArchiveConfig"]


class ArchiveConfig(BaseModel):
    """How the archive keeps programs and picks parents and inspirations."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    islands: int = Field(default=2, ge=1)
    """Number of islands (sub-populations evolving mostly apart)."""

    migration_interval: int = Field(default=10, ge=0)
    """Migrate after every N added programs (counting all adds); 0 disables migration."""

    migration_count: int = Field(default=1, ge=0)
    """How many top correct programs of each island are copied to the next island in
    the ring at each migration (ones already there are skipped)."""

    population_size: int = Field(default=50, ge=1)
    """Per-island cap on members. Beyond it, incorrect programs are evicted first, then
    the lowest scores; the global best and MAP-Elites cell elites are never evicted."""

    selection: str = "weighted"
    """Parent selection strategy; one of the registered selector names."""

    selection_params: dict[str, float] = Field(default_factory=dict)
    """Keyword parameters for the selection strategy (e.g. ``{"lam": 10}``)."""

    num_top_inspirations: int = Field(default=2, ge=0)
    """Best correct programs of the parent's island shown alongside the parent."""

    num_diverse_inspirations: int = Field(default=1, ge=0)
    """Diverse correct programs shown alongside the parent: elites of other MAP-Elites
    cells when feature dimensions are set, else the programs whose code is farthest from
    the parent's (token-set Jaccard distance)."""

    feature_dimensions: list[str] = Field(default_factory=list)
    """MAP-Elites feature dimensions: ``"code_length"`` or metric names. Empty turns
    MAP-Elites off."""

    feature_bins: int = Field(default=10, ge=1)
    """Bins per feature dimension."""

    fix_pool_size: int = Field(default=5, ge=1)
    """The fix operator draws among this many most recent incorrect programs of an
    island."""

    @field_validator("selection")
    @classmethod
    def _known_selection(cls, value: str) -> str:
        if value not in selector_names():
            raise ValueError(
                f"unknown parent selection {value!r}; valid: {', '.join(selector_names())}"
            )
        return value

    @field_validator("feature_dimensions")
    @classmethod
    def _distinct_dimensions(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value) or any(not d for d in value):
            raise ValueError(f"feature_dimensions must be distinct non-empty names, got {value!r}")
        return value

    @model_validator(mode="after")
    def _known_params(self) -> ArchiveConfig:
        # Runs only once the field validator accepted ``selection``.
        valid = selector_params(self.selection)
        unknown = sorted(set(self.selection_params) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown selection_params {unknown!r} for {self.selection!r}; "
                f"valid: {', '.join(sorted(valid)) or '(none)'}"
            )
        return self
