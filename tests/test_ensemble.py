"""The model ensemble: bandit choice, cost awareness, temperatures, persisted state."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import pytest

from cambrian._exceptions import ModelResponseError
from cambrian.models import (
    Completion,
    FunctionModel,
    GenerateConfig,
    Message,
    Model,
    ScriptedModel,
)
from cambrian.models._ensemble import EnsembleModel

MESSAGES = [Message("user", "improve this")]

# name -> (probability the child improves, cost per call)
Arms = dict[str, tuple[float, float]]


def members(*names: str) -> list[Model]:
    return [FunctionModel(lambda m: "reply", name=n) for n in names]


def simulate(
    ensemble: EnsembleModel, arms: Arms, pulls: int, *, world: random.Random | None = None
) -> list[str]:
    """Run ``pulls`` generate+update rounds; rewards are Bernoulli draws from ``world``."""
    world = world or random.Random(1)

    async def run() -> list[str]:
        chosen = []
        for _ in range(pulls):
            name = (await ensemble.generate(MESSAGES)).model
            chosen.append(name)
            p, cost = arms[name]
            ensemble.update(name, 1.0 if world.random() < p else 0.0, cost)
        return chosen

    return asyncio.run(run())


def share(chosen: list[str], name: str) -> float:
    return Counter(chosen)[name] / len(chosen)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ucb_converges_to_the_member_with_more_reward(seed: int) -> None:
    ensemble = EnsembleModel(members("good", "bad"), seed=seed)
    arms = {"good": (0.6, 1.0), "bad": (0.2, 1.0)}
    chosen = simulate(ensemble, arms, 300, world=random.Random(seed + 100))
    assert chosen[:2].count("good") == 1  # untried members go first
    assert share(chosen[150:], "good") > 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ucb_prefers_reward_per_cost_over_raw_reward(seed: int) -> None:
    # "pricey" improves more often but 10x the cost: 0.6/10 per unit vs 0.3/1.
    arms = {"cheap": (0.3, 0.001), "pricey": (0.6, 0.01)}
    ensemble = EnsembleModel(members("cheap", "pricey"), seed=seed)
    chosen = simulate(ensemble, arms, 300, world=random.Random(seed + 10))
    assert share(chosen[150:], "cheap") > 0.8
    # With cost ignored, the same world makes UCB go for the higher raw reward.
    blind = EnsembleModel(members("cheap", "pricey"), seed=seed, cost_weight=0.0)
    chosen = simulate(blind, arms, 300, world=random.Random(seed + 10))
    assert share(chosen[150:], "pricey") > 0.6


@pytest.mark.parametrize("strategy", ["ucb", "thompson"])
def test_ten_times_the_cost_for_the_same_reward_is_chosen_less(strategy: str) -> None:
    arms = {"a": (0.4, 0.002), "b": (0.4, 0.02)}
    ensemble = EnsembleModel(members("a", "b"), strategy=strategy, seed=3)  # type: ignore[arg-type]
    chosen = simulate(ensemble, arms, 300, world=None)
    assert share(chosen, "a") > 0.7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_thompson_prefers_the_better_member(seed: int) -> None:
    ensemble = EnsembleModel(members("good", "bad"), strategy="thompson", seed=seed)
    arms = {"good": (0.6, 1.0), "bad": (0.2, 1.0)}
    chosen = simulate(ensemble, arms, 300, world=random.Random(seed + 100))
    assert share(chosen[150:], "good") > 0.85


def test_thompson_treats_fractional_rewards_as_partial_successes() -> None:
    ensemble = EnsembleModel(members("a", "b"), strategy="thompson")
    ensemble.update("a", 0.25, 0.0)
    ensemble.update("a", 1.0, 0.0)
    arm = ensemble.state()["members"]["a"]
    assert (arm["alpha"], arm["beta"]) == (2.25, 1.75)


def test_fixed_weights_are_respected() -> None:
    ensemble = EnsembleModel(members("a", "b", "c"), strategy="fixed", weights=[6, 3, 1], seed=5)
    chosen = simulate(ensemble, {n: (0.0, 1.0) for n in "abc"}, 3000, world=None)
    for name, expected in {"a": 0.6, "b": 0.3, "c": 0.1}.items():
        assert share(chosen, name) == pytest.approx(expected, abs=0.03)


def test_fixed_weight_zero_is_never_chosen_and_rewards_do_not_matter() -> None:
    ensemble = EnsembleModel(members("a", "b"), strategy="fixed", weights=[0, 1])
    chosen = simulate(ensemble, {"a": (1.0, 0.0), "b": (0.0, 1.0)}, 200, world=None)
    assert set(chosen) == {"b"}


class RecordingModel:
    """A member that records the config it was called with."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.configs: list[GenerateConfig | None] = []

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        self.configs.append(config)
        return Completion("reply", model=self.name)


