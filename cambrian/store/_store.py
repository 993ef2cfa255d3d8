"""RunStore: the run directory's SQLite database, one row per candidate.

Every candidate is written ``queued`` before it is evaluated, moves to ``running``
with a lease, and ends ``done`` or ``failed`` in a single transaction that also gives
it a ``finish_seq``. A ``kill -9`` at any moment therefore leaves either the old
state or the new one, never half of each; resuming requeues ``running`` rows whose
owner is gone and re-evaluates them, so a finished evaluation is never lost and
never recorded twice.

The orchestrator holds an exclusive ``flock`` on ``RUN_DIR/lock`` while it drives
the run; when a new orchestrator can take that lock, the previous one is dead and
its leases are void.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import RunLockedError, RunStoreError
from ..archive import Program
from ..evaluate import EvalResult
from ..models._calls import CALLS_SCHEMA
from ._schema import SCHEMA, SCHEMA_VERSION

DB_NAME = "run.db"
LOCK_NAME = "lock"


_TRANSIENT_SQLITE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR")
_TRANSIENT_ERRNO = (errno.ENOSPC, errno.EDQUOT)


def is_transient(exc: BaseException) -> bool:
    """A database or disk condition worth pausing for: busy/locked, disk full, I/O error."""
    if isinstance(exc, sqlite3.OperationalError):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name.startswith(_TRANSIENT_SQLITE)
    return isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNO


def _text(value: str | None) -> str | None:
    """Text as SQLite can store it: lone surrogates (which candidates can print) become U+FFFD."""
    if value is None:
        return None
    return value.encode("utf-8", "replace").decode("utf-8")


def code_hash(files: dict[str, str]) -> str:
    """Stable hash of an artifact (paths and contents)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class NewCandidate:
    """What a proposer hands the store: a candidate and its lineage."""

    files: dict[str, str]
    operator: str
    parent_id: int | None
    island: int
    generation: int
    sample: int | None
    model: str | None = None
    inspiration_ids: tuple[int, ...] = ()
    edit_format: str | None = None
    fuzz: tuple[str, ...] = ()
    change: str = ""
    reply: str | None = None
    propose_time: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    advice: tuple[str, str | None] | None = None
    """What memory added to the prompt: (lessons text, system-prompt preamble)."""


