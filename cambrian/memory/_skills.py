"""Skills as agentskills.io folders: ``<name>/SKILL.md``, YAML front matter, Markdown body.

The front matter holds the format's ``name`` and ``description`` (and its optional
``license``, ``compatibility``, ``allowed-tools``); Cambrian's own data goes in the
format's ``metadata`` map, whose values are strings: ``cambrian-id``, ``version``,
``parents``, ``origin``, ``utility``, ``successes``, ``trials``, ``tags`` (lists are
comma-separated, mappings are JSON), plus ``supporting``/``contradicting`` evidence and
``status`` when not active. Any agent that reads Agent Skills can use an export, and a
skill written by hand imports as a new record.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .._exceptions import ConfigError
from ._records import Record, RecordStatus, valid_skill_name

if TYPE_CHECKING:
    from ._store import MemoryStore

SKILL_FILE = "SKILL.md"
_STANDARD = ("license", "compatibility", "allowed-tools")  # optional fields of the format
_LISTS = ("tags", "parents", "supporting", "contradicting")
_COUNTS = ("successes", "trials")


def _string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def skill_markdown(record: Record) -> str:
    """The SKILL.md text of a skill record."""
    front: dict[str, Any] = {"name": record.name, "description": record.description}
    front.update({k: record.metadata[k] for k in _STANDARD if k in record.metadata})
    meta: dict[str, str] = {"cambrian-id": record.id}
    parents = record.metadata.get("parents") or ()
    lists = {
        "tags": record.tags,
        "parents": (parents,) if isinstance(parents, str) else parents,
        "supporting": record.supporting,
        "contradicting": record.contradicting,
    }
    meta["version"] = str(record.metadata.get("version", 1))
    meta.update({k: ",".join(map(str, v)) for k, v in lists.items() if v})
    meta.update(utility=f"{record.utility:.4f}", successes=str(record.successes))
    meta["trials"] = str(record.trials)
    if record.status != "active":
        meta["status"] = record.status
    skip = {*_STANDARD, "version", "parents"}
    meta.update({k: _string(v) for k, v in record.metadata.items() if k not in skip})
    front["metadata"] = meta
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=10**6)
    return f"---\n{head}---\n\n{record.text}\n"


def _front_matter(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc}") from exc
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ConfigError(f"{str(path)!r} does not start with YAML front matter ('---')")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise ConfigError(f"{str(path)!r}: the front matter has no closing '---' line")
    try:
        front = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{str(path)!r}: the front matter is not valid YAML: {exc}") from None
    if not isinstance(front, dict):
        raise ConfigError(f"{str(path)!r}: the front matter is {front!r}, not a mapping")
    return front, "\n".join(lines[end + 1 :])


def _cambrian_fields(meta: dict[str, Any], path: Path) -> dict[str, Any]:
    """Record fields and metadata from the ``metadata`` map; the rest stays metadata."""
    meta = {str(k): v for k, v in meta.items()}
    meta.pop("utility", None)  # derived from the counts
    out: dict[str, Any] = {"id": str(meta.pop("cambrian-id", "") or "")}
    for key in _LISTS:
        value = meta.pop(key, None)
        if value:
            items = value if isinstance(value, list) else str(value).split(",")
            out[key] = [str(v).strip() for v in items if str(v).strip()]
    for key in (*_COUNTS, "version"):
        if key in meta:
            value = meta.pop(key)
            try:
                out[key] = int(value)
            except (TypeError, ValueError):
                if key != "version":
                    raise ConfigError(
                        f"{str(path)!r}: metadata {key} {value!r} is not a whole number"
                    ) from None
                meta["source-version"] = value  # another tool's version label
    if "status" in meta:
        out["status"] = meta.pop("status")
    origin = meta.get("origin")
    if isinstance(origin, str) and origin.startswith("{"):
        # A plain string that happens to start with a brace stays a string.
        with contextlib.suppress(json.JSONDecodeError):
            meta["origin"] = json.loads(origin)
    out["metadata"] = meta
    return out


def read_skill(path: Path) -> Record:
    """The skill record of one ``<name>/SKILL.md`` file.

    Raises:
        ConfigError: The file has no front matter, lacks ``name`` or ``description``,
            its name breaks the agentskills.io rule or differs from its folder's, or a
            value is invalid; the message names the file.
    """
    front, body = _front_matter(path)
    for key in ("name", "description"):
        if not isinstance(front.get(key), str) or not front[key].strip():
            raise ConfigError(f"{str(path)!r}: the front matter lacks {key!r}")
    name = front["name"].strip()
    if not valid_skill_name(name):
        raise ConfigError(
            f"{str(path)!r}: skill name {name!r} must be 1-64 lowercase letters, digits and"
            " single hyphens, not starting or ending with a hyphen"
        )
    if name != path.parent.name:
        raise ConfigError(
            f"{str(path)!r}: skill name {name!r} differs from its folder {path.parent.name!r}"
        )
    meta = front.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ConfigError(f"{str(path)!r}: metadata {meta!r} is not a mapping")
    fields = _cambrian_fields(meta, path)
    metadata = fields.pop("metadata")
    if "version" in fields:
        metadata["version"] = fields.pop("version")
    if "parents" in fields:
        metadata["parents"] = fields.pop("parents")
    extra = {k: v for k, v in front.items() if k not in ("name", "description", "metadata")}
    try:
        return Record(
            kind="skill",
            text=body,
            name=name,
            description=front["description"],
            metadata={**extra, **metadata},
            **fields,
        )
    except ConfigError as exc:
        raise ConfigError(f"{str(path)!r}: {exc}") from None


def export_skills(
    store: MemoryStore, directory: Path | str, *, status: RecordStatus = "active"
) -> list[Path]:
    """Write each skill record of ``status`` as ``directory/<name>/SKILL.md``.

    Existing SKILL.md files of the same names are replaced; nothing else is touched.

    Returns:
        The files written, sorted.

    Raises:
        ConfigError: Two records to export share a name.
    """
    directory = Path(directory)
    records = store.list(kind="skill", status=status)
    by_name: dict[str, Record] = {}
    for record in records:
        if record.name in by_name:
            raise ConfigError(
                f"skills {by_name[record.name].id!r} and {record.id!r} are both named"
                f" {record.name!r}; export one status at a time"
            )
        by_name[record.name] = record
    paths: list[Path] = []
    for name, record in sorted(by_name.items()):
        target = directory / name / SKILL_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{SKILL_FILE}.{os.getpid()}.tmp")
        partial.write_text(skill_markdown(record), encoding="utf-8")
        partial.replace(target)
        paths.append(target)
    return paths


def import_skills(
    store: MemoryStore, directory: Path | str, *, merge_threshold: float = 0.6
) -> tuple[int, int]:
    """Read every ``directory/*/SKILL.md`` into the store, through :meth:`MemoryStore.add`.

    Every file is read and checked before any is written; then all are added in one
    transaction. A skill named like an active one merges into it.

    Returns:
        (skills added, skills merged).

    Raises:
        ConfigError: ``directory`` does not exist, or a file is malformed (named).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"skills directory {str(directory)!r} does not exist")
    records = [read_skill(path) for path in sorted(directory.glob(f"*/{SKILL_FILE}"))]
    results = store.add_many(records, merge_threshold=merge_threshold)
    added = sum(created for _, created in results)
    return added, len(results) - added
