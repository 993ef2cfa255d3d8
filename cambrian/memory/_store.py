"""MemoryStore: the memory that outlives runs, in one SQLite file.

Records are never deleted: they are merged, superseded or archived, and every change
is logged in ``memory_history``. Several processes may use one file at once; each
write is a single transaction (see ``_db.py``).
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from .._exceptions import ConfigError
from ._db import COLUMNS, Tables, kinds_of
from ._jsonl import dump_record, load_records
from ._records import RECORD_STATUSES, Record, RecordKind, RecordStatus, bounded
from ._text import rank

_DEFAULT_PROMPT = "default"  # the built-in system prompt: never archived by its utility


def default_memory_path() -> Path:
    """Where the memory shared by runs lives.

    Returns:
        ``$CAMBRIAN_MEMORY`` if set, else ``$XDG_DATA_HOME/cambrian/memory.db``, else
        ``~/.local/share/cambrian/memory.db``.
    """
    if os.environ.get("CAMBRIAN_MEMORY"):
        return Path(os.environ["CAMBRIAN_MEMORY"]).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "cambrian" / "memory.db"


def _archivable(r: Record) -> bool:
    return r.status == "active" and not (r.kind == "prompt" and r.name == _DEFAULT_PROMPT)


class MemoryStore:
    """Memory records in one SQLite file; every method returns fresh :class:`Record` copies.

    Args:
        path: The database file (parent directories are created). Another SQLite
            file, such as a run's database, works too: the tables are ``memory_*``.
        busy_timeout_s: How long a write waits for another process's transaction.

    Raises:
        ConfigError: The file cannot be created or opened, or has another schema.
    """

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._t = Tables(self.path, busy_timeout_s)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._t.close()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------
    def get(self, record_id: str) -> Record:
        """The record with this id.

        Raises:
            ConfigError: There is none.
        """
        return self._t.get(record_id)

    def list(
        self,
        kind: RecordKind | None = None,
        status: RecordStatus | None = None,
        tags: Iterable[str] | None = None,
    ) -> builtins.list[Record]:
        """Records of a kind and a status, sharing a tag with ``tags``; None means any.

        An empty ``tags`` does not filter either.

        Returns:
            Records by utility, best first, then most recently updated.

        Raises:
            ConfigError: Unknown kind or status.
        """
        kinds = kinds_of(kind)
        where, params = [f"kind IN ({','.join('?' * len(kinds))})"], [*kinds]
        if status is not None:
            if status not in RECORD_STATUSES:
                raise ConfigError(f"record status {status!r} is not one of {list(RECORD_STATUSES)}")
            where.append("status = ?")
            params.append(status)
        records = self._t.select(" AND ".join(where), params)
        wanted = {t.strip().lower() for t in tags or ()} - {""}
        return [r for r in records if wanted & set(r.tags)] if wanted else records

    def search(
        self,
        query: str,
        *,
        kind: RecordKind | tuple[RecordKind, ...] | None = None,
        tags: Iterable[str] = (),
        k: int = 5,
    ) -> builtins.list[tuple[Record, float]]:
        """Active records of ``kind`` ranked for ``query`` (lexical BM25, no model).

        BM25 runs over each record's name, description, text and tags. A record sharing
        ``n`` tags with ``tags`` has its score multiplied by ``1 + 0.5 n``; a tagged
        record sharing none (another task's lesson) by 0.5; untagged records keep
        theirs. Ties go to the higher utility. When fewer than ``k`` records match the
        query, the best-utility records sharing a tag fill the list with score 0.0, so
        a new run of a task still gets that task's lessons.

        Returns:
            Up to ``k`` (record, score) pairs, best first.

        Raises:
            ConfigError: Unknown kind.
        """
        kinds = kinds_of(kind)
        records = self._t.select(
            f"status = 'active' AND kind IN ({','.join('?' * len(kinds))})", kinds
        )
        return rank(records, query, tags=tags, k=k)

    def history(self, record_id: str) -> builtins.list[dict[str, Any]]:
        """The record's events, oldest first, as ``{"at", "event", "detail"}`` dicts.

        Raises:
            ConfigError: There is no such record.
        """
        self._t.get(record_id)
        return self._t.history(record_id)

    # -- writes --------------------------------------------------------------------
    def _add(self, record: Record, threshold: float, now: float) -> tuple[Record, bool]:
        record = replace(record)  # normalised and validated again, in case it was edited
        twin = self._t.twin(record, threshold) if record.status == "active" else None
        if twin is not None:
            return self._t.merge(twin, record, now), False
        return self._t.insert(record, now), True

    def add(self, record: Record, *, merge_threshold: float = 0.6) -> tuple[Record, bool]:
        """Write a record, or merge it into the active twin it restates.

        A twin is an active record of the same kind and name (and polarity, for an
        insight) whose text has :func:`similarity` ≥ ``merge_threshold`` with this one;
        for a skill the same name is enough. Merging unions the evidence (the newest
        ``MAX_EVIDENCE`` kept) and the tags, and keeps the twin's text. A new record
        keeps ``record.id`` when no record has it, else gets a fresh one.

        Returns:
            (the stored record, True) when inserted; (the updated twin, False) when merged.

        Raises:
            ConfigError: The record is invalid.
        """
        with self._t.transaction():
            return self._add(record, merge_threshold, time.time())

    def add_many(
        self, records: Iterable[Record], *, merge_threshold: float = 0.6
    ) -> builtins.list[tuple[Record, bool]]:
        """:meth:`add` for several records in one transaction: all are written or none."""
        with self._t.transaction():
            now = time.time()
            return [self._add(r, merge_threshold, now) for r in records]

    def update(self, record: Record) -> Record:
        """Write a changed record back (every field but id, kind and created_at).

        Raises:
            ConfigError: The record is invalid, unknown, or changes its kind.
        """
        record = replace(record)  # normalised and validated again
        with self._t.transaction():
            old = self._t.get(record.id)
            if record.kind != old.kind:
                raise ConfigError(f"record {record.id!r} is a {old.kind}, not a {record.kind}")
            new, before = record.to_dict(), old.to_dict()
            fixed = {"id", "kind", "created_at", "updated_at", "utility"}
            changed = {c: new[c] for c in COLUMNS if c not in fixed and new[c] != before[c]}
            if changed:
                now = time.time()
                self._t.write(record.id, **changed, updated_at=now)
                self._t.log(record.id, "updated", {c: before[c] for c in changed}, now)
            return self._t.get(record.id)

    def set_status(self, record_id: str, status: RecordStatus, why: str = "") -> Record:
        """Move a record to ``status``; the history event is named after the status.

        Raises:
            ConfigError: Unknown record or status.
        """
        if status not in RECORD_STATUSES:
            raise ConfigError(f"record status {status!r} is not one of {list(RECORD_STATUSES)}")
        with self._t.transaction():
            old = self._t.get(record_id)
            now = time.time()
            self._t.write(record_id, status=status, updated_at=now)
            self._t.log(record_id, status, {"from": old.status, "why": why}, now)
            return self._t.get(record_id)

    def supersede(self, old_id: str, new: Record) -> Record:
        """Replace a record by a new version: the old one becomes ``superseded``.

        The new record's metadata gets ``parents = [old_id]`` and ``version`` = the old
        version + 1; it is inserted as is, never merged.

        Raises:
            ConfigError: ``old_id`` is unknown, already superseded, or of another kind.
        """
        new = replace(new)  # normalised and validated again
        with self._t.transaction():
            old = self._t.get(old_id)
            if old.kind != new.kind:
                raise ConfigError(f"a {new.kind} cannot supersede {old_id!r}, a {old.kind}")
            if old.status == "superseded":
                raise ConfigError(f"memory record {old_id!r} is already superseded")
            now = time.time()
            version = int(old.metadata.get("version", 1)) + 1
            metadata = {**new.metadata, "parents": [old_id], "version": version}
            stored = self._t.insert(replace(new, metadata=metadata), now, supersedes=old_id)
            self._t.write(old_id, status="superseded", updated_at=now)
            self._t.log(old_id, "superseded", {"from": old.status, "by": stored.id}, now)
            return stored

    def mark_used(self, ids: Iterable[str]) -> None:
        """Note that the records were shown to a model now (``last_used_at``)."""
        with self._t.transaction():
            now = time.time()
            self._t.db.executemany(
                "UPDATE memory_records SET last_used_at = ? WHERE id = ?",
                [(now, i) for i in dict.fromkeys(ids)],
            )

    def record_outcome(
        self,
        ids: Iterable[str],
        success: bool,
        *,
        ref: str | None = None,
        archive_below: float = 0.3,
        min_trials: int = 5,
    ) -> builtins.list[str]:
        """Count one trial of each record, a success or not, in one transaction.

        Args:
            ids: The records a prompt showed (each counts once).
            success: Whether the candidate improved on its parent.
            ref: The candidate's program reference, added to the records'
                ``supporting`` evidence on success and ``contradicting`` on failure.
            archive_below: A record whose utility falls below this is archived…
            min_trials: …once it has this many trials (the built-in ``default`` prompt
                never is).

        Returns:
            The ids archived by this outcome.

        Raises:
            ConfigError: An id is unknown (nothing is written).
        """
        archived: builtins.list[str] = []
        with self._t.transaction():
            now = time.time()
            for record_id in dict.fromkeys(ids):
                r = self._t.get(record_id)
                r.trials += 1
                r.successes += bool(success)
                evidence = "supporting" if success else "contradicting"
                columns: dict[str, Any] = {"trials": r.trials, "successes": r.successes}
                if ref is not None:
                    columns[evidence] = builtins.list(bounded((*getattr(r, evidence), ref)))
                self._t.write(record_id, **columns, updated_at=now)
                self._t.log(record_id, "outcome", {"success": bool(success), "ref": ref}, now)
                if _archivable(r) and r.trials >= min_trials and r.utility < archive_below:
                    self._archive(
                        r, f"utility {r.utility:.3f} < {archive_below} after {r.trials} trials", now
                    )
                    archived.append(record_id)
        return archived

    def _archive(self, record: Record, why: str, now: float) -> None:
        self._t.write(record.id, status="archived", updated_at=now)
        self._t.log(record.id, "archived", {"from": record.status, "why": why}, now)

    def prune(
        self,
        *,
        below: float = 0.3,
        min_trials: int = 5,
        unused_days: float | None = None,
        dry_run: bool = False,
    ) -> builtins.list[Record]:
        """Archive (never delete) active records that failed or went unused.

        Args:
            below: Archive records whose utility is below this…
            min_trials: …once they have this many trials.
            unused_days: Also archive records not shown for this many days (counted
                from their creation when never shown).
            dry_run: Only report what would be archived.

        Returns:
            The records archived (or that would be), as stored afterwards.
        """
        with self._t.transaction():
            now = time.time()
            out: builtins.list[Record] = []
            for r in self._t.select("status = 'active'"):
                if not _archivable(r):
                    continue
                why = ""
                if r.trials >= min_trials and r.utility < below:
                    why = f"utility {r.utility:.3f} < {below} after {r.trials} trials"
                idle_days = (now - (r.last_used_at or r.created_at)) / 86400
                if unused_days is not None and idle_days > unused_days:
                    why = why or f"unused for {idle_days:.1f} days (limit {unused_days:g})"
                if why and not dry_run:
                    self._archive(r, why, now)
                    r = self._t.get(r.id)
                if why:
                    out.append(r)
            return out

    # -- exchange ------------------------------------------------------------------
    def export_jsonl(self, fh: IO[str]) -> int:
        """Write every record, with its history, as one JSON object per line.

        Returns:
            The number of records written.
        """
        with self._t.transaction():
            records = self._t.select()
            lines = [dump_record(r, self._t.history(r.id)) for r in records]
        fh.writelines(line + "\n" for line in lines)
        return len(lines)

    def import_jsonl(self, fh: IO[str], *, merge_threshold: float = 0.6) -> tuple[int, int]:
        """Read records written by :meth:`export_jsonl`, all in one transaction.

        A record whose id is already here (same kind) merges into it; an active one
        that restates an active record merges like :meth:`add`; anything else is
        inserted with its id (a fresh one on a collision), counts and history.

        Returns:
            (records added, records merged).

        Raises:
            ConfigError: A line is not a valid record (its number is named); nothing is
                written then.
        """
        items = load_records(fh)
        added = merged = 0
        with self._t.transaction():
            now = time.time()
            for record, history in items:
                same = self._t.find(record.id) if record.id else None
                twin = same if same is not None and same.kind == record.kind else None
                if twin is None and record.status == "active":
                    twin = self._t.twin(record, merge_threshold)
                if twin is not None:
                    self._t.merge(twin, record, now)
                    merged += 1
                else:
                    self._t.insert(record, now, history)
                    added += 1
        return added, merged
