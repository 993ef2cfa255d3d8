"""The in-memory archive: islands, MAP-Elites cells, parent and inspiration selection.

On resume the archive is rebuilt by replaying :meth:`Archive.add` over finished
programs in finish order, so its whole state is a deterministic function of the
config and that sequence; randomness comes only from the ``random.Random`` handed
to a call. Every ordering below therefore breaks ties on program id.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TypedDict

from cambrian.archive._config import ArchiveConfig
from cambrian.archive._features import FeatureBinner, jaccard_distance, token_set
from cambrian.archive._program import Program
from cambrian.archive._selection import get_selector

__all__ = ["Archive", "ArchiveStats", "IslandStats"]


def _rank_key(p: Program) -> tuple[float, int]:
    """Best first: highest score, then lowest id."""
    return (-(p.score if p.score is not None else -math.inf), p.id)


def _usable(p: Program) -> bool:
    """Whether a program may be a parent or inspiration for normal operators."""
    return p.correct and p.score is not None and math.isfinite(p.score)


class IslandStats(TypedDict):
    """Counts for one island."""

    members: int
    """Current members (correct and incorrect)."""
    correct: int
    """Current correct members."""
    failed: int
    """Current incorrect or failed members."""
    best_score: float | None
    """Highest score among correct members, None if there are none."""


class ArchiveStats(TypedDict):
    """A snapshot of the archive's counts (a plain dict, cheap to log or serialise)."""

    programs: int
    """Programs added (every one stays retrievable by id)."""
    correct: int
    """Programs added that are correct."""
    failed: int
    """Programs added that failed or are incorrect (candidates for the fix operator)."""
    adds: int
    """Calls to :meth:`Archive.add` so far."""
    migrations: int
    """Migration rounds performed."""
    evictions: int
    """Island memberships removed by the population cap."""
    elites: int
    """Occupied MAP-Elites cells."""
    best_id: int | None
    """Id of the best correct program."""
    best_score: float | None
    """Score of the best correct program."""
    islands: list[IslandStats]
    """Per-island counts, by island index."""


