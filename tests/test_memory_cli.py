"""`cambrian memory …` through a real subprocess: list, show, export, import, prune, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cambrian.memory import MemoryStore, Record


def cambrian(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # Wide enough that rich does not wrap table cells (ids stay whole).
    env = {**os.environ, "COLUMNS": "220"}
    return subprocess.run(
        [sys.executable, "-m", "cambrian", "memory", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, dict[str, Record]]:
    path = tmp_path / "memory.db"
    with MemoryStore(path) as store:
        grid, _ = store.add(
            Record(
                kind="insight",
                polarity="guiding",
                text="Start from a hexagonal grid of centers",
                tags=("packing",),
                supporting=("run-a:3",),
            )
        )
        store.add(
            Record(
                kind="insight",
                polarity="guiding",
                text="Initialize centers on a hexagonal grid.",
                supporting=("run-b:8",),
            )
        )  # a paraphrase: merged into `grid`
        weak, _ = store.add(
            Record(kind="insight", polarity="cautionary", text="Never restart from scratch")
        )
        store.record_outcome([weak.id], False, ref="run-b:9", min_trials=100)
        store.record_outcome([weak.id], False, ref="run-b:10", min_trials=100)
        tool, _ = store.add(
            Record(
                kind="skill",
                name="hex-grid",
                description="Use when packing equal circles.",
                text="1. Lay a hex grid.\n2. Scale it to fit.",
                tags=("packing",),
            )
        )
    return path, {"grid": grid, "weak": weak, "skill": tool}


def test_list_and_show(seeded: tuple[Path, dict[str, Record]]) -> None:
    path, records = seeded
    out = cambrian("list", "--memory", path)
    assert out.returncode == 0, out.stderr
    assert "3 records" in out.stdout
    for record in records.values():
        assert record.id in out.stdout
    assert "cautionary" in out.stdout and "hex-grid" in out.stdout

    skills = cambrian("list", "--memory", path, "--kind", "skill")
    assert records["skill"].id in skills.stdout and records["grid"].id not in skills.stdout
    tagged = cambrian("list", "--memory", path, "--tag", "packing")
    assert records["weak"].id not in tagged.stdout and records["grid"].id in tagged.stdout

    show = cambrian("show", records["grid"].id, "--memory", path)
    assert show.returncode == 0, show.stderr
    assert "Start from a hexagonal grid of centers" in show.stdout
    assert "run-a:3" in show.stdout and "run-b:8" in show.stdout  # merged evidence
    assert "created" in show.stdout and "merged" in show.stdout  # history


def test_the_default_memory_is_cambrian_memory(tmp_path: Path) -> None:
    # conftest points CAMBRIAN_MEMORY at a fresh file for every test.
    empty = cambrian("list")
    assert empty.returncode == 0, empty.stderr
    assert "empty" in empty.stdout
    with MemoryStore(os.environ["CAMBRIAN_MEMORY"]) as store:
        record, _ = store.add(Record(kind="scratchpad", name="t", text="- keep going"))
    listed = cambrian("list")
    assert record.id in listed.stdout


def test_export_and_import_jsonl(seeded: tuple[Path, dict[str, Record]], tmp_path: Path) -> None:
    path, records = seeded
    dump = tmp_path / "memory.jsonl"
    out = cambrian("export", dump, "--memory", path)
    assert out.returncode == 0, out.stderr
    assert "3 records written" in out.stdout
    assert {json.loads(line)["id"] for line in dump.read_text().splitlines()} == {
        r.id for r in records.values()
    }
    other = tmp_path / "other.db"
    first = cambrian("import", dump, "--memory", other)
    assert first.returncode == 0, first.stderr
    assert "3 added, 0 merged" in first.stdout
    again = cambrian("import", dump, "--memory", other)
    assert "0 added, 3 merged" in again.stdout
    with MemoryStore(other) as store:
        assert store.get(records["grid"].id).supporting == ("run-a:3", "run-b:8")


def test_export_and_import_skills(seeded: tuple[Path, dict[str, Record]], tmp_path: Path) -> None:
    path, records = seeded
    out = cambrian("export", "--skills", tmp_path / "skills", "--memory", path)
    assert out.returncode == 0, out.stderr
    assert "1 skills written" in out.stdout
    assert (tmp_path / "skills" / "hex-grid" / "SKILL.md").is_file()
    other = tmp_path / "other.db"
    imported = cambrian("import", "--skills", tmp_path / "skills", "--memory", other)
    assert imported.returncode == 0, imported.stderr
    assert "1 added, 0 merged" in imported.stdout
    with MemoryStore(other) as store:
        (copy,) = store.list()
        assert (copy.id, copy.text) == (records["skill"].id, records["skill"].text)


def test_prune_dry_run_then_for_real(seeded: tuple[Path, dict[str, Record]]) -> None:
    path, records = seeded
    weak = records["weak"].id  # 0 successes in 2 trials: utility 0.25
    dry = cambrian("prune", "--memory", path, "--min-trials", "2", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would archive 1 records" in dry.stdout and weak in dry.stdout
    with MemoryStore(path) as store:
        assert store.get(weak).status == "active"
    done = cambrian("prune", "--memory", path, "--min-trials", "2")
    assert "archived 1 records" in done.stdout
    archived = cambrian("list", "--memory", path, "--status", "archived")
    assert weak in archived.stdout and records["grid"].id not in archived.stdout
    active = cambrian("list", "--memory", path)
    assert weak not in active.stdout


def test_bad_input_is_one_line_and_exit_code_2(
    seeded: tuple[Path, dict[str, Record]], tmp_path: Path
) -> None:
    path, _ = seeded
    unknown = cambrian("show", "ins-000000000000", "--memory", path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "error: no memory record 'ins-000000000000'"

    missing = cambrian("import", tmp_path / "nope.jsonl", "--memory", path)
    assert missing.returncode == 2
    assert "nope.jsonl" in missing.stderr and "No such file" in missing.stderr

    broken = tmp_path / "broken.jsonl"
    good = json.dumps(Record(kind="scratchpad", text="- fine").to_dict())
    broken.write_text(f"{good}\n{good[:-5]}\n")
    malformed = cambrian("import", broken, "--memory", path)
    assert malformed.returncode == 2
    assert "line 2: not valid JSON" in malformed.stderr
    assert len(malformed.stderr.strip().splitlines()) == 1  # no traceback

    no_db = cambrian("show", "ins-000000000000", "--memory", tmp_path / "absent.db")
    assert no_db.returncode == 2 and "no memory database" in no_db.stderr
    assert not (tmp_path / "absent.db").exists()

    skills = tmp_path / "skills" / "half"
    skills.mkdir(parents=True)
    (skills / "SKILL.md").write_text("---\nname: half\n---\nbody\n")
    bad_skill = cambrian("import", "--skills", tmp_path / "skills", "--memory", path)
    assert bad_skill.returncode == 2
    assert "half/SKILL.md" in bad_skill.stderr and "lacks 'description'" in bad_skill.stderr
