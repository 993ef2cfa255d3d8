"""Memory records: what a run learned, kept for the runs after it.

Five kinds share one shape: an *insight* is a one-sentence lesson (guiding or
cautionary), a *skill* a reusable procedure in the agentskills.io format, a *prompt* a
variant of the proposer's system prompt, a *scratchpad* a task's running
recommendations, a *program* a run's best verified program (its EVOLVE-BLOCK bodies),
which the next run of the task evaluates again and starts from. Each carries its scope (tags), its evidence (program references such
as ``"run-3f2a…:17"``) and its track record (successes out of trials).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

from .._exceptions import ConfigError

RecordKind = Literal["insight", "skill", "prompt", "scratchpad", "program"]
RecordStatus = Literal["active", "superseded", "archived"]
Polarity = Literal["guiding", "cautionary"]

RECORD_KINDS: tuple[RecordKind, ...] = get_args(RecordKind)
RECORD_STATUSES: tuple[RecordStatus, ...] = get_args(RecordStatus)
POLARITIES: tuple[Polarity, ...] = get_args(Polarity)

ID_PREFIX: dict[RecordKind, str] = {
    "insight": "ins",
    "skill": "ski",
    "prompt": "pro",
    "scratchpad": "scr",
    "program": "prg",
}
"""How a record id starts, by kind (``"ins-3f2a9c…"``)."""

MAX_EVIDENCE = 20
"""Most program references kept per evidence list (the newest win)."""

MAX_SKILL_NAME = 64
MAX_SKILL_DESCRIPTION = 1024
_SKILL_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def valid_skill_name(name: str) -> bool:
    """The agentskills.io rule: lowercase letters, digits and single inner hyphens, ≤64."""
    return len(name) <= MAX_SKILL_NAME and _SKILL_NAME.fullmatch(name) is not None


def _clean(text: str) -> str:
    # Lone surrogates (which candidates can print) cannot be stored as UTF-8.
    return text.encode("utf-8", "replace").decode("utf-8")


def bounded(refs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Evidence without repeats, oldest first, keeping the newest ``MAX_EVIDENCE``."""
    unique = tuple(dict.fromkeys(str(r) for r in refs))
    return unique[-MAX_EVIDENCE:]


