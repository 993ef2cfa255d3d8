"""Parent selection strategies: registry, shapes of the distributions, determinism."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from cambrian._exceptions import ConfigError
from cambrian.archive import (
    Archive,
    ArchiveConfig,
    Program,
    boltzmann_temperature,
    get_selector,
    parent_selector,
    score_diversity,
    selector_names,
)

BUILTIN = {"beam", "boltzmann", "hill_climb", "power_law", "uniform", "weighted"}


def prog(pid: int, score: float, children: int = 0) -> Program:
    return Program(
        id=pid, files={"main.py": f"x = {pid}"}, score=score, correct=True, children=children
    )


def draw(
    name: str, pool: list[Program], n: int = 4000, seed: int = 0, **params: float
) -> Counter[int]:
    fn = get_selector(name)
    rng = random.Random(seed)
    return Counter(fn(pool, rng, **params).id for _ in range(n))


# --- registry ----------------------------------------------------------------------


def test_builtin_selectors_registered_and_sorted() -> None:
    names = selector_names()
    assert set(names) >= BUILTIN
    assert names == sorted(names)


def test_unknown_selector_error_names_value_and_lists_valid() -> None:
    with pytest.raises(ConfigError) as exc:
        get_selector("tournament")
    msg = str(exc.value)
    assert "'tournament'" in msg
    for name in BUILTIN:
        assert name in msg


def test_config_rejects_unknown_selection_listing_valid_names() -> None:
    with pytest.raises(ValidationError) as exc:
        ArchiveConfig(selection="tournament")
    msg = str(exc.value)
    assert "'tournament'" in msg and "power_law" in msg and "weighted" in msg


def test_config_rejects_unknown_selection_params() -> None:
    with pytest.raises(ValidationError, match="lam"):
        ArchiveConfig(selection="weighted", selection_params={"alpha": 2.0})
    assert ArchiveConfig(selection="power_law", selection_params={"alpha": 2.0})


@parent_selector("test_lowest")
def lowest(pool: Sequence[Program], rng: random.Random) -> Program:
    """A user-written selector: the worst program."""
    return min(pool, key=lambda p: (p.score or 0.0, p.id))


def test_custom_selector_is_usable_from_config() -> None:
    assert "test_lowest" in selector_names()
    assert parent_selector("test_lowest")(lowest) is lowest  # re-registering is idempotent
    archive = Archive(ArchiveConfig(islands=1, selection="test_lowest"))
    for pid, score in [(0, 0.5), (1, 0.9), (2, 0.1)]:
        p = prog(pid, score)
        p.parent_id = None if pid == 0 else 0
        archive.add(p)
    assert archive.select_parent(random.Random(0), 0).id == 2  # type: ignore[union-attr]


def test_registering_a_different_function_under_a_taken_name_fails() -> None:
    with pytest.raises(ConfigError, match="'weighted'"):
        parent_selector("weighted")(lambda pool, rng: pool[0])


def test_empty_pool_is_an_error() -> None:
    for name in BUILTIN:
        with pytest.raises(ValueError, match="empty"):
            get_selector(name)([], random.Random(0))


# --- determinism -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_pool_order_does_not_matter(name: str) -> None:
    pool = [prog(i, s) for i, s in enumerate([0.3, 0.7, 0.7, 0.1, 0.9, 0.5])]
    shuffled = pool[:]
    random.Random(5).shuffle(shuffled)
    fn = get_selector(name)
    a, b = random.Random(1), random.Random(1)
    assert [fn(pool, a).id for _ in range(200)] == [fn(shuffled, b).id for _ in range(200)]


# --- shapes ------------------------------------------------------------------------


def test_weighted_prefers_higher_score() -> None:
    pool = [prog(i, s) for i, s in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])]
    counts = draw("weighted", pool, lam=1.0)
    assert counts[4] > counts[2] + 300 > counts[0] + 600


def test_weighted_prefers_fewer_children() -> None:
    pool = [prog(0, 0.5, children=0), prog(1, 0.5, children=9)]
    counts = draw("weighted", pool)
    # Expected ratio h0/h1 = 10; demand at least 5 to leave a wide margin.
    assert counts[0] > 5 * counts[1]
    assert counts[1] > 0


def test_weighted_default_lambda_is_sharp() -> None:
    pool = [prog(i, s) for i, s in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])]
    counts = draw("weighted", pool)
    # Two MADs below the median: sigmoid(-20) is negligible; one MAD above is ~1.
    assert counts[0] == 0 and counts[1] < 5
    assert counts[3] > 1400 and counts[4] > 1400


def test_power_law_matches_rank_probabilities() -> None:
    pool = [prog(0, 0.2), prog(1, 0.9), prog(2, 0.5)]
    n = 6000
    counts = draw("power_law", pool, n=n, alpha=1.0)
    # ranks: id1 → 1, id2 → 2, id0 → 3; p ∝ 1, 1/2, 1/3
    for pid, expected in [(1, 6 / 11), (2, 3 / 11), (0, 2 / 11)]:
        assert abs(counts[pid] / n - expected) < 0.03


def test_power_law_alpha_zero_is_uniform_and_large_alpha_greedy() -> None:
    pool = [prog(i, s) for i, s in enumerate([0.1, 0.5, 0.9])]
    flat = draw("power_law", pool, n=3000, alpha=0.0)
    assert all(abs(c / 3000 - 1 / 3) < 0.04 for c in flat.values())
    greedy = draw("power_law", pool, n=1000, alpha=20.0)
    assert greedy[2] > 990


def test_score_diversity_bounds() -> None:
    assert score_diversity([0.5, 0.5, 0.5]) == 0.0
    assert score_diversity([]) == 0.0
    assert score_diversity([0.5, 1.0]) == pytest.approx(0.5)
    assert score_diversity([-3.0, 5.0]) == 1.0
    assert score_diversity([99.0, 100.0]) == pytest.approx(0.01)


def test_boltzmann_temperature_rises_when_diversity_falls() -> None:
    diverse = boltzmann_temperature([0.1, 0.5, 0.9], t0=0.1, beta=1.0)
    converged = boltzmann_temperature([0.88, 0.89, 0.9], t0=0.1, beta=1.0)
    identical = boltzmann_temperature([0.9, 0.9], t0=0.1, beta=1.0)
    assert diverse < converged < identical
    assert identical == pytest.approx(0.2)
    assert boltzmann_temperature([0.0, 1.0], t0=0.1, beta=1.0) == pytest.approx(0.1)


def test_boltzmann_matches_exponential_weights() -> None:
    scores = [0.2, 0.6, 1.0]  # diversity 0.8 → T = 0.1 * 1.2 = 0.12
    pool = [prog(i, s) for i, s in enumerate(scores)]
    temp = boltzmann_temperature(scores)
    assert temp == pytest.approx(0.12)
    w = [math.exp((s - 1.0) / temp) for s in scores]
    n = 6000
    counts = draw("boltzmann", pool, n=n)
    for pid in range(3):
        assert abs(counts[pid] / n - w[pid] / sum(w)) < 0.03


def test_boltzmann_is_flatter_on_a_converged_population() -> None:
    # Same score gap (0.2); the pool at 10.x has low relative spread, so it runs hotter
    # and its runner-up is drawn far more often (p ≈ 0.27 vs 0.12).
    spread = draw("boltzmann", [prog(0, 0.0), prog(1, 0.2)], n=4000)
    converged = draw("boltzmann", [prog(0, 10.0), prog(1, 10.2)], n=4000)
    assert converged[0] > spread[0] + 300
    # With beta=0 the temperature ignores diversity, so both behave alike.
    flat_a = draw("boltzmann", [prog(0, 0.0), prog(1, 0.2)], n=4000, beta=0.0)
    flat_b = draw("boltzmann", [prog(0, 10.0), prog(1, 10.2)], n=4000, beta=0.0)
    assert abs(flat_a[0] - flat_b[0]) < 100


def test_hill_climb_takes_best_with_lowest_id_on_ties_and_uses_no_randomness() -> None:
    pool = [prog(3, 0.9), prog(1, 0.9), prog(0, 0.2)]
    rng = random.Random(7)
    state = rng.getstate()
    assert {get_selector("hill_climb")(pool, rng).id for _ in range(50)} == {1}
    assert rng.getstate() == state


def test_beam_is_uniform_over_top_width() -> None:
    pool = [prog(i, i / 10) for i in range(10)]
    counts = draw("beam", pool, n=3000, width=3)
    assert set(counts) == {9, 8, 7}
    assert all(abs(c / 3000 - 1 / 3) < 0.04 for c in counts.values())


def test_uniform_covers_the_pool_evenly() -> None:
    pool = [prog(i, i / 10) for i in range(5)]
    counts = draw("uniform", pool, n=5000)
    assert set(counts) == set(range(5))
    assert all(abs(c / 5000 - 0.2) < 0.03 for c in counts.values())
