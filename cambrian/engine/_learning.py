"""Memory's part in one engine session: recall, advice, credit, distillation, keeping.

The engine asks :class:`RunMemory` at four points: when a new run is created (which
programs of earlier runs to evaluate first), before a model proposal (what lessons
and which system-prompt variant to show), after each result (credit the records the
candidate saw; distil once enough outcomes are in), and when the session ends (leave
the run's best program for the next runs). A replayed run takes all of this from its
recording and writes nothing to memory.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Coroutine

from .._config import RunConfig
from .._exceptions import ConfigError
from ..archive import Archive, Program
from ..memory import Advice, Learner
from ..models import Completion, Model, ReplayModel
from ..store import (
    DB_NAME,
    NewCandidate,
    RunStore,
    recorded_advice,
    recorded_recalls,
    row_to_program,
)
from ..task import Files, Task
from ._find import find_model

logger = logging.getLogger("cambrian.engine")

SpendHook = Callable[[str, Completion], Awaitable[None]]


class RunMemory:
    """The engine's memory hooks for one session.

    Args:
        config: The run configuration (``memory`` and ``seed`` are read).
        task: The task being evolved.
        store: The run database.
        archive: The run's archive (parents of finished children are looked up there).
        model: The run's model, None without one.
        proposes_with_model: Whether any operator asks the model (lessons need one).
        spend: Charged with every model call memory makes.
    """

    def __init__(
        self,
        config: RunConfig,
        task: Task,
        store: RunStore,
        archive: Archive,
        model: Model | None,
        *,
        proposes_with_model: bool,
        spend: SpendHook,
    ) -> None:
        self.config = config
        self.store = store
        self.archive = archive
        self.learner: Learner | None = None
        self._replay = find_model(model, ReplayModel)
        self._replayed_advice: dict[int, tuple[str, str | None]] | None = None
        if self._replay is not None:
            # A replay re-asks the recorded prompts, advice included, and learns
            # nothing new: the recording already taught the memory what it could.
            self._replayed_advice = recorded_advice(self._replay.path)
            return
        run_id = store.get_meta("run_id")
        if run_id is None:
            run_id = f"run-{uuid.uuid4().hex[:12]}"
            store.set_meta("run_id", run_id)
        self.learner = Learner(
            config.memory,
            task,
            model if proposes_with_model else None,
            run_db=store.run_dir / DB_NAME,
            run_id=run_id,
            spend=spend,
        )

    @property
    def learns(self) -> bool:
        """Whether lessons and prompt variants are read and written (a model proposes)."""
        return self.learner is not None and self.learner.model is not None

    async def aclose(self) -> None:
        if self.learner is not None:
            await self.learner.aclose()

    # -- a new run -----------------------------------------------------------------
    def recalled(self, seed: Files) -> list[tuple[Files, tuple[str, ...]]]:
        """Programs to evaluate right after the seed, each with the records it came from."""
        if self._replay is not None:
            return [(files, ()) for files in recorded_recalls(self._replay.path)]
        if self.learner is None:
            return []
        return [(r.files, (r.record.id,)) for r in self.learner.recall(seed)]

    def describe_recalled(self) -> str:
        """One line for the run header: what the run starts from besides the seed."""
        rows = self.store.db.execute(
            "SELECT p.id, r.record_id FROM programs p LEFT JOIN memory_seen r"
            " ON r.program_id = p.id WHERE p.operator = 'recall' ORDER BY p.id"
        ).fetchall()
        if not rows:
            return ""
        what = ", ".join(f"program {pid}" + (f" ← {rid}" if rid else "") for pid, rid in rows)
        return f"recalled {len(rows)} program(s) from memory, evaluated again first: {what}"

    # -- proposals -----------------------------------------------------------------
    async def advise(self, parent: Program, sample: int) -> Advice:
        """What memory adds to the prompt of proposal ``sample`` from ``parent``."""
        if self._replayed_advice is not None:
            if sample in self._replayed_advice:
                text, preamble = self._replayed_advice[sample]
                return Advice(text=text, preamble=preamble)
            return Advice()
        if not self.learns:
            return Advice()
        assert self.learner is not None
        # Memory draws from its own stream: the proposal's own draws (model seed,
        # operator) stay the same with memory on, off, or replayed.
        return await self.learner.advise(parent, self._rng(sample))

    def mutation(self, sample: int) -> Coroutine[object, object, object] | None:
        """A prompt-variant mutation when one is due."""
        if self.learns and self.learner is not None and self.learner.wants_mutation():
            return self.learner.mutate_prompt(self._rng(sample))
        return None

    def _rng(self, sample: int) -> random.Random:
        return random.Random(f"{self.config.seed}:{sample}:memory")

    # -- results -------------------------------------------------------------------
    def settle_unfinished(self) -> None:
        """Credit outcomes that a killed session recorded but did not credit."""
        if self.learner is None:
            return
        for pid in self.store.unsettled_finished():
            row = self.store.program(pid)
            assert row is not None
            self._settle(row_to_program(row))

    def after_result(self, pid: int) -> Coroutine[object, object, object] | None:
        """Credit ``pid``'s outcome; returns the distillation due now, if any."""
        if self.learner is None:
            return None
        row = self.store.program(pid)
        assert row is not None
        child = row_to_program(row)
        self._settle(child)
        if child.parent_id is None or not self.learns:
            return None  # the seed and recalled programs teach nothing by themselves
        batch = self.learner.observe(child, self._parent_of(child))
        return self.learner.distill(batch) if batch is not None else None

    def _settle(self, child: Program) -> None:
        assert self.learner is not None
        seen = self.store.unsettled_seen(child.id)
        if seen:
            self.learner.settle(seen, child, self._parent_of(child))
            self.store.settle_seen(child.id)

    def _parent_of(self, child: Program) -> Program | None:
        if child.parent_id is not None and child.parent_id in self.archive:
            return self.archive.get(child.parent_id)
        return None

    # -- the end of a session ----------------------------------------------------------
    def keep_best(self) -> None:
        """Leave the run's best program in memory for the next runs of the task."""
        best = self.archive.best
        if self.learner is None or best is None:
            return
        seed = self.archive.get(1) if 1 in self.archive else None
        try:
            self.learner.keep(best, seed.score if seed is not None else None)
        except (sqlite3.Error, ConfigError) as exc:  # memory is an aid: the run is complete
            logger.warning("could not keep the best program in memory: %s", exc)

    @property
    def stats(self) -> dict[str, int]:
        if self.learner is None:
            return {}
        stats = self.learner.stats
        return {
            "distillations": stats.distillations,
            "created": stats.created,
            "merged": stats.merged,
            "rejected": stats.rejected,
            "prompt_mutations": stats.mutations,
            "archived": len(stats.archived),
            "programs_recalled": stats.recalled,
            "programs_kept": stats.kept,
        }


def new_run_candidates(
    seed: Files, memory: RunMemory | None, islands: int
) -> list[tuple[NewCandidate, tuple[str, ...]]]:
    """The seed, then the recalled programs, spread over the islands."""
    out: list[tuple[NewCandidate, tuple[str, ...]]] = [
        (
            NewCandidate(
                files=dict(seed),
                operator="seed",
                parent_id=None,
                island=0,
                generation=0,
                sample=None,
            ),
            (),
        )
    ]
    recalled = memory.recalled(seed) if memory is not None else []
    for i, (files, seen) in enumerate(recalled):
        cand = NewCandidate(
            files=files,
            operator="recall",
            parent_id=None,
            island=i % islands,
            generation=0,
            sample=None,
            change="recalled from memory: " + ", ".join(seen) if seen else "recalled",
        )
        out.append((cand, seen))
    return out
