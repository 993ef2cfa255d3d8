"""MAP-Elites cells: binning, best per cell, protection from eviction, diverse picks."""

from __future__ import annotations

import random

from cambrian.archive import Archive, ArchiveConfig, Program
from cambrian.archive._features import (
    CODE_LENGTH_MAX,
    CODE_LENGTH_MIN,
    FeatureBinner,
    jaccard_distance,
    token_set,
)


def make(pid: int, score: float | None, q: float | None = None, code: str = "") -> Program:
    return Program(
        id=pid,
        files={"main.py": code or f"v = {pid}"},
        score=score,
        correct=score is not None,
        parent_id=None if pid == 0 else 0,
        metrics={} if q is None else {"q": q},
    )


def test_off_by_default() -> None:
    archive = Archive(ArchiveConfig(islands=1))
    archive.add(make(0, 0.5, q=1.0))
    assert archive.elites() == {}
    assert archive.cell_of(0) is None


def test_code_length_log_bins_between_fixed_bounds() -> None:
    binner = FeatureBinner(["code_length"], 4)
    assert binner.cell(1, {}) == (0,)
    assert binner.cell(CODE_LENGTH_MIN, {}) == (0,)
    assert binner.cell(CODE_LENGTH_MAX, {}) == (3,)
    assert binner.cell(10 * CODE_LENGTH_MAX, {}) == (3,)
    # log scale: MAX/MIN = 2**14, so each of 4 bins spans a factor of 2**3.5 ≈ 11.3
    assert binner.cell(CODE_LENGTH_MIN * 11, {}) == (0,)
    assert binner.cell(CODE_LENGTH_MIN * 12, {}) == (1,)
    assert binner.cell(CODE_LENGTH_MIN * 127, {}) == (1,)
    assert binner.cell(CODE_LENGTH_MIN * 129, {}) == (2,)


def test_metric_bins_use_range_observed_so_far_and_stay_fixed() -> None:
    binner = FeatureBinner(["q", "code_length"], 10)
    # length 100: floor(10 * log2(100 / 16) / 14) = 1
    assert binner.cell(100, {"q": 5.0}) == (0, 1)  # first value: zero range → bin 0
    assert binner.cell(100, {"q": 15.0}) == (9, 1)
    assert binner.cell(100, {"q": 10.0}) == (5, 1)
    assert binner.cell(100, {"q": 25.0}) == (9, 1)
    assert binner.cell(100, {"q": 15.0}) == (5, 1)  # the range widened to 5..25
    assert binner.cell(100, {}) is None  # missing metric → no cell
    assert binner.cell(100, {"q": float("nan")}) is None


def test_cell_keeps_its_highest_scoring_correct_program() -> None:
    archive = Archive(ArchiveConfig(islands=1, feature_dimensions=["q"], feature_bins=2))
    archive.add(make(0, 0.5, q=0.0))
    archive.add(make(1, 0.9, q=10.0))  # range 0..10 → bin 1
    archive.add(make(2, 0.4, q=1.0))  # bin 0, lower than the seed
    archive.add(make(3, 0.7, q=2.0))  # bin 0, beats the seed
    archive.add(make(4, None, q=9.0))  # failed: never an elite
    archive.add(make(5, 0.95, q=8.0, code="z"))  # bin 1, beats 1
    archive.add(make(6, 0.95, q=9.0))  # ties 5: the lower id keeps the cell
    elites = {cell: p.id for cell, p in archive.elites().items()}
    assert elites == {(0,): 3, (1,): 5}
    assert archive.stats()["elites"] == 2


def test_elites_are_never_evicted() -> None:
    cfg = ArchiveConfig(islands=1, population_size=2, feature_dimensions=["q"], feature_bins=4)
    archive = Archive(cfg)
    archive.add(make(0, 0.9, q=0.0))  # best overall
    archive.add(make(1, 0.1, q=100.0))  # sole (weak) elite of the top bin
    for pid in range(2, 40):
        archive.add(make(pid, 0.5, q=float(pid % 3)))  # all land in bin 0
    members = {p.id for p in archive.members(0)}
    assert {0, 1} <= members
    elites = {p.id for p in archive.elites().values()}
    assert elites <= members


def test_diverse_inspirations_come_from_other_cells() -> None:
    cfg = ArchiveConfig(
        islands=1,
        feature_dimensions=["q"],
        feature_bins=4,
        num_top_inspirations=1,
        num_diverse_inspirations=2,
    )
    archive = Archive(cfg)
    archive.add(make(0, 0.1, q=0.0))
    archive.add(make(1, 0.9, q=100.0))  # cell 3
    archive.add(make(2, 0.8, q=99.0))  # cell 3 (not an elite)
    archive.add(make(3, 0.3, q=30.0))  # cell 1
    archive.add(make(4, 0.2, q=60.0))  # cell 2
    parent = archive.get(1)
    assert parent is not None
    seen = set()
    for s in range(30):
        insp = [p.id for p in archive.inspirations(random.Random(s), parent)]
        assert insp[0] == 2  # top of the island, parent excluded
        assert 1 not in insp and len(insp) == len(set(insp)) == 3
        assert set(insp[1:]) <= {0, 3, 4}
        seen.add(tuple(insp))
    assert len(seen) > 1  # the draw from other cells uses the rng
    a = archive.inspirations(random.Random(9), parent)
    b = archive.inspirations(random.Random(9), parent)
    assert a == b


def test_jaccard_distance() -> None:
    a, b = token_set("x = f(y)"), token_set("x = g(y)")
    assert 0 < jaccard_distance(a, b) < 1
    assert jaccard_distance(a, a) == 0.0
    assert jaccard_distance(token_set("a b"), token_set("c d")) == 1.0
    assert jaccard_distance(frozenset(), frozenset()) == 0.0
