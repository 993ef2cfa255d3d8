"""The JSON Lines exchange format of memory: one record per line, with its history."""

from __future__ import annotations

import json
import math
from typing import IO, Any

from .._exceptions import ConfigError
from ._records import Record

History = list[dict[str, Any]]


def dump_record(record: Record, history: History) -> str:
    """One line (without newline): the record's fields, its utility and its history."""
    return json.dumps({**record.to_dict(), "history": history}, ensure_ascii=False)


def _history(value: Any) -> History:
    if not isinstance(value, list):
        raise ConfigError(f"history {value!r} must be a list of events")
    for event in value:
        ok = (
            isinstance(event, dict)
            and isinstance(event.get("event"), str)
            and isinstance(event.get("detail"), dict)
            and isinstance(event.get("at"), int | float)
            and math.isfinite(event["at"])
        )
        if not ok:
            raise ConfigError(
                f"history event {event!r} must have a number 'at', a string 'event'"
                " and an object 'detail'"
            )
    return value


def load_records(fh: IO[str]) -> list[tuple[Record, History]]:
    """Read every line of ``fh`` (blank lines skipped) before anything is written.

    Raises:
        ConfigError: A line is not JSON or not a valid record; the message names the
            file and the line.
    """
    where = getattr(fh, "name", "<input>")
    items: list[tuple[Record, History]] = []
    for number, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}, line {number}: not valid JSON ({exc.msg})") from None
        try:
            history = _history(data.pop("history", [])) if isinstance(data, dict) else []
            items.append((Record.from_dict(data), history))
        except ConfigError as exc:
            raise ConfigError(f"{where}, line {number}: {exc}") from None
    return items
