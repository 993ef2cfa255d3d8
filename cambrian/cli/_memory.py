"""``cambrian memory list|show|export|import|prune``: inspect and curate the shared memory.

Wiring (in ``_main.py``)::

    add_memory_commands(sub)          # after the other sub-parsers
    _COMMANDS["memory"] = cmd_memory  # same (args, console) -> int signature
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._exceptions import ConfigError
from ..memory import MemoryStore, Record, default_memory_path, export_skills, import_skills
from ..memory._records import RECORD_KINDS, RECORD_STATUSES

_PREVIEW = 80


def add_memory_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``memory list|show|export|import|prune`` to the ``cambrian`` parser.

    Args:
        subparsers: The object returned by the top parser's ``add_subparsers()``.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--memory",
        type=Path,
        metavar="PATH",
        help="the memory database (default: $CAMBRIAN_MEMORY, else"
        " $XDG_DATA_HOME/cambrian/memory.db, else ~/.local/share/cambrian/memory.db)",
    )
    memory = subparsers.add_parser(
        "memory", help="inspect and curate the memory shared by runs (insights, skills, prompts)"
    )
    sub = memory.add_subparsers(dest="memory_command", required=True)

    ls = sub.add_parser("list", parents=[common], help="records as a table, best utility first")
    ls.add_argument("--kind", choices=RECORD_KINDS)
    ls.add_argument(
        "--status", choices=(*RECORD_STATUSES, "all"), default="active", help="default: active"
    )
    ls.add_argument("--tag", action="append", default=[], help="only records with this tag")

    show = sub.add_parser("show", parents=[common], help="one record: evidence and history")
    show.add_argument("id")

    for verb, what in (("export", "write"), ("import", "read")):
        p = sub.add_parser(
            verb,
            parents=[common],
            help=f"{what} records as JSON lines (with history), or skills as SKILL.md folders",
        )
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("file", nargs="?", type=Path, help="a .jsonl file")
        where.add_argument("--skills", type=Path, metavar="DIR", help="agentskills.io folders")

    prune = sub.add_parser(
        "prune", parents=[common], help="archive (never delete) records that stopped helping"
    )
    prune.add_argument("--below", type=float, default=0.3, help="utility threshold (0.3)")
    prune.add_argument("--min-trials", type=int, default=5, help="trials before judging (5)")
    prune.add_argument(
        "--unused-days", type=float, metavar="N", help="also archive records unused for N days"
    )
    prune.add_argument("--dry-run", action="store_true", help="only show what would go")


def cmd_memory(args: argparse.Namespace, console: Console) -> int:
    """Run ``cambrian memory <list|show|export|import|prune>``.

    Raises:
        ConfigError: Bad input: a missing file or database, an unknown id, a malformed
            line or SKILL.md.
    """
    path: Path = args.memory or default_memory_path()
    command = args.memory_command
    if command == "list" and not path.exists():
        console.print(f"memory {escape(str(path))}: empty (no database yet)")
        return 0
    if command in ("show", "export") and not path.exists():
        raise ConfigError(f"no memory database at {str(path)!r}")
    with MemoryStore(path) as store:
        if command == "list":
            return _list(store, args, console)
        if command == "show":
            return _show(store, args.id, console)
        if command == "export":
            return _export(store, args, console)
        if command == "import":
            return _import(store, args, console)
        return _prune(store, args, console)


def _label(record: Record) -> str:
    if record.kind == "insight":
        return str(record.polarity)
    return record.name


def _text(record: Record) -> str:
    if record.kind != "program":
        return record.text
    # A program's text is its block bodies: lead with what it scored, and where.
    body = "\n".join(line for line in record.text.splitlines() if not line.startswith("# "))
    score = record.metadata.get("score")
    where = record.supporting[-1] if record.supporting else "?"
    head = f"score {score:.6g}" if isinstance(score, int | float) else "score ?"
    return f"{head} ({where}): {body}"


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _PREVIEW else flat[: _PREVIEW - 1] + "…"


def _table(records: list[Record], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("kind")
    table.add_column("status")
    table.add_column("utility", justify="right")
    table.add_column("trials", justify="right")
    table.add_column("polarity/name")
    table.add_column("text")
    for r in records:
        table.add_row(
            r.id,
            r.kind,
            r.status,
            f"{r.utility:.2f}",
            str(r.trials),
            escape(_label(r)),
            escape(_preview(_text(r))),
        )
    return table


def _list(store: MemoryStore, args: argparse.Namespace, console: Console) -> int:
    status = None if args.status == "all" else args.status
    records = store.list(kind=args.kind, status=status, tags=args.tag or None)
    console.print(_table(records, f"{len(records)} records in {escape(str(store.path))}"))
    return 0


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _show(store: MemoryStore, record_id: str, console: Console) -> int:
    r = store.get(record_id)
    rows = [
        ("id", r.id),
        ("kind", r.kind),
        ("status", r.status),
        ("name", r.name),
        ("polarity", r.polarity or ""),
        ("tags", ", ".join(r.tags)),
        ("utility", f"{r.utility:.3f} ({r.successes} successes / {r.trials} trials)"),
        ("created", _when(r.created_at)),
        ("updated", _when(r.updated_at)),
        ("last used", _when(r.last_used_at)),
        # A program's blocks are its text, shown below.
        ("metadata", json.dumps({k: v for k, v in r.metadata.items() if k != "blocks"})),
    ]
    for key, value in rows:
        if value:
            console.print(f"[bold]{key:>12}[/]  {escape(value)}")
    if r.description:
        console.print(f"[bold]{'description':>12}[/]  {escape(r.description)}")
    console.print(f"\n{escape(r.text)}\n")
    for label, refs in (("supporting", r.supporting), ("contradicting", r.contradicting)):
        console.print(f"[bold]{label}[/] ({len(refs)}): {escape(', '.join(refs)) or '-'}")
    console.print("[bold]history[/]")
    for event in store.history(r.id):
        detail = json.dumps(event["detail"], ensure_ascii=False)
        console.print(f"  {_when(event['at'])}  {escape(event['event'])}  {escape(detail)}")
    return 0


def _export(store: MemoryStore, args: argparse.Namespace, console: Console) -> int:
    if args.skills is not None:
        paths = export_skills(store, args.skills)
        console.print(f"{len(paths)} skills written to {escape(str(args.skills))}")
        return 0
    try:
        with args.file.open("w", encoding="utf-8") as fh:
            count = store.export_jsonl(fh)
    except OSError as exc:
        raise ConfigError(f"cannot write {str(args.file)!r}: {exc.strerror}") from exc
    console.print(f"{count} records written to {escape(str(args.file))}")
    return 0


def _import(store: MemoryStore, args: argparse.Namespace, console: Console) -> int:
    if args.skills is not None:
        added, merged = import_skills(store, args.skills)
        source = str(args.skills)
    else:
        try:
            with args.file.open(encoding="utf-8") as fh:
                added, merged = store.import_jsonl(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read {str(args.file)!r}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"{str(args.file)!r} is not UTF-8 text") from None
        source = str(args.file)
    console.print(f"imported from {escape(source)}: {added} added, {merged} merged")
    return 0


def _prune(store: MemoryStore, args: argparse.Namespace, console: Console) -> int:
    pruned = store.prune(
        below=args.below,
        min_trials=args.min_trials,
        unused_days=args.unused_days,
        dry_run=args.dry_run,
    )
    verb = "would archive" if args.dry_run else "archived"
    if pruned:
        console.print(_table(pruned, f"{verb} {len(pruned)} records"))
    else:
        console.print(f"{verb} 0 records")
    return 0
