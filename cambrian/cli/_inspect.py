"""Read-only views of a run directory: status, best, export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, TextIO

from .._exceptions import RunStoreError
from ..store import DB_NAME, RunStore


def open_run(run_dir: Path) -> RunStore:
    if not (run_dir / DB_NAME).is_file():
        raise RunStoreError(f"{str(run_dir)!r} is not a run directory (no {DB_NAME})")
    return RunStore(run_dir, lock=False)


def status(run_dir: Path) -> dict[str, Any]:
    """Progress, best score, failure kinds and spend of a run."""
    with open_run(run_dir) as store:
        by_status = {
            r[0]: r[1]
            for r in store.db.execute("SELECT status, COUNT(*) FROM programs GROUP BY status")
        }
        failures = {
            r[0]: r[1]
            for r in store.db.execute(
                "SELECT failure, COUNT(*) FROM programs WHERE failure IS NOT NULL GROUP BY failure"
            )
        }
        operators = {
            r[0]: r[1]
            for r in store.db.execute("SELECT operator, COUNT(*) FROM programs GROUP BY operator")
        }
        best = store.best_row()
        seed = store.program(1)
        config = store.get_meta("config") or {}
        improvements = store.db.execute(
            "SELECT COUNT(*) FROM programs c JOIN programs p ON c.parent_id = p.id"
            " WHERE c.status = 'done' AND c.correct = 1 AND c.score > p.score"
        ).fetchone()[0]
        by_model = {}
        for r in store.db.execute(
            "SELECT c.model, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens),"
            " SUM(c.cost), SUM(c.status = 'done' AND c.correct = 1 AND c.score > p.score)"
            " FROM programs c LEFT JOIN programs p ON c.parent_id = p.id"
            " WHERE c.model IS NOT NULL GROUP BY c.model ORDER BY c.model"
        ):
            by_model[r[0]] = {
                "proposals": r[1],
                "prompt_tokens": r[2],
                "completion_tokens": r[3],
                "cost": r[4],
                "improvements": r[5] or 0,
                "cost_per_improvement": r[4] / r[5] if r[5] else None,
            }
        # Calls that made no candidate (memory distillation, prompt mutation).
        for r in store.db.execute(
            "SELECT model, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost)"
            " FROM spend GROUP BY model ORDER BY model"
        ):
            entry = by_model.setdefault(
                r[0] or "(unknown)",
                {
                    "proposals": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "cost": 0.0,
                    "improvements": 0,
                    "cost_per_improvement": None,
                },
            )
            entry["other_calls"] = r[1]
            entry["prompt_tokens"] += r[2]
            entry["completion_tokens"] += r[3]
            entry["cost"] += r[4]
            if entry["improvements"]:
                entry["cost_per_improvement"] = entry["cost"] / entry["improvements"]
        calls = store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        samples_to_best = store.first_sample_reaching(best["score"]) if best else None
        return {
            "run_dir": str(run_dir),
            "by_model": by_model,
            "recorded_calls": calls,
            "task": store.get_meta("task_name"),
            "task_root": store.get_meta("task_root"),
            "live": _is_live(run_dir),
            "samples": store.samples(),
            "max_samples": (config.get("budget") or {}).get("max_samples"),
            "by_status": by_status,
            "failures": failures,
            "operators": operators,
            "improvements_over_parent": improvements,
            "seed_score": seed["score"] if seed is not None else None,
            "best_score": best["score"] if best is not None else None,
            "best_id": best["id"] if best is not None else None,
            "samples_to_best": samples_to_best,
            "elapsed_s": store.get_meta("elapsed_s"),
            "isolation": store.get_meta("isolation"),
            **store.totals(),
        }


def _is_live(run_dir: Path) -> bool:
    try:
        RunStore(run_dir).close()
    except RunStoreError:
        return True
    return False


def best_files(run_dir: Path) -> tuple[int, float, dict[str, str]]:
    """(id, score, files) of the best correct program."""
    with open_run(run_dir) as store:
        row = store.best_row()
        if row is None:
            raise RunStoreError(f"run {str(run_dir)!r} has no correct program yet")
        return row["id"], row["score"], json.loads(row["files"])


_EXPORT_JSON = ("files", "inspiration_ids", "fuzz", "metrics", "artifacts")


def export(run_dir: Path, out: TextIO, *, with_code: bool = True) -> int:
    """Write every candidate with its lineage as JSON lines; returns the count."""
    with open_run(run_dir) as store:
        n = 0
        for row in store.rows():
            out.write(json.dumps(_row_dict(row, with_code)) + "\n")
            n += 1
        return n


def _row_dict(row: sqlite3.Row, with_code: bool) -> dict[str, Any]:
    # sqlite3.Row iterates over values, not keys.
    data = {k: row[k] for k in row.keys() if k not in ("lease_owner", "lease_expires")}  # noqa: SIM118
    for key in _EXPORT_JSON:
        if data.get(key) is not None:
            data[key] = json.loads(data[key])
    if data.get("correct") is not None:
        data["correct"] = bool(data["correct"])
    if not with_code:
        data.pop("files", None)
    return data
