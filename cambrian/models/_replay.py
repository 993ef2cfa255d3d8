"""Record a run's model calls, and replay them without the model.

:class:`RecordingModel` wraps any model and hands every successful call to a sink,
normally :func:`~cambrian.models._calls.record_call` on the run database.
:class:`ReplayModel` answers from such a recording: the same prompt, in the same order,
gets the same reply, so a recorded run re-runs deterministically and offline. That is
also how end-to-end tests drive the real proposer without a live model.
"""

from __future__ import annotations

import difflib
import functools
import os
import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from .._exceptions import ModelError
from ._calls import (
    RecordedCall,
    call_count,
    ensure_calls_table,
    find_reply,
    prompt_hash,
    record_call,
    recorded_calls,
)
from ._types import Completion, GenerateConfig, Message, Model

# The run database's file name; kept literal so this module does not import the store
# package (and through it the archive and evaluator) just to find one file.
_DB_NAME = "run.db"


class RecordSink(Protocol):
    """Receives each successful call; ``record_call`` bound to a connection is one."""

    def __call__(
        self, messages: list[Message], config: GenerateConfig | None, completion: Completion
    ) -> object: ...


def _db_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path / _DB_NAME if path.is_dir() else path


class RecordingModel:
    """A model that records every successful call of the model it wraps.

    Args:
        inner: The model that answers.
        record: Where calls go: a :class:`RecordSink` callable, an open
            :class:`sqlite3.Connection` (autocommit, like the RunStore's ``db``), or the
            path of a run directory or database file (opened here, closed by
            :meth:`aclose`). Connections and paths get a ``calls`` table if they lack one.

    A call that raises is not recorded and the exception propagates unchanged; a sink
    that raises propagates too, since a recording that silently loses calls cannot be
    replayed.
    """

    def __init__(
        self,
        inner: Model,
        record: RecordSink | sqlite3.Connection | str | os.PathLike[str],
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._owned: sqlite3.Connection | None = None
        if isinstance(record, str | os.PathLike):
            self._owned = sqlite3.connect(_db_path(record), isolation_level=None, timeout=5.0)
            record = self._owned
        if isinstance(record, sqlite3.Connection):
            ensure_calls_table(record)
            record = functools.partial(record_call, record)
        self._record: RecordSink = record

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        """Ask the inner model, record the reply, return it unchanged."""
        completion = await self.inner.generate(messages, config)
        self._record(list(messages), config, completion)
        return completion

    async def aclose(self) -> None:
        """Close the inner model (when it can be) and any database opened here."""
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __repr__(self) -> str:
        return f"RecordingModel({self.inner!r})"


class ReplayModel:
    """Answers from a recorded run instead of a model.

    Each incoming prompt is hashed with its generation settings; the n-th time a prompt
    is seen it gets the reply recorded for its n-th occurrence.

    Args:
        source: A run directory, or the path of a database with a ``calls`` table. It is
            opened read-only, so replaying never writes to the recorded run.
        strict: Raise :class:`ModelError` for a prompt that was never recorded. When
            False, such a prompt gets the next recorded reply not yet replayed, in
            recording order (useful to re-run a recording after changing a prompt).
        name: The model name; defaults to the recorded model's name, or
            ``replay/<run dir name>`` when the recording mixes several models.

    Raises:
        ModelError: ``source`` does not exist or holds no recorded calls.
    """

    def __init__(
        self, source: str | os.PathLike[str], *, strict: bool = True, name: str | None = None
    ) -> None:
        self.path = _db_path(source)
        if not self.path.is_file():
            raise ModelError(
                f"cannot replay {str(source)!r}: expected a run directory holding {_DB_NAME}"
                " or a database file"
            )
        self.strict = strict
        self._db: sqlite3.Connection | None = None
        db = self._connect()
        if not call_count(db):
            raise ModelError(
                f"cannot replay {str(self.path)!r}: it holds no recorded model calls"
                " (was the run recorded with a RecordingModel?)"
            )
        models = [r[0] for r in db.execute("SELECT DISTINCT model FROM calls ORDER BY model")]
        run_name = self.path.parent.name if self.path.name == _DB_NAME else self.path.stem
        self.name = name or (models[0] if len(models) == 1 else f"replay/{run_name}")
        self._seen: Counter[str] = Counter()
        self._replayed: set[int] = set()
        self._calls = 0

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            # mode=ro: SQLite refuses every write, so a replay cannot touch the recording.
            # check_same_thread=False: the engine may drive the model from another thread.
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            try:
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as exc:
                raise ModelError(f"cannot open recording {str(self.path)!r}: {exc}") from exc
        return self._db

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        """Return the recorded reply to this prompt.

        Raises:
            ModelError: The prompt was never recorded (strict), or every recorded reply
                has been used (not strict).
        """
        db = self._connect()
        digest = prompt_hash(messages, config)
        index = self._calls
        self._calls += 1
        hit = find_reply(db, digest, self._seen[digest])
        if hit is not None and hit.id not in self._replayed:
            self._seen[digest] += 1
            self._replayed.add(hit.id)
            return hit.completion
        if self.strict:
            raise ModelError(self._mismatch(db, messages, config, digest, index))
        for call in recorded_calls(db):
            if call.id not in self._replayed:
                self._replayed.add(call.id)
                return call.completion
        raise ModelError(
            f"replay of {str(self.path)!r} is exhausted: all {len(self._replayed)} recorded"
            f" replies were used by call #{index + 1}"
        )

    def _mismatch(
        self,
        db: sqlite3.Connection,
        messages: list[Message],
        config: GenerateConfig | None,
        digest: str,
        index: int,
    ) -> str:
        """Say why call ``index`` has no recording, and where it parts from the closest one."""
        head = f"replay of {str(self.path)!r}: call #{index + 1} (prompt {digest[:12]})"
        recorded = call_count(db, digest)
        if recorded:
            return (
                f"{head} was recorded {recorded} time(s) but is now sent a"
                f" {self._seen[digest] + 1}th time; the replayed run diverged earlier"
            )
        calls = list(recorded_calls(db))
        closest = _closest(calls, messages, index)
        return (
            f"{head} was never recorded; the run diverged from the recording. "
            f"Closest recorded prompt is call #{calls.index(closest) + 1} (id {closest.id}): "
            + _first_difference(closest, messages, config or GenerateConfig())
            + " (pass strict=False to replay recorded replies in order instead)"
        )

    async def aclose(self) -> None:
        """Close the recording; a later call reopens it."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __repr__(self) -> str:
        return f"ReplayModel({str(self.path)!r}, strict={self.strict})"


def _agreement(call: RecordedCall, messages: Sequence[Message]) -> tuple[int, int]:
    """(equal leading messages, common prefix of the first differing one)."""
    same = 0
    for old, new in zip(call.messages, messages, strict=False):
        if old != new:
            return same, _common_prefix(old.content, new.content) if old.role == new.role else 0
        same += 1
    return same, 0


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _closest(calls: list[RecordedCall], messages: Sequence[Message], index: int) -> RecordedCall:
    # Most agreement wins; ties go to the call recorded nearest this call's position,
    # which is the one a deterministic replay would have reached.
    return max(
        enumerate(calls),
        key=lambda item: (*_agreement(item[1], messages), -abs(item[0] - index)),
    )[1]


def _clip(text: str, limit: int = 160) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _first_difference(
    call: RecordedCall, messages: Sequence[Message], config: GenerateConfig
) -> str:
    """A short, human description of the first place ``messages`` leave ``call``."""
    if call.config != config:
        fields = ("temperature", "max_tokens", "seed")
        changed = [
            f"{f} {getattr(call.config, f)!r} -> {getattr(config, f)!r}"
            for f in fields
            if getattr(call.config, f) != getattr(config, f)
        ]
        config_note = "settings differ (" + ", ".join(changed) + ")"
        if call.messages == list(messages):
            return config_note + "; the messages are identical"
    else:
        config_note = ""
    prefix = config_note + "; " if config_note else ""
    for i, (old, new) in enumerate(zip(call.messages, messages, strict=False)):
        if old.role != new.role:
            return f"{prefix}message {i} was {old.role!r}, is now {new.role!r}"
        if old.content != new.content:
            return prefix + _line_diff(i, old.role, old.content, new.content)
    return (
        f"{prefix}recorded {len(call.messages)} message(s), now {len(messages)};"
        " the common ones are identical"
    )


def _line_diff(i: int, role: str, old: str, new: str) -> str:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        was = "\n".join(old_lines[a0:a1][:3]) if a1 > a0 else ""
        now = "\n".join(new_lines[b0:b1][:3]) if b1 > b0 else ""
        return (
            f"message {i} ({role}) first differs at line {a0 + 1}: "
            f"recorded {_clip(was)}, now {_clip(now)}"
        )
    # Same lines, different text: only line endings or a trailing newline changed.
    return f"message {i} ({role}) differs only in line endings or trailing whitespace"