def test_temperatures_are_drawn_from_the_list_and_override_only_temperature() -> None:
    member = RecordingModel("m")
    ensemble = EnsembleModel([member], temperatures=[0.2, 0.7, 1.1])
    config = GenerateConfig(temperature=9.0, max_tokens=123, seed=42)

    async def run() -> None:
        for _ in range(60):
            await ensemble.generate(MESSAGES, config)
        await ensemble.generate(MESSAGES)

    asyncio.run(run())
    seen = [c.temperature for c in member.configs if c is not None]
    assert len(seen) == 61 and set(seen) == {0.2, 0.7, 1.1}
    assert all(c is not None and (c.max_tokens, c.seed) == (123, 42) for c in member.configs[:60])
    assert member.configs[60] == GenerateConfig(temperature=seen[-1])


def test_without_temperatures_the_config_passes_through_untouched() -> None:
    member = RecordingModel("m")
    config = GenerateConfig(temperature=0.3, max_tokens=5)
    asyncio.run(EnsembleModel([member]).generate(MESSAGES, config))
    assert member.configs == [config]


def test_it_is_a_model_that_returns_the_members_completion_unchanged() -> None:
    done = Completion("exact", model="b", finish_reason="length")
    ensemble = EnsembleModel([ScriptedModel(["x"], name="a"), ScriptedModel([done], name="b")])
    assert isinstance(ensemble, Model)
    assert ensemble.name == "ensemble(a,b)"

    async def run() -> list[Completion]:
        return [await ensemble.generate(MESSAGES) for _ in range(2)]

    replies = asyncio.run(run())
    assert done in replies and {r.model for r in replies} == {"a", "b"}


def test_concurrent_calls_spread_over_untried_members_and_updates_may_arrive_late() -> None:
    async def slow(messages: list[Message]) -> str:
        await asyncio.sleep(0)
        return "reply"

    names = ["a", "b", "c", "d"]
    ensemble = EnsembleModel([FunctionModel(slow, name=n) for n in names])

    async def run() -> list[Completion]:
        return list(await asyncio.gather(*(ensemble.generate(MESSAGES) for _ in range(4))))

    replies = asyncio.run(run())
    assert sorted(r.model for r in replies) == names
    for reply in reversed(replies):  # out of order
        ensemble.update(reply.model, 0.5, 0.01)
    assert all(arm["updates"] == 1 for arm in ensemble.state()["members"].values())


@pytest.mark.parametrize("strategy", ["ucb", "thompson"])
def test_a_member_that_raises_propagates_and_is_counted_as_no_reward(strategy: str) -> None:
    def broken(messages: list[Message]) -> str:
        raise ModelResponseError("no choices")

    ensemble = EnsembleModel(
        [FunctionModel(broken, name="broken"), *members("ok")],
        strategy=strategy,  # type: ignore[arg-type]
    )

    async def run() -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for _ in range(40):
            try:
                reply = await ensemble.generate(MESSAGES)
            except ModelResponseError:
                outcomes["broken"] += 1
            else:
                outcomes[reply.model] += 1
                ensemble.update(reply.model, 0.5, 0.0)
        return outcomes

    outcomes = asyncio.run(run())
    assert 1 <= outcomes["broken"] <= 10 and outcomes["ok"] >= 30
    arm = ensemble.state()["members"]["broken"]
    assert arm["updates"] == outcomes["broken"] and arm["reward_sum"] == 0.0


