"""The ``calls`` table: every model prompt and reply of a run, compressed.

A row is keyed by ``(prompt_hash, occurrence)``: the hash of the canonical prompt (the
messages plus the generation settings that change the answer) and how many earlier
calls sent that very prompt. A replay asks for the same key in the same order, so a run
that sends one prompt twice gets the two recorded replies back in the order they came.

Prompts and replies are stored as zlib-compressed UTF-8 BLOBs: prompts repeat the
parent's code, the task description and the inspirations, and compress several-fold.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ._types import Completion, GenerateConfig, Message, Usage

CALLS_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id                INTEGER PRIMARY KEY,
    created_at        REAL NOT NULL,
    model             TEXT NOT NULL,            -- Completion.model: who answered
    prompt_hash       TEXT NOT NULL,            -- sha256 of canonical_prompt()
    occurrence        INTEGER NOT NULL,         -- earlier calls with the same prompt_hash
    config            TEXT NOT NULL,            -- JSON {temperature, max_tokens, seed}
    messages          BLOB NOT NULL,            -- zlib(canonical JSON of the messages)
    reply             BLOB NOT NULL,            -- zlib(UTF-8 reply text)
    finish_reason     TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              REAL NOT NULL DEFAULT 0,
    UNIQUE (prompt_hash, occurrence)
);
"""

# Level 6 is zlib's default trade-off; prompts are small enough that 9 buys little.
_LEVEL = 6


@dataclass(frozen=True)
class RecordedCall:
    """One recorded model call, decompressed.

    Attributes:
        id: Row id; recording order.
        created_at: Unix time the reply was recorded.
        prompt_hash: See :func:`prompt_hash`.
        occurrence: How many earlier calls sent the same prompt.
        messages: The prompt as sent.
        config: The generation settings that were part of the prompt's hash.
        completion: The reply, with its model name, usage and finish reason.
    """

    id: int
    created_at: float
    prompt_hash: str
    occurrence: int
    messages: list[Message]
    config: GenerateConfig
    completion: Completion


def _config_dict(config: GenerateConfig | None) -> dict[str, Any]:
    config = config or GenerateConfig()
    return {"max_tokens": config.max_tokens, "seed": config.seed, "temperature": config.temperature}


def _dumps(value: Any) -> str:
    # ensure_ascii keeps lone surrogates (candidates can print them into feedback) as
    # escapes, so every prompt encodes to bytes and hashes the same on every platform.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_prompt(messages: Sequence[Message], config: GenerateConfig | None) -> str:
    """The canonical JSON text whose sha256 is the prompt hash.

    Only the settings that change the answer (temperature, max_tokens, seed) take part;
    a missing config counts as all-default.
    """
    return _dumps(
        {"config": _config_dict(config), "messages": [[m.role, m.content] for m in messages]}
    )


def prompt_hash(messages: Sequence[Message], config: GenerateConfig | None) -> str:
    """sha256 hex digest of :func:`canonical_prompt`."""
    return hashlib.sha256(canonical_prompt(messages, config).encode("ascii")).hexdigest()


def ensure_calls_table(db: sqlite3.Connection) -> None:
    """Create the ``calls`` table if it is missing (idempotent)."""
    db.executescript(CALLS_SCHEMA)


def has_calls_table(db: sqlite3.Connection) -> bool:
    """Whether ``db`` holds a ``calls`` table (read-only check)."""
    row = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'calls'"
    ).fetchone()
    return row is not None


def record_call(
    db: sqlite3.Connection,
    messages: Sequence[Message],
    config: GenerateConfig | None,
    completion: Completion,
) -> int:
    """Record one successful call; returns the new row's id.

    The occurrence is computed by a sub-select inside the INSERT itself, so the count
    and the write are one atomic statement: no other writer can slip a call with the
    same prompt in between, and the function works whether or not ``db`` is already
    inside a transaction. The ``calls`` table must exist (:func:`ensure_calls_table`).

    Args:
        db: An open connection; autocommit (``isolation_level=None``) like the RunStore's.
        messages: The prompt as sent to the model.
        config: The generation settings sent with it.
        completion: The model's reply.
    """
    digest = prompt_hash(messages, config)
    packed = zlib.compress(_dumps([[m.role, m.content] for m in messages]).encode("ascii"), _LEVEL)
    reply = zlib.compress(completion.text.encode("utf-8", "surrogatepass"), _LEVEL)
    usage = completion.usage
    was_in_transaction = db.in_transaction
    cur = db.execute(
        "INSERT INTO calls (created_at, model, prompt_hash, occurrence, config, messages, reply,"
        " finish_reason, prompt_tokens, completion_tokens, cost)"
        " SELECT ?, ?, ?, COUNT(*), ?, ?, ?, ?, ?, ?, ? FROM calls WHERE prompt_hash = ?",
        (
            time.time(),
            completion.model,
            digest,
            _dumps(_config_dict(config)),
            packed,
            reply,
            completion.finish_reason,
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.cost,
            digest,
        ),
    )
    # A connection in Python's legacy transaction mode opened a transaction for this
    # INSERT; commit it so the call is durable like an autocommit write would be.
    if db.in_transaction and not was_in_transaction:
        db.commit()
    assert cur.lastrowid is not None
    return cur.lastrowid


_COLUMNS = (
    "id, created_at, model, prompt_hash, occurrence, config, messages, reply, finish_reason,"
    " prompt_tokens, completion_tokens, cost"
)


def _row_to_call(row: Sequence[Any]) -> RecordedCall:
    (rid, created, model, digest, occurrence, config, messages, reply, finish, pt, ct, cost) = row
    pairs = json.loads(zlib.decompress(messages).decode("ascii"))
    return RecordedCall(
        id=rid,
        created_at=created,
        prompt_hash=digest,
        occurrence=occurrence,
        messages=[Message(role, content) for role, content in pairs],
        config=GenerateConfig(**json.loads(config)),
        completion=Completion(
            text=zlib.decompress(reply).decode("utf-8", "surrogatepass"),
            model=model,
            usage=Usage(pt, ct, cost),
            finish_reason=finish,
        ),
    )


def recorded_calls(db: sqlite3.Connection) -> Iterator[RecordedCall]:
    """Every recorded call, decompressed, in recording (id) order.

    Yields nothing when ``db`` has no ``calls`` table.
    """
    if not has_calls_table(db):
        return
    # fetchall: the caller may run other statements on ``db`` while iterating.
    for row in db.execute(f"SELECT {_COLUMNS} FROM calls ORDER BY id").fetchall():
        yield _row_to_call(row)


def find_reply(db: sqlite3.Connection, prompt_hash: str, occurrence: int) -> RecordedCall | None:
    """The recorded call for ``(prompt_hash, occurrence)``, or None."""
    row = db.execute(
        f"SELECT {_COLUMNS} FROM calls WHERE prompt_hash = ? AND occurrence = ?",
        (prompt_hash, occurrence),
    ).fetchone()
    return None if row is None else _row_to_call(row)


def call_count(db: sqlite3.Connection, prompt_hash: str | None = None) -> int:
    """How many calls are recorded (with ``prompt_hash``, when given)."""
    if not has_calls_table(db):
        return 0
    if prompt_hash is None:
        return int(db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
    return int(
        db.execute("SELECT COUNT(*) FROM calls WHERE prompt_hash = ?", (prompt_hash,)).fetchone()[0]
    )
