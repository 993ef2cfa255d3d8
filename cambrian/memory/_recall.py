"""Recall: the best verified programs of earlier runs of a task start the next run.

A run that ends better than its seed leaves its best program in memory as a record
of kind ``program``: the bodies of its EVOLVE-BLOCKs (``metadata["blocks"]``), the
score it was verified at, and where it came from. A new run of the same task (same
name) takes the best few back, writes their block bodies into *its own* seed, and
evaluates them again in its own sandbox before anything trusts them, so an edited
evaluator or seed cannot be fooled by a stale score. A recalled program that no
longer verifies counts as a failed trial of its record, which is archived after
``min_trials`` of them like any other record.

Only block bodies travel, so code outside the blocks always comes from the current
seed; a recalled program is used only when the seed still has the same evolvable
files with the same number of blocks, and (for Python) its blocks still define every
name the seed's code outside them uses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from .._exceptions import EditError
from ..archive import Program
from ..edits import check_interface, evolvable_paths, evolve_regions
from ..edits._lines import Doc
from ..task import Files
from ._records import Record, RecordStatus
from ._store import MemoryStore

KEEP_PER_TASK = 4
"""Most active program records per task; the lowest-scoring ones are archived."""

Blocks = dict[str, list[str]]


def blocks_of(files: Files) -> Blocks:
    """The body of every EVOLVE-BLOCK, per evolvable file, in order."""
    out: Blocks = {}
    for path in evolvable_paths(files):
        doc = Doc.parse(files[path])
        out[path] = [
            doc.eol.join(doc.lines[first:stop]) for first, stop in evolve_regions(files[path], path)
        ]
    return out


def transplant(seed: Files, blocks: Blocks) -> Files | None:
    """``seed`` with its block bodies replaced by ``blocks``; None when they don't fit."""
    if sorted(blocks) != evolvable_paths(seed):
        return None
    out = dict(seed)
    for path, bodies in blocks.items():
        doc = Doc.parse(seed[path])
        regions = evolve_regions(seed[path], path)
        if len(regions) != len(bodies):
            return None
        lines = list(doc.lines)
        for (first, stop), body in reversed(list(zip(regions, bodies, strict=True))):
            lines[first:stop] = Doc.parse(body).lines if body else []
        out[path] = Doc(lines, doc.eol, doc.final_newline).text()
    return out


def blocks_hash(blocks: Blocks) -> str:
    return hashlib.sha256(json.dumps(blocks, sort_keys=True).encode()).hexdigest()


def _readable(blocks: Blocks) -> str:
    parts = []
    for path, bodies in sorted(blocks.items()):
        for i, body in enumerate(bodies, 1):
            parts.append(f"# {path}, EVOLVE-BLOCK {i}\n{body}")
    return "\n\n".join(parts)


def _programs(store: MemoryStore, task_name: str, status: RecordStatus | None) -> list[Record]:
    """``task_name``'s program records, highest score first, then the newest."""
    records = [r for r in store.list(kind="program", status=status) if r.name == task_name]
    records.sort(key=lambda r: (-float(r.metadata.get("score", 0.0)), -r.updated_at))
    return records


@dataclass(frozen=True)
class Recalled:
    """A program from memory, ready to be evaluated again in this run."""

    record: Record
    files: Files


def recall(store: MemoryStore, task_name: str, seed: Files, n: int) -> list[Recalled]:
    """The ``n`` best active program records of ``task_name`` that fit ``seed``.

    Programs equal to the seed are skipped.
    """
    if n <= 0:
        return []
    out: list[Recalled] = []
    for record in _programs(store, task_name, "active"):
        files = transplant(seed, record.metadata.get("blocks") or {})
        if files is None or files == seed:
            continue
        try:  # the code around the blocks may now call names these blocks lack
            check_interface(seed, files)
        except EditError:
            continue
        out.append(Recalled(record, files))
        if len(out) == n:
            break
    return out


def remember(
    store: MemoryStore,
    *,
    task_name: str,
    tags: tuple[str, ...],
    program: Program,
    seed_score: float | None,
    ref: str,
    origin: dict[str, object],
) -> Record | None:
    """Keep ``program`` (a run's best) for the next runs of ``task_name``.

    Nothing is written unless it is correct and beats the seed. A program already in
    memory (the same block bodies) gains ``ref`` as evidence and its latest score.
    Beyond :data:`KEEP_PER_TASK` active records, the lowest-scoring are archived.

    Returns:
        The stored record, or None when nothing was worth keeping.
    """
    if not program.correct or program.score is None:
        return None
    if seed_score is not None and program.score <= seed_score:
        return None
    blocks = blocks_of(program.files)
    if not blocks:
        return None
    digest = blocks_hash(blocks)
    mine = _programs(store, task_name, None)
    same = next((r for r in mine if r.metadata.get("hash") == digest), None)
    if same is not None:
        # Verified again as a run's best: it is current, whatever archived it before.
        stored = store.update(
            replace(
                same,
                status="active",
                supporting=(*same.supporting, ref),
                metadata={**same.metadata, "score": program.score},
            )
        )
    else:
        stored, _ = store.add(
            Record(
                kind="program",
                name=task_name,
                text=_readable(blocks),
                tags=tags,
                supporting=(ref,),
                metadata={
                    **origin,
                    "score": program.score,
                    "blocks": blocks,
                    "hash": digest,
                },
            ),
            merge_threshold=2.0,  # programs are told apart by their hash, never merged
        )
    for weak in _programs(store, task_name, "active")[KEEP_PER_TASK:]:
        store.set_status(weak.id, "archived", f"more than {KEEP_PER_TASK} programs kept")
    return stored
