"""The memory tables: schema, row mapping and the write steps every operation shares.

Several runs (processes) may share one file: it is in WAL mode, every write is one
``BEGIN IMMEDIATE`` transaction (read, decide, write), and a writer waits up to
``busy_timeout_s`` for another. Table names start with ``memory_`` so the tables can
also live inside another database, such as a run's.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from ._records import ID_PREFIX, RECORD_KINDS, Record, RecordKind, bounded
from ._text import similarity

SCHEMA_VERSION = 1
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS memory_records (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, name TEXT NOT NULL,
        polarity TEXT, text TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL,
        supporting TEXT NOT NULL, contradicting TEXT NOT NULL, successes INTEGER NOT NULL,
        trials INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
        last_used_at REAL, metadata TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS memory_records_kind ON memory_records(kind, status)",
    """CREATE TABLE IF NOT EXISTS memory_history (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, at REAL NOT NULL,
        event TEXT NOT NULL, detail TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS memory_history_record ON memory_history(record_id, seq)",
    "CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"INSERT OR IGNORE INTO memory_meta VALUES ('schema_version', '{SCHEMA_VERSION}')",
)
COLUMNS = tuple(f.name for f in fields(Record))  # one column per field
_JSON = frozenset({"tags", "supporting", "contradicting", "metadata"})
_ORDER = "ORDER BY (successes + 1.0) / (trials + 2.0) DESC, updated_at DESC, id"


def kinds_of(kind: RecordKind | tuple[RecordKind, ...] | None) -> tuple[str, ...]:
    """``kind`` as a tuple of kinds (None: all), each checked."""
    kinds = RECORD_KINDS if kind is None else (kind,) if isinstance(kind, str) else kind
    for k in kinds:
        if k not in RECORD_KINDS:
            raise ConfigError(f"record kind {k!r} is not one of {list(RECORD_KINDS)}")
    return tuple(kinds)


def _values(record: Record) -> tuple[Any, ...]:
    data = record.to_dict()
    try:
        return tuple(json.dumps(data[c]) if c in _JSON else data[c] for c in COLUMNS)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"record metadata {record.metadata!r} is not JSON: {exc}") from None


def _record(row: sqlite3.Row) -> Record:
    return Record(**{c: json.loads(row[c]) if c in _JSON else row[c] for c in COLUMNS})


class Tables:
    """One connection to the memory tables of a SQLite file, creating them if absent.

    Raises:
        ConfigError: The file cannot be created or opened, or has another schema.
    """

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # Committed transactions survive a kill -9; only an OS crash can lose the last.
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.transaction():
                for statement in _SCHEMA:
                    self.db.execute(statement)
                row = self.db.execute(
                    "SELECT value FROM memory_meta WHERE key = 'schema_version'"
                ).fetchone()
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise ConfigError(f"cannot open memory database {str(path)!r}: {exc}") from exc
        if row["value"] != str(SCHEMA_VERSION):
            self.close()
            raise ConfigError(
                f"memory database {str(path)!r} has schema {row['value']!r};"
                f" this Cambrian reads schema {SCHEMA_VERSION!r}"
            )

    def close(self) -> None:
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self.db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error; reads inside see one snapshot."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- reads ---------------------------------------------------------------------
    def select(self, where: str = "1", params: Iterable[Any] = ()) -> list[Record]:
        """Records matching a SQL condition, best utility first, then newest."""
        rows = self.db.execute(f"SELECT * FROM memory_records WHERE {where} {_ORDER}", (*params,))
        return [_record(row) for row in rows]

    def find(self, record_id: str) -> Record | None:
        found = self.select("id = ?", (record_id,))
        return found[0] if found else None

    def get(self, record_id: str) -> Record:
        record = self.find(record_id)
        if record is None:
            raise ConfigError(f"no memory record {record_id!r}")
        return record

    def history(self, record_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT at, event, detail FROM memory_history WHERE record_id = ? ORDER BY seq",
            (record_id,),
        )
        return [
            {"at": r["at"], "event": r["event"], "detail": json.loads(r["detail"])} for r in rows
        ]

    def twin(self, record: Record, threshold: float) -> Record | None:
        """The active record that ``record`` restates, if any (see ``MemoryStore.add``)."""
        same = self.select(
            "kind = ? AND status = 'active' AND name = ? AND polarity IS ?",
            (record.kind, record.name, record.polarity),
        )
        if record.kind == "skill":
            return same[0] if same else None
        scored = [(similarity(record.text, r.text), r) for r in same]
        best = max(scored, key=lambda s: s[0], default=None)
        return best[1] if best is not None and best[0] >= threshold else None

    # -- writes (inside a transaction) ---------------------------------------------
    def write(self, record_id: str, **columns: Any) -> None:
        sets = ", ".join(f"{c} = ?" for c in columns)
        values = [json.dumps(v) if c in _JSON else v for c, v in columns.items()]
        self.db.execute(f"UPDATE memory_records SET {sets} WHERE id = ?", (*values, record_id))

    def log(self, record_id: str, event: str, detail: dict[str, Any], at: float) -> None:
        self.db.execute(
            "INSERT INTO memory_history(record_id, at, event, detail) VALUES (?, ?, ?, ?)",
            (record_id, at, event, json.dumps(detail)),
        )

    def merge(self, old: Record, new: Record, now: float) -> Record:
        """Union ``new``'s evidence and tags into ``old``; log what was added."""
        added: dict[str, Any] = {}
        for name in ("supporting", "contradicting", "tags"):
            fresh = [x for x in getattr(new, name) if x not in getattr(old, name)]
            if fresh:
                added[name] = fresh
        if new.text != old.text:
            added["text"] = new.text
        self.write(
            old.id,
            supporting=list(bounded(old.supporting + new.supporting)),
            contradicting=list(bounded(old.contradicting + new.contradicting)),
            tags=list(dict.fromkeys(old.tags + new.tags)),
            updated_at=now,
        )
        self.log(old.id, "merged", added, now)
        return self.get(old.id)

    def insert(
        self, record: Record, now: float, history: Iterable[dict[str, Any]] = (), **detail: Any
    ) -> Record:
        """Insert ``record``, keeping its id unless taken; its metadata gets a version.

        ``history`` (events from an export) is copied before the ``created`` event
        (``imported`` when there is history).
        """
        record_id = record.id
        while not record_id or self.find(record_id) is not None:
            record_id = f"{ID_PREFIX[record.kind]}-{secrets.token_hex(6)}"
        stored = replace(
            record,
            id=record_id,
            created_at=record.created_at or now,
            updated_at=record.updated_at or now,
            metadata={"version": 1, **record.metadata},
        )
        self.db.execute(
            f"INSERT INTO memory_records ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' * len(COLUMNS))})",
            _values(stored),
        )
        history = list(history)
        for event in history:
            self.log(record_id, event["event"], event["detail"], event["at"])
        self.log(record_id, "imported" if history else "created", detail, now)
        return self.get(record_id)
