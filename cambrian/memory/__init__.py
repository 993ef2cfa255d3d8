"""Memory that outlives runs: insights, skills, prompt variants, kept in SQLite.

:class:`MemoryStore` holds :class:`Record` objects in one file shared by runs
(:func:`default_memory_path`), retrieves them lexically (BM25, no model needed), merges
restated lessons, tracks each record's utility and archives the ones that stop helping.
Skills travel as agentskills.io folders (:func:`export_skills`, :func:`import_skills`).

The engine's side (:class:`Learner`, :class:`Advice`) is loaded on first use, so the
store and the ``cambrian memory`` command do not import the proposer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._records import MAX_EVIDENCE, Polarity, Record, RecordKind, RecordStatus
from ._skills import export_skills, import_skills
from ._store import MemoryStore, default_memory_path
from ._text import BM25, similarity, tokens

_LAZY = {"Advice": "._learner", "Learner": "._learner"}

__all__ = [
    "BM25",
    "MAX_EVIDENCE",
    "Advice",
    "Learner",
    "MemoryStore",
    "Polarity",
    "Record",
    "RecordKind",
    "RecordStatus",
    "default_memory_path",
    "export_skills",
    "import_skills",
    "similarity",
    "tokens",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from ._learner import Advice, Learner