@dataclass
class Record:
    """One memory record.

    Lists given as lists are stored as tuples; tags are lowercased and stripped;
    evidence is de-duplicated and bounded to the newest ``MAX_EVIDENCE`` references.

    Raises:
        ConfigError: A field is invalid (see :meth:`validate`).
    """

    kind: RecordKind
    text: str
    """insight: the statement; skill: the SKILL.md body; prompt: the system-prompt text;
    scratchpad: the recommendations; program: its EVOLVE-BLOCK bodies, readable (the
    exact bodies are ``metadata["blocks"]``)."""
    name: str = ""
    """Skill name (agentskills.io rule), prompt-variant label, or the task's name
    (scratchpad, program)."""
    description: str = ""
    """Skill: when to use it (at most 1024 characters)."""
    polarity: Polarity | None = None
    """Insights only: a lesson to follow (guiding) or a trap to avoid (cautionary)."""
    tags: tuple[str, ...] = ()
    """Scope: task and domain tags, lowercase."""
    supporting: tuple[str, ...] = ()
    """Program references that back the record, oldest first."""
    contradicting: tuple[str, ...] = ()
    """Program references that speak against it, oldest first."""
    successes: int = 0
    trials: int = 0
    status: RecordStatus = "active"
    id: str = ""
    """Assigned by the store (``"ins-…"``, ``"ski-…"``…), stable afterwards."""
    created_at: float = 0.0
    updated_at: float = 0.0
    last_used_at: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    """``version``, ``parents``, ``origin`` (run id, task) and anything else."""

    def __post_init__(self) -> None:
        if isinstance(self.text, str):
            self.text = _clean(self.text).strip()
        if isinstance(self.name, str):
            self.name = _clean(self.name).strip()
        if isinstance(self.description, str):
            self.description = _clean(self.description).strip()
        for name in ("tags", "supporting", "contradicting"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, tuple | list):
                raise ConfigError(f"record {name} must be a list of strings, not {value!r}")
        tags = (str(t).strip().lower() for t in self.tags)
        self.tags = tuple(dict.fromkeys(t for t in tags if t))
        self.supporting = bounded(self.supporting)
        self.contradicting = bounded(self.contradicting)
        self.validate()

    @property
    def utility(self) -> float:
        """Laplace-smoothed success rate ``(successes + 1) / (trials + 2)`` (as in EvolveR)."""
        return (self.successes + 1) / (self.trials + 2)

    def validate(self) -> None:
        """Check every field.

        Raises:
            ConfigError: The kind, status or polarity is unknown; the text is empty; an
                insight has no polarity or another kind has one; a skill's name breaks
                the agentskills.io rule or its description is missing or too long; the
                counts are negative or successes exceed trials; metadata is not a dict.
        """
        if self.kind not in RECORD_KINDS:
            raise ConfigError(f"record kind {self.kind!r} is not one of {list(RECORD_KINDS)}")
        if self.status not in RECORD_STATUSES:
            raise ConfigError(
                f"record status {self.status!r} is not one of {list(RECORD_STATUSES)}"
            )
        if not isinstance(self.text, str) or not self.text:
            raise ConfigError(f"{self.kind} record text {self.text!r} is empty")
        if self.kind == "insight":
            if self.polarity not in POLARITIES:
                raise ConfigError(
                    f"insight polarity {self.polarity!r} is not one of {list(POLARITIES)}"
                )
        elif self.polarity is not None:
            raise ConfigError(
                f"polarity {self.polarity!r} applies to insights only, not to a {self.kind}"
            )
        if self.kind == "skill":
            if not valid_skill_name(self.name):
                raise ConfigError(
                    f"skill name {self.name!r} must be 1-{MAX_SKILL_NAME} lowercase letters,"
                    " digits and single hyphens, not starting or ending with a hyphen"
                )
            if not self.description or len(self.description) > MAX_SKILL_DESCRIPTION:
                raise ConfigError(
                    f"skill {self.name!r} description {self.description[:60]!r} must be 1-"
                    f"{MAX_SKILL_DESCRIPTION} characters (it has {len(self.description)})"
                )
        for count in ("successes", "trials"):
            value = getattr(self, count)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"record {count} {value!r} must be a whole number ≥ 0")
        if self.successes > self.trials:
            raise ConfigError(
                f"record successes {self.successes!r} exceed its trials {self.trials!r}"
            )
        for stamp in (self.created_at, self.updated_at, self.last_used_at):
            if stamp is not None and not (isinstance(stamp, int | float) and math.isfinite(stamp)):
                raise ConfigError(f"record timestamp {stamp!r} is not a finite number")
        if not isinstance(self.metadata, dict):
            raise ConfigError(f"record metadata {self.metadata!r} must be a mapping")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, plus the derived ``utility``."""
        data = asdict(self)
        for name in ("tags", "supporting", "contradicting"):
            data[name] = list(data[name])
        data["utility"] = self.utility
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """The inverse of :meth:`to_dict`; ``utility`` and ``history`` are ignored.

        Raises:
            ConfigError: ``data`` is not a mapping, lacks ``kind`` or ``text``, has
                unknown keys, or holds an invalid value.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"a memory record must be a JSON object, not {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"utility", "history"})
        if unknown:
            raise ConfigError(f"unknown record fields {unknown!r}; valid: {sorted(known)!r}")
        missing = [k for k in ("kind", "text") if k not in data]
        if missing:
            raise ConfigError(f"memory record lacks {missing!r}")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:  # a wrongly typed value deep in a normalisation
            raise ConfigError(f"invalid memory record: {exc}") from exc