class RunStore:
    """The run database of one run directory.

    Args:
        run_dir: The run directory (created if missing).
        lock: Take the orchestrator lock; read-only tools (status, export) pass False.
        busy_timeout_s: How long one statement waits for another connection's lock.

    Raises:
        RunLockedError: Another live orchestrator holds the lock.
        RunStoreError: The database cannot be created or opened.
    """

    def __init__(self, run_dir: Path, *, lock: bool = True, busy_timeout_s: float = 2.0) -> None:
        self.run_dir = Path(run_dir)
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._lock_fd: int | None = None
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(
                f"cannot create run directory {str(self.run_dir)!r}: {exc}"
            ) from exc
        if lock:
            self._take_lock()
        try:
            # A short busy timeout: the engine pauses and retries on SQLITE_BUSY itself,
            # without blocking its event loop for long.
            self.db = sqlite3.connect(
                self.run_dir / DB_NAME, timeout=busy_timeout_s, isolation_level=None
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a crash of this process (WAL is fsynced at
            # checkpoints; committed transactions survive kill -9), only an OS crash
            # can lose the last transactions.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA + CALLS_SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise RunStoreError(
                f"cannot open run database in {str(self.run_dir)!r}: {exc}"
            ) from exc
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise RunStoreError(
                f"run database schema {version!r} is not supported (expected {SCHEMA_VERSION})"
            )

    # -- lifecycle ---------------------------------------------------------------
    def _take_lock(self) -> None:
        fd = os.open(self.run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(
                f"run directory {str(self.run_dir)!r} is being driven by another cambrian process"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def close(self) -> None:
        """Close the database and release the lock."""
        with contextlib.suppress(AttributeError, sqlite3.Error):
            self.db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta --------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    # -- writes ------------------------------------------------------------------
    def add_candidate(self, cand: NewCandidate, *, seen: Iterable[str] = ()) -> int:
        """Insert a candidate as ``queued``; returns its id.

        ``seen`` names the memory records its prompt showed (recorded atomically with it).
        """
        seen = tuple(seen)
        if (seen or cand.advice) and not self.db.in_transaction:
            with self.transaction():
                return self.add_candidate(cand, seen=seen)
        cur = self.db.execute(
            "INSERT INTO programs (status, files, code_hash, parent_id, inspiration_ids, operator,"
            " model, island, generation, sample, edit_format, fuzz, change, reply, created_at,"
            " propose_time, prompt_tokens, completion_tokens, cost)"
            " VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                json.dumps(cand.files),
                code_hash(cand.files),
                cand.parent_id,
                json.dumps(list(cand.inspiration_ids)),
                cand.operator,
                cand.model,
                cand.island,
                cand.generation,
                cand.sample,
                cand.edit_format,
                json.dumps(list(cand.fuzz)),
                _text(cand.change),
                _text(cand.reply),
                time.time(),
                cand.propose_time,
                cand.prompt_tokens,
                cand.completion_tokens,
                cand.cost,
            ),
        )
        assert cur.lastrowid is not None
        if cand.advice is not None and cand.sample is not None:
            self.db.execute(
                "INSERT OR REPLACE INTO advice(sample, text, preamble) VALUES (?, ?, ?)",
                (cand.sample, cand.advice[0], cand.advice[1]),
            )
        if seen:
            self.db.executemany(
                "INSERT OR IGNORE INTO memory_seen(program_id, record_id) VALUES (?, ?)",
                [(cur.lastrowid, rid) for rid in seen],
            )
        return cur.lastrowid

    def add_failed(
        self, cand: NewCandidate, failure: str, error: str, *, seen: Iterable[str] = ()
    ) -> int:
        """Record a candidate that failed before evaluation (edit error, duplicate…)."""
        with self.transaction():
            pid = self.add_candidate(cand, seen=seen)
            self._finish(pid, "failed", failure=failure, error=error)
        return pid

    def start(self, pid: int, lease_s: float) -> None:
        """queued → running, with a lease owned by this orchestrator."""
        now = time.time()
        cur = self.db.execute(
            "UPDATE programs SET status = 'running', lease_owner = ?, lease_expires = ?,"
            " started_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'queued'",
            (self.owner, now + lease_s, now, pid),
        )
        if cur.rowcount != 1:
            raise RunStoreError(f"program {pid} is not queued")

    def requeue(self, pid: int) -> None:
        """running → queued (an evaluation interrupted by a stop)."""
        self.db.execute(
            "UPDATE programs SET status = 'queued', lease_owner = NULL, lease_expires = NULL,"
            " attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'running'",
            (pid,),
        )

    def finish(self, pid: int, result: EvalResult) -> None:
        """running → done | failed, with the validated result."""
        with self.transaction():
            self._finish(
                pid,
                "done" if result.ok else "failed",
                score=result.combined_score,
                correct=result.ok and result.correct,
                metrics=result.metrics,
                feedback=result.feedback,
                artifacts=result.artifacts,
                failure=result.failure,
                error=result.error,
                stdout=result.stdout,
                stderr=result.stderr,
                eval_time=result.wall_time,
            )

    def _finish(self, pid: int, status: str, **fields: Any) -> None:
        seq = self.db.execute("SELECT COALESCE(MAX(finish_seq), 0) + 1 FROM programs").fetchone()[0]
        for key in ("metrics", "artifacts"):
            if key in fields:
                fields[key] = json.dumps(fields[key])
        if "correct" in fields:
            fields["correct"] = int(bool(fields["correct"]))
        for key, value in fields.items():
            if isinstance(value, str):
                fields[key] = _text(value)
        columns = ", ".join(f"{k} = ?" for k in fields)
        sep = ", " if columns else ""
        cur = self.db.execute(
            f"UPDATE programs SET status = ?, finish_seq = ?, finished_at = ?,"
            f" lease_owner = NULL, lease_expires = NULL{sep}{columns}"
            f" WHERE id = ? AND status IN ('queued', 'running')",
            (status, seq, time.time(), *fields.values(), pid),
        )
        if cur.rowcount != 1:
            raise RunStoreError(f"program {pid} was already finished")

    def recover(self, max_attempts: int) -> tuple[int, int]:
        """Requeue ``running`` rows left by a dead orchestrator.

        A row that has already been started ``max_attempts`` times is marked failed
        with kind ``poison`` instead, so a candidate that kills its orchestrator
        cannot loop forever. Returns (requeued, poisoned).
        """
        with self.transaction():
            stale = self.db.execute(
                "SELECT id, attempts FROM programs WHERE status = 'running'"
            ).fetchall()
            poisoned = [r["id"] for r in stale if r["attempts"] >= max_attempts]
            for pid in poisoned:
                self._finish(
                    pid,
                    "failed",
                    failure="poison",
                    error=f"evaluation was interrupted {max_attempts} times; giving up",
                )
            self.db.execute(
                "UPDATE programs SET status = 'queued', lease_owner = NULL, lease_expires = NULL"
                " WHERE status = 'running'"
            )
        return len(stale) - len(poisoned), len(poisoned)

    # -- reads -------------------------------------------------------------------
    def queued_ids(self) -> list[int]:
        rows = self.db.execute("SELECT id FROM programs WHERE status = 'queued' ORDER BY id")
        return [r["id"] for r in rows]

    def has_hash(self, digest: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM programs WHERE code_hash = ? AND status != 'failed' LIMIT 1", (digest,)
        ).fetchone()
        return row is not None

    def count(self, where: str = "1", params: tuple[Any, ...] = ()) -> int:
        return int(
            self.db.execute(f"SELECT COUNT(*) FROM programs WHERE {where}", params).fetchone()[0]
        )

    def samples(self) -> int:
        """Proposals recorded so far (the seed excluded)."""
        return self.count("sample IS NOT NULL")

    def next_sample(self) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(sample), -1) + 1 FROM programs").fetchone()
        return int(row[0])

    def totals(self) -> dict[str, float]:
        """Tokens and dollars of every model call: proposals and other spend."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
            " COALESCE(SUM(cost), 0) AS cost FROM"
            " (SELECT prompt_tokens, completion_tokens, cost FROM programs"
            "  UNION ALL SELECT prompt_tokens, completion_tokens, cost FROM spend)"
        ).fetchone()
        return dict(row)

    def add_spend(
        self,
        purpose: str,
        model: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
    ) -> None:
        """Record a model call that made no candidate (e.g. memory distillation)."""
        self.db.execute(
            "INSERT INTO spend(at, purpose, model, prompt_tokens, completion_tokens, cost)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), purpose, model, prompt_tokens, completion_tokens, cost),
        )

    def unsettled_finished(self) -> list[int]:
        """Finished programs whose outcome has not yet been credited to memory."""
        rows = self.db.execute(
            "SELECT DISTINCT s.program_id FROM memory_seen s JOIN programs p"
            " ON p.id = s.program_id WHERE s.settled = 0 AND p.status IN ('done', 'failed')"
            " ORDER BY p.finish_seq"
        )
        return [r[0] for r in rows]

    def unsettled_seen(self, pid: int) -> list[str]:
        """The records shown to ``pid`` whose utility its outcome has not updated yet."""
        rows = self.db.execute(
            "SELECT record_id FROM memory_seen WHERE program_id = ? AND settled = 0"
            " ORDER BY record_id",
            (pid,),
        )
        return [r[0] for r in rows]

    def settle_seen(self, pid: int) -> None:
        self.db.execute("UPDATE memory_seen SET settled = 1 WHERE program_id = ?", (pid,))

    def finished_programs(self) -> Iterator[Program]:
        """Finished programs in the order their results were committed."""
        rows = self.db.execute(
            "SELECT * FROM programs WHERE status IN ('done', 'failed') ORDER BY finish_seq"
        )
        for row in rows:
            yield row_to_program(row)

    def program(self, pid: int) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM programs WHERE id = ?", (pid,)).fetchone()

    def rows(self) -> Iterator[sqlite3.Row]:
        yield from self.db.execute("SELECT * FROM programs ORDER BY id")

    def first_sample_reaching(self, score: float) -> int | None:
        """Proposals made until a correct program first scored ``score`` or more.

        0 when one evaluated before any proposal (the seed, a recalled program) did;
        None when none did.
        """
        row = self.db.execute(
            "SELECT MIN(COALESCE(sample + 1, 0)) FROM programs"
            " WHERE status = 'done' AND correct = 1 AND score >= ?",
            (score,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def best_row(self) -> sqlite3.Row | None:
        return self.db.execute(
            "SELECT * FROM programs WHERE status = 'done' AND correct = 1"
            " ORDER BY score DESC, id ASC LIMIT 1"
        ).fetchone()


@contextlib.contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield db
    finally:
        db.close()


def recorded_advice(db_path: Path) -> dict[int, tuple[str, str | None]]:
    """Every proposal's memory advice in a recorded run, by sample (read-only)."""
    with _read_only(db_path) as db:
        try:
            rows = db.execute("SELECT sample, text, preamble FROM advice").fetchall()
        except sqlite3.OperationalError:  # recorded before advice was kept
            rows = []
    return {int(r[0]): (r[1], r[2]) for r in rows}


def recorded_recalls(db_path: Path) -> list[dict[str, str]]:
    """The files of the programs a recorded run recalled from memory, in order (read-only)."""
    with _read_only(db_path) as db:
        rows = db.execute("SELECT files FROM programs WHERE operator = 'recall' ORDER BY id")
        return [json.loads(r[0]) for r in rows]


def row_to_program(row: sqlite3.Row) -> Program:
    """Build the archive's view of a finished row."""
    return Program(
        id=row["id"],
        files=json.loads(row["files"]),
        score=row["score"] if row["status"] == "done" else None,
        correct=bool(row["correct"]) and row["status"] == "done",
        parent_id=row["parent_id"],
        island=row["island"],
        generation=row["generation"],
        operator=row["operator"],
        metrics=json.loads(row["metrics"] or "{}"),
        feedback=row["feedback"] or "",
        failure=row["failure"],
        error=row["error"] or "",
        inspiration_ids=tuple(json.loads(row["inspiration_ids"])),
    )
