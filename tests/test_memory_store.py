"""The memory that outlives runs: records, dedup, utility, retrieval, durability, exchange."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from cambrian._exceptions import ConfigError
from cambrian.memory import (
    BM25,
    MAX_EVIDENCE,
    MemoryStore,
    Record,
    default_memory_path,
    export_skills,
    import_skills,
    similarity,
    tokens,
)
from cambrian.models import Model  # noqa: F401  (importing cambrian.store first is circular)
from cambrian.store import DB_NAME, RunStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemoryStore]:
    with MemoryStore(tmp_path / "memory.db") as s:
        yield s


def insight(text: str, polarity: str = "guiding", **kw: object) -> Record:
    return Record(kind="insight", text=text, polarity=polarity, **kw)  # type: ignore[arg-type]


def skill(name: str, body: str = "1. Do it.\n2. Check it.", **kw: object) -> Record:
    kw.setdefault("description", f"Use when {name.replace('-', ' ')} is needed.")
    return Record(kind="skill", name=name, text=body, **kw)  # type: ignore[arg-type]


# -- text --------------------------------------------------------------------------
def test_tokens_lowercase_keep_identifiers_and_drop_stop_words() -> None:
    assert tokens("Use the num_circles VALUE, not a guess!") == [
        "use",
        "num_circles",
        "value",
        "not",
        "guess",
    ]


def test_similarity_scores_paraphrases_high_and_unrelated_sentences_low() -> None:
    assert similarity("use a grid for initial centers", "initialize centers on a grid") >= 0.6
    assert similarity("Sorting the radii helps", "sorted radii help") >= 0.6
    assert similarity("use a grid for initial centers", "cache evaluator results on disk") < 0.1
    assert similarity("same words", "Same  words") == 1.0


def test_bm25_matches_the_okapi_formula() -> None:
    docs = [["grid", "center", "grid"], ["radius", "shrink"], ["grid", "radius", "jitter", "x"]]
    bm = BM25(docs, k1=1.5, b=0.75)
    avg = 9 / 3

    def term(tf: int, df: int, length: int) -> float:
        idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
        return idf * tf * 2.5 / (tf + 1.5 * (1 - 0.75 + 0.75 * length / avg))

    scores = bm.scores(["grid", "jitter", "unknown"])
    assert scores[0] == pytest.approx(term(2, 2, 3))
    assert scores[1] == 0.0
    assert scores[2] == pytest.approx(term(1, 2, 4) + term(1, 1, 4))
    # A term in every document still scores a little, never below zero.
    assert all(s > 0 for s in BM25([["a1"], ["a1", "b2"]]).scores(["a1"]))


# -- records -----------------------------------------------------------------------
def test_records_are_validated_with_the_bad_value_named() -> None:
    with pytest.raises(ConfigError, match="polarity None"):
        Record(kind="insight", text="an insight without a polarity")
    with pytest.raises(ConfigError, match="'sideways'"):
        insight("x", polarity="sideways")
    with pytest.raises(ConfigError, match="applies to insights only"):
        Record(kind="prompt", text="You are…", polarity="guiding")
    with pytest.raises(ConfigError, match="'Grid_Init'"):
        skill("Grid_Init")
    with pytest.raises(ConfigError, match="'-grid'"):
        skill("-grid")
    with pytest.raises(ConfigError, match="description"):
        skill("grid-init", description="")
    with pytest.raises(ConfigError, match="'memo'"):
        Record(kind="memo", text="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="exceed"):
        insight("x", successes=3, trials=2)
    with pytest.raises(ConfigError, match="empty"):
        insight("   ")


def test_add_assigns_a_stable_id_and_logs_creation(store: MemoryStore) -> None:
    record, created = store.add(insight("Use a grid for initial centers.", tags=("Packing",)))
    assert created
    assert re.fullmatch(r"ins-[0-9a-f]{12}", record.id)
    assert record.tags == ("packing",)
    assert record.created_at == record.updated_at > 0
    assert record.metadata["version"] == 1
    assert store.get(record.id) == record
    assert [e["event"] for e in store.history(record.id)] == ["created"]
    with pytest.raises(ConfigError, match="no memory record 'ins-nope'"):
        store.get("ins-nope")


def test_a_paraphrased_twin_merges_its_evidence_instead_of_duplicating(
    store: MemoryStore,
) -> None:
    first, _ = store.add(
        insight("Use a grid for initial centers", tags=("packing",), supporting=("run-a:3",))
    )
    merged, created = store.add(
        insight("Initialize centers on a grid.", tags=("geometry",), supporting=("run-b:7",))
    )
    assert not created
    assert merged.id == first.id
    assert merged.text == first.text
    assert merged.supporting == ("run-a:3", "run-b:7")
    assert merged.tags == ("packing", "geometry")
    assert len(store.list()) == 1
    event = store.history(first.id)[-1]
    assert event["event"] == "merged"
    assert event["detail"]["supporting"] == ["run-b:7"]


def test_guiding_and_cautionary_twins_are_not_merged(store: MemoryStore) -> None:
    store.add(insight("Shrink radii when circles overlap", "guiding"))
    _, created = store.add(insight("Shrink radii when circles overlap", "cautionary"))
    assert created
    assert sorted(r.polarity or "" for r in store.list()) == ["cautionary", "guiding"]


def test_skills_merge_by_name_and_evidence_stays_bounded(store: MemoryStore) -> None:
    refs = tuple(f"run-x:{i}" for i in range(MAX_EVIDENCE + 5))
    first, _ = store.add(skill("grid-init", supporting=refs[:10]))
    again, created = store.add(skill("grid-init", body="A different body.", supporting=refs))
    assert not created and again.id == first.id
    assert again.supporting == refs[-MAX_EVIDENCE:]  # the newest kept
    assert again.text == first.text


def test_outcomes_update_laplace_utility_and_evidence(store: MemoryStore) -> None:
    r, _ = store.add(insight("Sort circles by radius before placing them"))
    assert r.utility == 0.5
    store.record_outcome([r.id], True, ref="run-1:4")
    assert store.get(r.id).utility == pytest.approx(2 / 3)
    store.record_outcome([r.id, r.id], False, ref="run-1:5")  # one trial per call
    after = store.get(r.id)
    assert (after.successes, after.trials) == (1, 2)
    assert after.utility == pytest.approx(0.5)
    assert after.supporting == ("run-1:4",) and after.contradicting == ("run-1:5",)
    events = [e for e in store.history(r.id) if e["event"] == "outcome"]
    assert [e["detail"] for e in events] == [
        {"success": True, "ref": "run-1:4"},
        {"success": False, "ref": "run-1:5"},
    ]
    with pytest.raises(ConfigError, match="'ins-gone'"):
        store.record_outcome([r.id, "ins-gone"], True)
    assert store.get(r.id).trials == 2  # nothing was written


def test_records_are_archived_after_min_trials_below_the_threshold(store: MemoryStore) -> None:
    bad, _ = store.add(insight("Randomize every radius each step"))
    default, _ = store.add(Record(kind="prompt", name="default", text="You improve programs."))
    for _ in range(4):
        archived = store.record_outcome([bad.id, default.id], False)
        assert archived == []  # utility is low, but 4 trials are not enough to judge
    assert store.record_outcome([bad.id, default.id], False) == [bad.id]
    assert store.get(bad.id).status == "archived"
    assert store.get(default.id).status == "active"  # the built-in prompt is never archived
    assert store.history(bad.id)[-1]["event"] == "archived"
    assert store.search("randomize radius") == []
    assert store.list(status="active", kind="insight") == []


def test_supersede_keeps_history_and_bumps_the_version(store: MemoryStore) -> None:
    old, _ = store.add(Record(kind="scratchpad", name="packing", text="- try a hex grid"))
    new = store.supersede(
        old.id, Record(kind="scratchpad", name="packing", text="- try a hex grid, then jitter")
    )
    assert new.id != old.id
    assert new.metadata["parents"] == [old.id]
    assert new.metadata["version"] == 2
    assert store.get(old.id).status == "superseded"
    assert [e["event"] for e in store.history(old.id)] == ["created", "superseded"]
    assert store.history(old.id)[-1]["detail"]["by"] == new.id
    assert store.history(new.id)[0]["detail"] == {"supersedes": old.id}
    assert [r.id for r in store.list(kind="scratchpad", status="active")] == [new.id]
    third = store.supersede(new.id, Record(kind="scratchpad", name="packing", text="- v3"))
    assert third.metadata["version"] == 3
    with pytest.raises(ConfigError, match="already superseded"):
        store.supersede(old.id, Record(kind="scratchpad", name="packing", text="- fork"))


def test_update_and_set_status_are_logged(store: MemoryStore) -> None:
    r, _ = store.add(insight("Keep circles inside the unit square"))
    r.text = "Clamp circle centers into the unit square"
    r.tags = ("Packing ",)  # normalised on the way in, like a new record's
    updated = store.update(r)
    assert updated.text == r.text and updated.tags == ("packing",)
    event = store.history(r.id)[-1]
    assert event["event"] == "updated"
    assert event["detail"] == {"text": "Keep circles inside the unit square", "tags": []}
    archived = store.set_status(r.id, "archived", "duplicate of another lesson")
    assert archived.status == "archived"
    assert store.history(r.id)[-1] == {
        "at": pytest.approx(time.time(), abs=60),
        "event": "archived",
        "detail": {"from": "active", "why": "duplicate of another lesson"},
    }
    with pytest.raises(ConfigError, match="'retired'"):
        store.set_status(r.id, "retired")  # type: ignore[arg-type]


def test_search_ranks_the_relevant_record_first(store: MemoryStore) -> None:
    store.add(insight("Cache evaluator results between calls to save time"))
    grid, _ = store.add(insight("Place initial circle centers on a hexagonal grid"))
    store.add(insight("Shrink every radius slightly when the packing is infeasible"))
    store.add(skill("radius-search", "Binary search the largest feasible radius."))
    hits = store.search("where should the initial centers go? a grid?", k=2)
    assert hits[0][0].id == grid.id
    assert len(hits) <= 2 and all(score > 0 for _, score in hits)
    only_skills = store.search("radius", kind="skill")
    assert [r.name for r, _ in only_skills] == ["radius-search"]


def test_search_boosts_shared_tags_and_falls_back_to_them(store: MemoryStore) -> None:
    mine, _ = store.add(insight("Jitter centers after placing them", tags=("packing",)))
    other, _ = store.add(insight("Jitter the learning rate after warmup", tags=("training",)))
    plain, _ = store.add(insight("Jitter inputs to escape plateaus"))
    hits = store.search("jitter", tags=("packing",))
    assert [r.id for r, _ in hits] == [mine.id, plain.id, other.id]
    # Same query, the other task's view: its own lesson first.
    assert store.search("jitter", tags=("training",))[0][0].id == other.id
    # No word in common: a fresh run of the task still gets the task's records.
    fallback = store.search("zebra quantum", tags=("packing",))
    assert fallback == [(store.get(mine.id), 0.0)]
    assert store.search("zebra quantum") == []


def test_mark_used_and_prune_archive_without_deleting(store: MemoryStore) -> None:
    weak, _ = store.add(insight("Use a random seed layout", trials=6, successes=0))
    stale, _ = store.add(insight("Rotate the square before packing", created_at=1.0))
    fresh, _ = store.add(insight("Try a greedy largest-first placement"))
    store.mark_used([fresh.id])
    assert store.get(fresh.id).last_used_at == pytest.approx(time.time(), abs=60)
    preview = store.prune(unused_days=30, dry_run=True)
    assert {r.id for r in preview} == {weak.id, stale.id}
    assert all(r.status == "active" for r in store.list())
    pruned = store.prune(unused_days=30)
    assert {r.id: r.status for r in pruned} == {weak.id: "archived", stale.id: "archived"}
    assert len(store.list()) == 3
    assert store.get(fresh.id).status == "active"
    assert "unused" in store.history(stale.id)[-1]["detail"]["why"]


# -- durability --------------------------------------------------------------------
def test_a_second_instance_sees_what_the_first_wrote(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "memory.db"
    first = MemoryStore(path)
    second = MemoryStore(path)
    r, _ = first.add(insight("Evaluate the seed before mutating it"))
    assert second.get(r.id) == r
    second.record_outcome([r.id], True)
    assert first.get(r.id).trials == 1
    first.close()
    second.close()
    with MemoryStore(path) as third:
        assert third.get(r.id).successes == 1


_WRITER = """
import sys, time
from pathlib import Path
from cambrian.memory import MemoryStore, Record
path, me, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = MemoryStore(path)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
for i in range(50):
    own, _ = store.add(Record(kind="insight", polarity="guiding", text=f"w{me}n{i} own{me}x{i}"))
    ref = f"w{me}:{i}"
    shared, _ = store.add(Record(kind="insight", polarity="guiding",
                                 text=f"common{i % 10} lesson{i % 10}", supporting=(ref,)))
    store.record_outcome([own.id, shared.id], i % 2 == 0, ref=ref, min_trials=10**6)