def test_update_accepts_the_completion_model_a_member_reports() -> None:
    member = FunctionModel(lambda m: Completion("x", model="gpt-x-2025-01-01"), name="openai/gpt-x")
    ensemble = EnsembleModel([member, *members("other")])
    first = asyncio.run(ensemble.generate(MESSAGES))
    second = asyncio.run(ensemble.generate(MESSAGES))
    for reply in (first, second):
        ensemble.update(reply.model, 1.0, 0.0)
    assert ensemble.state()["members"]["openai/gpt-x"]["reward_sum"] == 1.0


@pytest.mark.parametrize("strategy", ["ucb", "thompson", "fixed"])
def test_state_round_trip_continues_exactly_as_an_uninterrupted_run(strategy: str) -> None:
    arms: Arms = {"a": (0.5, 0.01), "b": (0.3, 0.002), "c": (0.2, 0.0)}

    def make() -> EnsembleModel:
        return EnsembleModel(
            members(*arms),
            strategy=strategy,  # type: ignore[arg-type]
            weights=[1, 2, 3] if strategy == "fixed" else None,
            temperatures=[0.1, 0.9],
            seed=7,
        )

    straight = make()
    whole = simulate(straight, arms, 100, world=random.Random(3))

    world = random.Random(3)
    first = make()
    head = simulate(first, arms, 50, world=world)
    snapshot = json.loads(json.dumps(first.state()))
    resumed = make()
    resumed.load_state(snapshot)
    tail = simulate(resumed, arms, 50, world=world)

    assert head + tail == whole
    assert resumed.state() == straight.state()
    assert len(set(whole)) > 1  # a stuck ensemble would make the comparison vacuous


def test_load_state_warns_about_members_that_left_and_starts_new_ones_fresh() -> None:
    old = EnsembleModel(members("a", "gone"))
    old.update("gone", 1.0, 0.5)
    old.update("a", 0.5, 0.1)
    new = EnsembleModel(members("a", "new"))
    with pytest.warns(UserWarning, match="'gone'"):
        new.load_state(old.state())
    arms = new.state()["members"]
    assert arms["a"]["reward_sum"] == 0.5 and arms["new"]["updates"] == 0


def test_load_state_rejects_malformed_snapshots() -> None:
    ensemble = EnsembleModel(members("a"))
    with pytest.raises(ValueError, match="version"):
        ensemble.load_state({"members": {}})
    with pytest.raises(ValueError, match="malformed"):
        ensemble.load_state({"version": 1, "members": {"a": {"bogus": 1}}, "rng": [3, [], None]})


def test_update_rejects_unknown_members_and_out_of_range_values() -> None:
    ensemble = EnsembleModel(members("a", "b"))
    with pytest.raises(ValueError, match=r"unknown model 'zzz'.*\['a', 'b'\]"):
        ensemble.update("zzz", 0.5, 0.0)
    with pytest.raises(ValueError, match=r"reward must be in \[0, 1\]"):
        ensemble.update("a", 1.5, 0.0)
    with pytest.raises(ValueError, match="reward"):
        ensemble.update("a", float("nan"), 0.0)
    with pytest.raises(ValueError, match="cost"):
        ensemble.update("a", 0.5, -1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": []}, "at least one member"),
        ({"models": members("a", "a")}, r"distinct.*\['a'\]"),
        ({"strategy": "greedy"}, "unknown strategy 'greedy'"),
        ({"strategy": "fixed", "weights": [1.0]}, "got 1 weights for 2 member"),
        ({"strategy": "fixed", "weights": [1.0, -0.5]}, r"weights must be finite and >= 0.*-0\.5"),
        ({"strategy": "fixed", "weights": [0, 0]}, "must not all be zero"),
        ({"strategy": "ucb", "weights": [1, 1]}, "weights only apply to strategy='fixed'"),
        ({"temperatures": []}, "at least one value"),
        ({"temperatures": [0.5, -1]}, "temperatures must be finite"),
        ({"cost_weight": -1}, "cost_weight"),
        ({"exploration": float("inf")}, "exploration"),
    ],
)
def test_bad_configuration_raises_value_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"models": members("a", "b"), **kwargs}
    with pytest.raises(ValueError, match=message):
        EnsembleModel(**args)  # type: ignore[arg-type]
