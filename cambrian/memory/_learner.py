"""The engine's side of memory: retrieve before a proposal, learn after evaluations.

One :class:`Learner` per run. It reads and writes the memory that outlives runs (a
:class:`MemoryStore` file shared by runs) and keeps, in the run database, a copy of
every record the run wrote and which records each candidate's prompt showed. Its
model calls (analysis, prompt mutation) go through the run's model seam, so they are
recorded, replayable and charged to the run's budget.

Recall (the best programs of earlier runs, evaluated again at the start of a new
run) and keeping a run's best need no model; lessons, skills and prompt variants do.
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .._config import MemoryConfig
from .._exceptions import ModelError, ModelResponseError
from ..archive import Program
from ..models import Completion, GenerateConfig, Message, Model
from ..propose import DEFAULT_PREAMBLE
from ..task import Files, Task
from ._distill import Notes, Outcome, analyzer_prompt, parse_notes, render, restates_example
from ._metaprompt import DEFAULT_NAME, choose_variant, parse_variant, worst_to_archive
from ._recall import Recalled, recall, remember
from ._records import Record
from ._store import MemoryStore, default_memory_path

logger = logging.getLogger("cambrian.memory")

_QUERY_CHARS = 4000
_ADVICE_CHARS = 2500

SpendHook = Callable[[str, Completion], Awaitable[None]]


@dataclass(frozen=True)
class Advice:
    """What memory adds to one proposal's prompt.

    Attributes:
        text: The lessons block for the user message ("" when there is none).
        record_ids: Every record the prompt showed (insights, skills, scratchpad, variant).
        preamble: The system prompt's opening, or None for the built-in one.
    """

    text: str = ""
    record_ids: tuple[str, ...] = ()
    preamble: str | None = None


@dataclass
class LearnStats:
    """Counts for the run summary and the tests."""

    distillations: int = 0
    created: int = 0
    merged: int = 0
    rejected: int = 0
    mutations: int = 0
    archived: list[str] = field(default_factory=list)
    recalled: int = 0
    kept: int = 0


def task_tags(task: Task, config: MemoryConfig) -> tuple[str, ...]:
    """The run's scope tags: the task's name plus the configured tags, lowercase."""
    tags = [task.name, *config.tags]
    return tuple(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


class Learner:
    """Retrieval, outcome bookkeeping, distillation and prompt evolution for one run.

    Args:
        config: The run's memory settings.
        task: The task being evolved.
        model: The run's model (its calls are recorded like proposals); None for a
            run without one, which only recalls and keeps programs.
        run_db: The run database file (gets the run's copy of records written).
        run_id: This run's id, used in evidence references ``"<run_id>:<program id>"``.
        spend: Called with every completion the learner paid for.
    """

    def __init__(
        self,
        config: MemoryConfig,
        task: Task,
        model: Model | None,
        *,
        run_db: Path,
        run_id: str,
        spend: SpendHook,
    ) -> None:
        self.config = config
        self.task = task
        self.model = model
        self.run_id = run_id
        self.tags = task_tags(task, config)
        self._spend = spend
        self.memory = MemoryStore(Path(config.path) if config.path else default_memory_path())
        self.run_copy = MemoryStore(run_db)
        self.stats = LearnStats()
        self._embedder = None
        if config.embeddings:
            from ._embeddings import EmbeddingRetriever

            self._embedder = EmbeddingRetriever.from_spec(config.embeddings)
        self._batch: list[Outcome] = []
        self._proposals_since_mutation = 0
        self._ensure_default_prompt()

    async def aclose(self) -> None:
        if self._embedder is not None:
            await self._embedder.aclose()
        self.close()

    def close(self) -> None:
        self.memory.close()
        self.run_copy.close()

    # -- retrieval -----------------------------------------------------------------
    def _ensure_default_prompt(self) -> None:
        if not self.config.evolve_prompts or self.model is None:
            return
        if not any(r.name == DEFAULT_NAME for r in self.memory.list(kind="prompt")):
            self.memory.add(
                Record(
                    kind="prompt",
                    text=DEFAULT_PREAMBLE,
                    name=DEFAULT_NAME,
                    metadata={"origin": "built-in", "version": 1},
                )
            )

    def _variants(self) -> list[Record]:
        return [
            r
            for r in self.memory.list(kind="prompt", status="active")
            if r.name == DEFAULT_NAME or set(r.tags) & set(self.tags)
        ]

    def _query(self, parent: Program) -> str:
        code = " ".join(parent.files.values())
        why = f"{parent.failure or ''} {parent.error} {parent.feedback}"
        return f"{self.task.description} {why} {code}"[:_QUERY_CHARS]

    async def _retrieve(self, query: str) -> list[Record]:
        """The top records for ``query``: BM25, re-ranked with embeddings when configured."""
        k = self.config.retrieve
        pool = 4 * k if self._embedder is not None else k
        hits = self.memory.search(query, kind=("insight", "skill"), tags=self.tags, k=pool)
        if self._embedder is None or len(hits) <= 1:
            return [record for record, _ in hits[:k]]
        texts = [f"{r.name} {r.description} {r.text}".strip() for r, _ in hits]
        try:
            cosines = await self._embedder.rank(query, texts)
        except (ModelError, ModelResponseError) as exc:  # BM25 alone still ranks
            logger.warning("embedding retrieval failed, using BM25 alone: %s", exc)
            return [record for record, _ in hits[:k]]
        top = max(score for _, score in hits) or 1.0
        combined = [
            (0.5 * score / top + 0.5 * max(cos, 0.0), -i)
            for i, ((_, score), cos) in enumerate(zip(hits, cosines, strict=True))
        ]
        order = sorted(range(len(hits)), key=lambda i: combined[i], reverse=True)
        return [hits[i][0] for i in order[:k]]

    async def advise(self, parent: Program, rng: random.Random) -> Advice:
        """Lessons and a prompt variant for a proposal from ``parent``."""
        lines: list[str] = []
        ids: list[str] = []
        if self.config.retrieve:
            for record in await self._retrieve(self._query(parent)):
                ids.append(record.id)
                if record.kind == "insight":
                    lines.append(f"- ({record.polarity}) {record.text}")
                else:
                    lines.append(f"## Skill {record.name}: {record.description}\n{record.text}")
        pad = self._scratchpad()
        if pad is not None:
            ids.append(pad.id)
            lines.append(f"Recommendations:\n{pad.text}")
        preamble = None
        if self.config.evolve_prompts:
            variants = self._variants()
            if variants:
                variant = choose_variant(variants, rng)
                ids.append(variant.id)
                preamble = variant.text
        if ids:
            self.memory.mark_used(ids)
        text = render("advice", lessons="\n".join(lines))[:_ADVICE_CHARS] if lines else ""
        self._proposals_since_mutation += 1
        return Advice(text=text, record_ids=tuple(ids), preamble=preamble)

    def _scratchpad(self) -> Record | None:
        pads = [
            r
            for r in self.memory.list(kind="scratchpad", status="active")
            if r.name == self.task.name
        ]
        return max(pads, key=lambda r: r.updated_at) if pads else None

    # -- programs of earlier runs ----------------------------------------------------
    def recall(self, seed: Files) -> list[Recalled]:
        """The best programs earlier runs of this task left, fitted to ``seed``."""
        found = recall(self.memory, self.task.name, seed, self.config.recall)
        if found:
            self.memory.mark_used(r.record.id for r in found)
        self.stats.recalled += len(found)
        return found

    def keep(self, best: Program, seed_score: float | None) -> Record | None:
        """Leave the run's best program for the next runs (when it beats the seed)."""
        stored = remember(
            self.memory,
            task_name=self.task.name,
            tags=self.tags,
            program=best,
            seed_score=seed_score,
            ref=self._ref(best.id),
            origin=self._origin(),
        )
        if stored is not None:
            self.stats.kept += 1
            self._copy_to_run(stored)
        return stored

    # -- outcomes ------------------------------------------------------------------
    def settle(self, seen: list[str], child: Program, parent: Program | None) -> list[str]:
        """Update the utility of every record ``child``'s prompt showed; returns archived ids.

        A recalled program is a success when it verifies again (correct); any other
        child when it beats its parent.
        """
        if not seen or child.failure == "duplicate":
            # A duplicate was never evaluated: it says nothing about the advice.
            return []
        recalled = child.operator == "recall"
        success = child.correct if recalled else Outcome(child, parent).improved
        archived = self.memory.record_outcome(
            seen,
            success,
            ref=f"{self.run_id}:{child.id}",
            archive_below=self.config.archive_below,
            min_trials=self.config.min_trials,
        )
        self.stats.archived.extend(archived)
        return archived

    def observe(self, child: Program, parent: Program | None) -> list[Outcome] | None:
        """Add an outcome; returns the batch to distil once ``distill_every`` are in."""
        self._batch.append(Outcome(child, parent))
        if len(self._batch) < self.config.distill_every:
            return None
        batch, self._batch = self._batch, []
        return batch

    def wants_mutation(self) -> bool:
        return (
            self.config.evolve_prompts
            and self._proposals_since_mutation >= self.config.mutate_prompt_every
        )

    # -- model calls ---------------------------------------------------------------
    async def _ask(self, purpose: str, prompt: str) -> str | None:
        if self.model is None:
            return None
        try:
            completion = await self.model.generate(
                [Message("user", prompt)], GenerateConfig(temperature=0.3)
            )
        except (ModelError, ModelResponseError) as exc:
            # Learning is best effort: the proposer meets (and reports) a real outage.
            logger.warning("memory %s skipped: %s", purpose, exc)
            return None
        await self._spend(purpose, completion)
        return completion.text

    def _known(self, polarity: str) -> list[str]:
        records = self.memory.list(kind="insight", status="active", tags=list(self.tags))
        return [r.text for r in records if r.polarity == polarity][:8]

    async def distill(self, batch: list[Outcome]) -> None:
        """Ask the analyzer about a batch and write what it supports."""
        successes = [o for o in batch if o.improved]
        failures = [o for o in batch if not o.improved]
        recommendations: list[str] = []
        for kind, group, polarity in (
            ("success", successes, "guiding"),
            ("failure", failures, "cautionary"),
        ):
            if not group:
                continue
            prompt = analyzer_prompt(
                kind, self.task.name, self.task.description, group, self._known(polarity)
            )
            reply = await self._ask("distill", prompt)
            if reply is None:
                continue
            notes = parse_notes(reply)
            self._write_notes(notes, group, polarity)
            recommendations.extend(notes.recommendations)
        if recommendations:
            self._write_scratchpad(recommendations[:5])
        self.stats.distillations += 1

    def _ref(self, pid: int) -> str:
        return f"{self.run_id}:{pid}"

    def _origin(self) -> dict[str, object]:
        return {"origin": {"run": self.run_id, "task": self.task.name}, "version": 1}

    def _write_notes(self, notes: Notes, group: list[Outcome], polarity: str) -> None:
        valid = {o.child.id for o in group}
        improved = {o.child.id for o in group if o.improved}
        for pol, text, cited in notes.insights:
            evidence = [i for i in dict.fromkeys(cited) if i in valid]
            if pol != polarity or not evidence or restates_example(text):
                # Uncited, wrongly cited, of the other kind or the prompt's own example:
                # not evidence-backed.
                self.stats.rejected += 1
                continue
            self._write(
                Record(
                    kind="insight",
                    text=text,
                    polarity=polarity,  # type: ignore[arg-type]
                    tags=self.tags,
                    supporting=tuple(self._ref(i) for i in evidence),
                    metadata=self._origin(),
                )
            )
        for name, description, body, cited in notes.skills:
            evidence = [i for i in dict.fromkeys(cited) if i in improved]
            if len(evidence) < 2:  # a procedure must have worked at least twice
                self.stats.rejected += 1
                continue
            self._write(
                Record(
                    kind="skill",
                    text=body,
                    name=name,
                    description=description or f"A procedure that worked on {self.task.name}.",
                    tags=self.tags,
                    supporting=tuple(self._ref(i) for i in evidence),
                    metadata=self._origin(),
                )
            )

    def _write(self, record: Record, *, merge: bool = True) -> Record:
        # Prompt variants descend from each other and read alike: never merge them.
        stored, created = self.memory.add(record, merge_threshold=0.6 if merge else 2.0)
        if created:
            self.stats.created += 1
        else:
            self.stats.merged += 1
        self._copy_to_run(stored)
        return stored

    def _copy_to_run(self, record: Record) -> None:
        try:
            self.run_copy.add(
                replace(record, id="", metadata={**record.metadata, "memory_id": record.id})
            )
        except sqlite3.Error as exc:  # the run copy is provenance, not state
            logger.warning("could not copy memory record %s into the run: %s", record.id, exc)

    def _write_scratchpad(self, recommendations: list[str]) -> None:
        text = "\n".join(f"- {r}" for r in recommendations)
        new = Record(
            kind="scratchpad",
            text=text,
            name=self.task.name,
            tags=self.tags,
            metadata=self._origin(),
        )
        old = self._scratchpad()
        stored = self.memory.supersede(old.id, new) if old else self.memory.add(new)[0]
        self.stats.created += 1
        self._copy_to_run(stored)

    async def mutate_prompt(self, rng: random.Random) -> Record | None:
        """Write a new system-prompt variant from the best one; archive the weakest."""
        self._proposals_since_mutation = 0
        variants = self._variants()
        if not variants:
            return None
        best = max(variants, key=lambda v: (v.utility, v.trials, rng.random()))
        lessons = [
            f"- ({r.polarity}) {r.text}"
            for r in self.memory.list(kind="insight", status="active", tags=list(self.tags))[:6]
        ]
        pad = self._scratchpad()
        if pad is not None:
            lessons.append(pad.text)
        prompt = render(
            "mutate_prompt",
            task_name=self.task.name,
            description=self.task.description or "(no description given)",
            successes=best.successes,
            trials=best.trials,
            preamble=best.text,
            lessons="\n".join(lessons) or "(nothing yet)",
        )
        reply = await self._ask("prompt_mutation", prompt)
        text = parse_variant(reply) if reply else None
        known = {re.sub(r"\s+", " ", v.text) for v in self.memory.list(kind="prompt")}
        if text is None or re.sub(r"\s+", " ", text) in known:
            self.stats.rejected += 1  # unusable, or a variant tried before
            return None
        version = int(best.metadata.get("version", 1)) + 1
        variant = self._write(
            Record(
                kind="prompt",
                text=text,
                name=f"{self.task.name}-{len(known) + 1}",
                tags=self.tags,
                metadata={**self._origin(), "parents": [best.id], "version": version},
            ),
            merge=False,
        )
        self.stats.mutations += 1
        for weak in worst_to_archive(self._variants(), self.config.prompt_variants):
            self.memory.set_status(weak.id, "archived", "too many prompt variants; weakest")
            self.stats.archived.append(weak.id)
        return variant