store.close()
"""


def test_concurrent_writers_in_separate_processes_lose_nothing(tmp_path: Path) -> None:
    path, go, writers = tmp_path / "memory.db", tmp_path / "go", 3
    MemoryStore(path).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(me), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in range(writers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()  # all start writing at once
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with MemoryStore(path) as store:
        records = store.list()
        own = [r for r in records if "own" in r.text]
        shared = [r for r in records if r.text.startswith("common")]
        assert len(own) == 50 * writers and len(records) == 50 * writers + 10
        assert all(
            r.trials == 1 and r.successes == (int(r.text.split("x")[-1]) % 2 == 0) for r in own
        )
        assert sum(r.trials for r in shared) == 50 * writers
        for r in shared:
            k = int(r.text.split()[0].removeprefix("common"))
            refs = {f"w{me}:{i}" for me in range(writers) for i in range(k, 50, 10)}
            assert set(r.supporting) == refs  # every writer's evidence, merged
            assert r.trials == 5 * writers and r.successes == (5 * writers if k % 2 == 0 else 0)
            assert set(r.contradicting) == (set() if k % 2 == 0 else refs)


def test_memory_tables_can_live_in_a_run_database(tmp_path: Path) -> None:
    with RunStore(tmp_path / "run") as run:
        with MemoryStore(tmp_path / "run" / DB_NAME) as memory:
            r, _ = memory.add(insight("Copied into the run for provenance"))
            run.set_meta("touched", True)
            assert memory.get(r.id).text == "Copied into the run for provenance"
        assert run.get_meta("touched") is True


def test_default_memory_path_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CAMBRIAN_MEMORY", str(tmp_path / "m.db"))
    assert default_memory_path() == tmp_path / "m.db"
    monkeypatch.delenv("CAMBRIAN_MEMORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_memory_path() == tmp_path / "xdg" / "cambrian" / "memory.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_memory_path() == tmp_path / "home" / ".local/share/cambrian/memory.db"


# -- exchange ----------------------------------------------------------------------
def _seed(store: MemoryStore) -> list[Record]:
    a, _ = store.add(insight("Start from a hexagonal grid", tags=("packing",), supporting=("r:1",)))
    b, _ = store.add(insight("Never let radii go negative", "cautionary", contradicting=("r:2",)))
    c, _ = store.add(skill("grid-init", tags=("packing",), metadata={"origin": {"run": "r"}}))
    store.record_outcome([a.id, c.id], True, ref="r:3")
    store.set_status(b.id, "archived", "test")
    return [store.get(x.id) for x in (a, b, c)]


def test_jsonl_round_trip_keeps_records_and_history(store: MemoryStore, tmp_path: Path) -> None:
    originals = _seed(store)
    buf = io.StringIO()
    assert store.export_jsonl(buf) == 3
    lines = buf.getvalue().splitlines()
    assert all("history" in json.loads(line) for line in lines)
    with MemoryStore(tmp_path / "other.db") as other:
        assert other.import_jsonl(io.StringIO(buf.getvalue())) == (3, 0)
        for original in originals:
            copy = other.get(original.id)
            assert copy == original
            events = [e["event"] for e in other.history(original.id)]
            assert events == [e["event"] for e in store.history(original.id)] + ["imported"]
        # Importing the same file again adds nothing.
        assert other.import_jsonl(io.StringIO(buf.getvalue())) == (0, 3)
        assert len(other.list()) == 3


def test_jsonl_import_names_the_bad_line_and_writes_nothing(store: MemoryStore) -> None:
    good = json.dumps(insight("A fine lesson").to_dict())
    bad_json = io.StringIO(f"{good}\n{{not json\n")
    bad_json.name = "mem.jsonl"
    with pytest.raises(ConfigError, match=r"mem.jsonl, line 2: not valid JSON"):
        store.import_jsonl(bad_json)
    bad_field = io.StringIO(f"{good}\n\n" + json.dumps({"kind": "insight", "text": "x"}) + "\n")
    with pytest.raises(ConfigError, match=r"line 3: insight polarity None"):
        store.import_jsonl(bad_field)
    with pytest.raises(ConfigError, match=r"line 1: unknown record fields \['colour'\]"):
        store.import_jsonl(io.StringIO(json.dumps({"kind": "insight", "colour": 1}) + "\n"))
    assert store.list() == []


def test_skill_md_round_trip(store: MemoryStore, tmp_path: Path) -> None:
    body = "# Grid start\n\n1. Place centers on a hex grid.\n2. Jitter by 1e-3.\n"
    original, _ = store.add(
        skill(
            "hex-grid-start",
            body,
            description="Use when packing equal circles: start from a hex grid.",
            tags=("packing", "geometry"),
            supporting=("run-a:1", "run-a:9"),
            metadata={"origin": {"run": "run-a", "task": "packing"}, "license": "MIT"},
        )
    )
    store.record_outcome([original.id], True)
    paths = export_skills(store, tmp_path / "skills")
    assert paths == [tmp_path / "skills" / "hex-grid-start" / "SKILL.md"]
    text = paths[0].read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert list(front)[:2] == ["name", "description"]  # the agentskills.io fields first
    assert front["license"] == "MIT"
    assert front["metadata"]["cambrian-id"] == original.id
    assert all(isinstance(v, str) for v in front["metadata"].values())  # as the format asks
    with MemoryStore(tmp_path / "fresh.db") as fresh:
        assert import_skills(fresh, tmp_path / "skills") == (1, 0)
        (copy,) = fresh.list(kind="skill")
        assert (copy.name, copy.description, copy.text, copy.tags) == (
            original.name,
            original.description,
            original.text,
            original.tags,
        )
        assert copy.id == original.id and (copy.successes, copy.trials) == (1, 1)
        assert copy.supporting == original.supporting
        assert copy.metadata["origin"] == {"run": "run-a", "task": "packing"}
        assert copy.metadata["license"] == "MIT"
        assert import_skills(fresh, tmp_path / "skills") == (0, 1)


def test_a_hand_written_skill_imports(store: MemoryStore, tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "write-tests"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(
        "---\nname: write-tests\ndescription: Use before changing code.\n"
        "metadata:\n  author: someone\n  version: 1.2.0\n---\nWrite the test first.\n"
    )
    assert import_skills(store, tmp_path / "skills") == (1, 0)
    (record,) = store.list()
    assert record.text == "Write the test first."
    assert record.metadata["author"] == "someone"
    assert record.metadata["source-version"] == "1.2.0"


@pytest.mark.parametrize(
    ("folder", "content", "message"),
    [
        ("no-front", "Just a body.\n", "does not start with YAML front matter"),
        ("no-desc", "---\nname: no-desc\n---\nbody\n", "lacks 'description'"),
        ("no-name", "---\ndescription: d\n---\nbody\n", "lacks 'name'"),
        ("other", "---\nname: not-other\ndescription: d\n---\nbody\n", "differs from its folder"),
        ("Bad_Name", "---\nname: Bad_Name\ndescription: d\n---\nbody\n", "'Bad_Name' must be"),
        ("open", "---\nname: open\ndescription: d\nbody\n", "no closing '---'"),
        ("yaml", "---\nname: [unclosed\n---\nbody\n", "not valid YAML"),
    ],
)
def test_a_malformed_skill_md_is_a_clear_error(
    store: MemoryStore, tmp_path: Path, folder: str, content: str, message: str
) -> None:
    good = tmp_path / "skills" / "good-one"
    good.mkdir(parents=True)
    (good / "SKILL.md").write_text("---\nname: good-one\ndescription: d\n---\nbody\n")
    (tmp_path / "skills" / folder).mkdir()
    (tmp_path / "skills" / folder / "SKILL.md").write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        import_skills(store, tmp_path / "skills")
    assert f"{folder}/SKILL.md" in str(info.value)
    assert store.list() == []  # the good one was not written either