class Archive:
    """Programs, islands and MAP-Elites cells; picks parents and inspirations.

    The archive keeps a reference to every added :class:`Program` (it does not copy
    them); :meth:`record_child` increments ``Program.children`` in place.

    Args:
        config: How to keep programs and select from them.
    """

    def __init__(self, config: ArchiveConfig | None = None) -> None:
        self.config = config if config is not None else ArchiveConfig()
        self._selector = get_selector(self.config.selection)
        self._programs: dict[int, Program] = {}
        # dicts used as insertion-ordered sets: membership order is add order.
        self._members: list[dict[int, None]] = [{} for _ in range(self.config.islands)]
        self._failed: list[list[int]] = [[] for _ in range(self.config.islands)]
        self._tokens: dict[int, frozenset[str]] = {}
        self._binner = FeatureBinner(self.config.feature_dimensions, self.config.feature_bins)
        self._elites: dict[tuple[int, ...], int] = {}
        self._cell_of: dict[int, tuple[int, ...]] = {}
        self._best_id: int | None = None
        self._adds = 0
        self._migrations = 0
        self._evictions = 0

    # --- adding -------------------------------------------------------------------

    def add(self, program: Program) -> None:
        """Record a finished program (done or failed).

        The seed (``parent_id`` None) joins every island; any other program joins its
        own ``island``. Incorrect programs are members too (evicted first) but are only
        ever offered to the fix operator. After the add, the population cap is
        enforced and, every ``migration_interval`` adds, islands migrate.

        Args:
            program: The program; its ``island`` must be a valid island index.

        Raises:
            ValueError: If the id was already added or the island does not exist.
        """
        if program.id in self._programs:
            raise ValueError(f"program {program.id!r} was already added to the archive")
        if not 0 <= program.island < self.config.islands:
            raise ValueError(
                f"program {program.id!r} has island {program.island!r}; "
                f"valid: 0..{self.config.islands - 1}"
            )
        self._programs[program.id] = program
        homes = range(self.config.islands) if program.parent_id is None else [program.island]
        if _usable(program):
            self._tokens[program.id] = token_set(program.code)
            best = self.best
            if best is None or _rank_key(program) < _rank_key(best):
                self._best_id = program.id
            self._place_in_cell(program)
        else:
            for island in homes:
                self._failed[island].append(program.id)
        for island in homes:
            self._members[island][program.id] = None
            self._enforce_cap(island)
        self._adds += 1
        interval = self.config.migration_interval
        if interval and self._adds % interval == 0:
            self._migrate()

    def record_child(self, parent_id: int) -> None:
        """Count one more child proposed from ``parent_id`` (lowers its weight).

        Raises:
            KeyError: If no program has that id.
        """
        self._get(parent_id).children += 1

    def _place_in_cell(self, program: Program) -> None:
        if not self._binner.enabled:
            return
        cell = self._binner.cell(program.code_length, program.metrics)
        if cell is None:
            return
        self._cell_of[program.id] = cell
        incumbent = self._elites.get(cell)
        if incumbent is None or _rank_key(program) < _rank_key(self._programs[incumbent]):
            self._elites[cell] = program.id

    def _enforce_cap(self, island: int) -> None:
        members = self._members[island]
        excess = len(members) - self.config.population_size
        if excess <= 0:
            return
        protected = set(self._elites.values())
        if self._best_id is not None:
            protected.add(self._best_id)
        # Incorrect first (oldest id first), then lowest score; among equal scores the
        # newest id goes, matching "ties → lowest id wins" everywhere else.
        candidates = sorted(
            (self._programs[i] for i in members if i not in protected),
            key=lambda p: (
                _usable(p),
                p.score if _usable(p) and p.score is not None else 0.0,
                -p.id if _usable(p) else p.id,
            ),
        )
        # If everything left is protected the island stays over the cap.
        for victim in candidates[:excess]:
            del members[victim.id]
            self._evictions += 1

    def _migrate(self) -> None:
        n = self.config.islands
        k = self.config.migration_count
        if n < 2 or k == 0:
            return
        # Snapshot the sources first so a migrant moves one hop per round, not around
        # the whole ring.
        moves = [(i, self._top(i, k)) for i in range(n)]
        for source, migrants in moves:
            dest = (source + 1) % n
            for p in migrants:
                if p.id not in self._members[dest]:
                    self._members[dest][p.id] = None
            self._enforce_cap(dest)
        self._migrations += 1

    def _top(self, island: int, k: int) -> list[Program]:
        return sorted(self._correct_members(island), key=_rank_key)[:k]

    # --- selection ----------------------------------------------------------------

    def select_parent(
        self, rng: random.Random, island: int, *, for_fix: bool = False
    ) -> Program | None:
        """Pick a parent on ``island``.

        Args:
            rng: The only source of randomness.
            island: Island index.
            for_fix: Pick among the island's ``fix_pool_size`` most recent incorrect
                programs (uniformly) instead of its correct members.

        Returns:
            The parent; None when there is nothing to pick from (no correct program at
            all, or for ``for_fix`` no incorrect program on the island).

        Raises:
            ValueError: If the island does not exist.
        """
        self._check_island(island)
        if for_fix:
            recent = self._failed[island][-self.config.fix_pool_size :]
            if not recent:
                return None
            return self._programs[recent[rng.randrange(len(recent))]]
        pool = self._correct_members(island)
        if not pool:
            # An island without a correct member borrows from the whole archive.
            pool = [p for p in self._programs.values() if _usable(p)]
        if not pool:
            return None
        pool.sort(key=_rank_key)
        return self._selector(pool, rng, **self.config.selection_params)

    def inspirations(
        self, rng: random.Random, parent: Program, *, island: int | None = None
    ) -> list[Program]:
        """Programs to show the model next to ``parent``; never the parent itself.

        First the ``num_top_inspirations`` best correct members of the island, then
        ``num_diverse_inspirations`` diverse correct programs: elites of other
        MAP-Elites cells drawn with ``rng`` when MAP-Elites is on, otherwise (and to
        fill up) the correct programs whose code is farthest from the parent's by
        token-set Jaccard distance (ties: higher score, then lower id).

        Args:
            rng: The only source of randomness.
            parent: The selected parent.
            island: Island to draw the top programs from; defaults to ``parent.island``.

        Returns:
            Distinct programs, top ones first.
        """
        island = parent.island if island is None else island
        self._check_island(island)
        cfg = self.config
        top = [p for p in sorted(self._correct_members(island), key=_rank_key) if p.id != parent.id]
        chosen = top[: cfg.num_top_inspirations]
        taken = {parent.id, *(p.id for p in chosen)}
        want = cfg.num_diverse_inspirations
        diverse: list[Program] = []
        if want and self._binner.enabled:
            parent_cell = self._cell_of.get(parent.id)
            others = [
                self._programs[pid]
                for cell, pid in sorted(self._elites.items())
                if cell != parent_cell and pid not in taken
            ]
            diverse = rng.sample(others, min(want, len(others)))
            taken.update(p.id for p in diverse)
        if len(diverse) < want:
            diverse += self._farthest(parent, want - len(diverse), taken)
        return chosen + diverse

    def _farthest(self, parent: Program, k: int, taken: set[int]) -> list[Program]:
        ref = self._tokens.get(parent.id) or token_set(parent.code)
        scored = [
            (jaccard_distance(ref, self._tokens[p.id]), p)
            for p in self._programs.values()
            if _usable(p) and p.id not in taken
        ]
        scored.sort(key=lambda dp: (-dp[0], *_rank_key(dp[1])))
        return [p for _, p in scored[:k]]

    # --- queries ------------------------------------------------------------------

    @property
    def best(self) -> Program | None:
        """The highest-scoring correct program (ties: lowest id); None if none."""
        return None if self._best_id is None else self._programs[self._best_id]

    def get(self, program_id: int) -> Program | None:
        """The program with this id (evicted ones included), None if never added."""
        return self._programs.get(program_id)

    def members(self, island: int) -> list[Program]:
        """Current members of ``island`` in the order they joined it."""
        self._check_island(island)
        return [self._programs[i] for i in self._members[island]]

    def elites(self) -> dict[tuple[int, ...], Program]:
        """MAP-Elites cell → its best correct program (empty when MAP-Elites is off)."""
        return {cell: self._programs[pid] for cell, pid in sorted(self._elites.items())}

    def cell_of(self, program_id: int) -> tuple[int, ...] | None:
        """The MAP-Elites cell a program was binned into, None if it has none."""
        return self._cell_of.get(program_id)

    def stats(self) -> ArchiveStats:
        """Counts over the whole archive and per island."""
        correct = sum(1 for p in self._programs.values() if _usable(p))
        islands: list[IslandStats] = []
        for i in range(self.config.islands):
            good = self._correct_members(i)
            islands.append(
                {
                    "members": len(self._members[i]),
                    "correct": len(good),
                    "failed": len(self._members[i]) - len(good),
                    "best_score": max((p.score for p in good if p.score is not None), default=None),
                }
            )
        best = self.best
        return {
            "programs": len(self._programs),
            "correct": correct,
            "failed": len(self._programs) - correct,
            "adds": self._adds,
            "migrations": self._migrations,
            "evictions": self._evictions,
            "elites": len(self._elites),
            "best_id": None if best is None else best.id,
            "best_score": None if best is None else best.score,
            "islands": islands,
        }

    def __len__(self) -> int:
        return len(self._programs)

    def __contains__(self, program_id: object) -> bool:
        return program_id in self._programs

    def __iter__(self) -> Iterator[Program]:
        """All programs in add order."""
        return iter(self._programs.values())

    # --- internals ----------------------------------------------------------------

    def _get(self, program_id: int) -> Program:
        try:
            return self._programs[program_id]
        except KeyError:
            raise KeyError(f"no program with id {program_id!r} in the archive") from None

    def _check_island(self, island: int) -> None:
        if not 0 <= island < self.config.islands:
            raise ValueError(
                f"island {island!r} does not exist; valid: 0..{self.config.islands - 1}"
            )

    def _correct_members(self, island: int) -> list[Program]:
        return [p for i in self._members[island] if _usable(p := self._programs[i])]
