"""The archive: programs, islands, MAP-Elites cells, parent and inspiration selection.

The archive's whole state is a deterministic function of its :class:`ArchiveConfig`
and the sequence of :meth:`Archive.add` calls, so a run rebuilds it on resume by
replaying finished programs in finish order. Randomness enters only through the
``random.Random`` passed to :meth:`Archive.select_parent` and
:meth:`Archive.inspirations`.

Parent selection strategies are plain functions registered with
:func:`parent_selector`; ``ArchiveConfig.selection`` names one.
"""

from cambrian.archive._archive import Archive, ArchiveStats, IslandStats
from cambrian.archive._config import ArchiveConfig
from cambrian.archive._program import Program
from cambrian.archive._selection import (
    ParentSelector,
    boltzmann_temperature,
    get_selector,
    parent_selector,
    score_diversity,
    selector_names,
)

__all__ = [
    "Archive",
    "ArchiveConfig",
    "ArchiveStats",
    "IslandStats",
    "ParentSelector",
    "Program",
    "boltzmann_temperature",
    "get_selector",
    "parent_selector",
    "score_diversity",
    "selector_names",
]
