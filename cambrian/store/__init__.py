"""The run database: SQLite in WAL mode, the run's only checkpoint."""

from ._store import (
    DB_NAME,
    NewCandidate,
    RunStore,
    code_hash,
    is_transient,
    recorded_advice,
    recorded_recalls,
    row_to_program,
)

__all__ = [
    "DB_NAME",
    "NewCandidate",
    "RunStore",
    "code_hash",
    "is_transient",
    "recorded_advice",
    "recorded_recalls",
    "row_to_program",
]
