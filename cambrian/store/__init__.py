"""The run database: SQLite in WAL mode, the run's only checkpoint."""

from ._calls import RecordedCall, find_reply, prompt_hash, record_call, recorded_calls
from ._store import (
    DB_NAME,
    NewCandidate,
    RunStore,
    code_hash,
    is_transient,
    recorded_advice,
    row_to_program,
)

__all__ = [
    "DB_NAME",
    "NewCandidate",
    "RecordedCall",
    "RunStore",
    "code_hash",
    "find_reply",
    "is_transient",
    "prompt_hash",
    "record_call",
    "recorded_advice",
    "recorded_calls",
    "row_to_program",
]
