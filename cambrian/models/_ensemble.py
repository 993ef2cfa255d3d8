"""An ensemble of models, one chosen per proposal by a bandit or by fixed weights.

:class:`EnsembleModel` is itself a :class:`~cambrian.models.Model`: every ``generate``
call picks one member, optionally draws a temperature from a list, and returns that
member's :class:`~cambrian.models.Completion` unchanged, so ``completion.model`` names the
member that answered. Rewards come from outside: after the child is evaluated, the engine
calls :meth:`EnsembleModel.update` with the member's name, the child's improvement over
its parent in ``[0, 1]`` and what the call cost.

Scoring, for member *i* (all sums are over the updates received for *i*):

* ``mean_i = reward_sum_i / updates_i`` (0 before the first update);
* ``rel_cost_i = max(mean_cost_i / max_j mean_cost_j, MIN_RELATIVE_COST)``, or 1 while
  no cost is known for *i* or every known mean cost is 0;
* ``"ucb"``: members never chosen go first; then the highest
  ``(mean_i + exploration * sqrt(2 * ln N / pulls_i)) / rel_cost_i ** cost_weight`` wins,
  with ``N`` the total number of choices so far;
* ``"thompson"``: draw ``theta_i ~ Beta(alpha_i, beta_i)`` with ``alpha_i = 1 + sum r``
  and ``beta_i = 1 + sum (1 - r)`` (a reward in ``[0, 1]`` is a fractional success), and
  the highest ``theta_i / rel_cost_i ** cost_weight`` wins;
* ``"fixed"``: draw a member with probability proportional to its weight.

Ties are broken at random. ``cost_weight=0`` ignores cost; ``cost_weight=1`` ranks by
reward per unit of cost, so a member ten times as expensive needs ten times the reward.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ._types import Completion, GenerateConfig, Message, Model

__all__ = ["MIN_RELATIVE_COST", "EnsembleModel", "Strategy"]

Strategy = Literal["ucb", "thompson", "fixed"]
_STRATEGIES: tuple[Strategy, ...] = ("ucb", "thompson", "fixed")

MIN_RELATIVE_COST = 0.01
"""Floor on a member's cost relative to the priciest member.

A free local model has mean cost 0; without a floor its score would be infinite and no
paid member would ever be chosen again. With it, a free member counts as 1/100 of the
priciest one.
"""

_STATE_VERSION = 1


@dataclass
class _Arm:
    """What the ensemble knows about one member."""

    pulls: int = 0
    """Times chosen, counted when chosen so that calls in flight spread the exploration."""
    updates: int = 0
    """Rewards received (including the zero recorded for a call that raised)."""
    reward_sum: float = 0.0
    cost_sum: float = 0.0
    alpha: float = 1.0
    beta: float = 1.0


class EnsembleModel:
    """Several models behind one :class:`~cambrian.models.Model`, one chosen per call.

    Args:
        models: The members. Their ``name`` attributes must be distinct: rewards are
            routed to members by name.
        strategy: ``"ucb"`` (cost-aware UCB1), ``"thompson"`` (cost-aware Thompson
            sampling on Beta posteriors) or ``"fixed"`` (draw by ``weights``). The
            formulas are in this module's docstring.
        weights: Relative probabilities for ``"fixed"``, one per member, non-negative
            and not all zero; uniform when omitted. Only valid with ``"fixed"``.
        temperatures: When given, each call draws its temperature uniformly from this
            list, overriding ``config.temperature`` (``max_tokens`` and ``seed`` are kept).
        cost_weight: Exponent on the relative cost that divides each score; 0 ignores
            cost, 1 ranks by reward per unit of cost.
        exploration: The UCB exploration constant ``c``. 1.0 is UCB1's; lower it when
            rewards are sparse and small so the bonus does not swamp them.
        seed: Seed of the private random generator (ties, Thompson draws, fixed draws,
            temperatures). Its state is part of :meth:`state`.

    Raises:
        ValueError: On no members, duplicate member names, an unknown strategy,
            ``weights`` of the wrong length, negative, non-finite or all zero, or given
            with a strategy other than ``"fixed"``, an empty or negative
            ``temperatures`` list, or a negative ``cost_weight`` or ``exploration``.

    A member that raises propagates its exception; the ensemble first records that call
    as a reward of 0 at no cost, so a member that keeps failing stops being chosen
    (otherwise its estimate would stay at the prior and Thompson sampling would keep
    drawing it). The engine must therefore call :meth:`update` only for calls that
    returned a completion.
    """

    def __init__(
        self,
        models: Sequence[Model],
        *,
        strategy: Strategy = "ucb",
        weights: Sequence[float] | None = None,
        temperatures: Sequence[float] | None = None,
        cost_weight: float = 1.0,
        exploration: float = 1.0,
        seed: int = 0,
    ) -> None:
        members = list(models)
        if not members:
            raise ValueError("EnsembleModel needs at least one member model, got none")
        names = [m.name for m in members]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"ensemble member names must be distinct (rewards are routed by name); "
                f"duplicated: {duplicates!r}"
            )
        if strategy not in _STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {_STRATEGIES!r}")
        self._weights = _check_weights(weights, len(members), strategy)
        self._temperatures = _check_temperatures(temperatures)
        if not (math.isfinite(cost_weight) and cost_weight >= 0):
            raise ValueError(f"cost_weight must be a finite number >= 0, got {cost_weight!r}")
        if not (math.isfinite(exploration) and exploration >= 0):
            raise ValueError(f"exploration must be a finite number >= 0, got {exploration!r}")

        self.name = f"ensemble({','.join(names)})"
        self.strategy: Strategy = strategy
        self.cost_weight = cost_weight
        self.exploration = exploration
        self._members = members
        self._arms = {n: _Arm() for n in names}
        # A member may report a different ``completion.model`` than its ``name`` (a
        # provider's dated model id, say); remember the mapping so update() still finds it.
        self._aliases: dict[str, str] = {}
        self._rng = random.Random(seed)

    @property
    def members(self) -> list[Model]:
        """The member models, in the order given."""
        return list(self._members)

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        """Pick a member (and temperature), ask it, and return its completion unchanged.

        Args:
            messages: The conversation, passed to the member as is.
            config: Generation settings; ``temperature`` is replaced by a draw from
                ``temperatures`` when the ensemble has a list.

        Returns:
            The chosen member's completion.

        Raises:
            Exception: Whatever the member raises, after recording the call as reward 0.
        """
        # Choosing is synchronous, so concurrent calls each see the pulls counted by the
        # ones before them and no lock is needed under asyncio.
        member, temperature = self._choose()
        if temperature is not None:
            base = config or GenerateConfig()
            config = GenerateConfig(
                temperature=temperature, max_tokens=base.max_tokens, seed=base.seed
            )
        try:
            completion = await member.generate(messages, config)
        except Exception:
            # Whatever went wrong, the pull counts as a failure (so a failing member
            # stops looking promising); the error itself still propagates unchanged.
            self._record(member.name, 0.0, 0.0)
            raise
        if completion.model != member.name and completion.model not in self._arms:
            self._aliases[completion.model] = member.name
        return completion

    def update(self, model_name: str, reward: float, cost: float) -> None:
        """Credit a member with the outcome of one of its completions.

        Args:
            model_name: The member's name, or the ``completion.model`` it returned.
            reward: The child's improvement over its parent, normalised to ``[0, 1]``
                (0 for a child that failed).
            cost: What the call cost, in the unit used for every member (dollars).

        Raises:
            ValueError: If ``model_name`` is not a member, ``reward`` is outside
                ``[0, 1]`` or ``cost`` is negative or not finite. These are caller bugs,
                so they raise rather than silently skew the statistics.
        """
        name = self._aliases.get(model_name, model_name)
        if name not in self._arms:
            raise ValueError(
                f"update() for unknown model {model_name!r}; members are {list(self._arms)!r}"
            )
        if not (0.0 <= reward <= 1.0):
            raise ValueError(f"reward must be in [0, 1], got {reward!r}")
        if not (math.isfinite(cost) and cost >= 0):
            raise ValueError(f"cost must be a finite number >= 0, got {cost!r}")
        self._record(name, reward, cost)

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this ensemble is, as JSON data.

        Returns:
            A JSON-serialisable dict: per-member pulls, updates, reward and cost sums and
            Beta parameters, the name aliases, and the random generator's state.
        """
        version, internal, gauss_next = self._rng.getstate()
        return {
            "version": _STATE_VERSION,
            "members": {name: asdict(arm) for name, arm in self._arms.items()},
            "aliases": dict(self._aliases),
            "rng": [version, list(internal), gauss_next],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state` snapshot; later choices continue the saved sequence.

        The member list may have changed between runs: members saved but no longer in
        the ensemble are dropped with a :class:`UserWarning` (their statistics cannot be
        used), and members not in the snapshot start fresh.

        Args:
            state: A dict returned by :meth:`state`, possibly after a JSON round trip.

        Raises:
            ValueError: If the snapshot is of an unknown version or malformed.
        """
        if state.get("version") != _STATE_VERSION:
            raise ValueError(
                f"unsupported ensemble state version {state.get('version')!r}; "
                f"expected {_STATE_VERSION}"
            )
        try:
            saved = {name: _Arm(**fields) for name, fields in state["members"].items()}
            version, internal, gauss_next = state["rng"]
            rng_state = (int(version), tuple(int(x) for x in internal), gauss_next)
            aliases = {str(k): str(v) for k, v in state.get("aliases", {}).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed ensemble state: {exc}") from exc
        unknown = sorted(set(saved) - set(self._arms))
        if unknown:
            warnings.warn(
                f"ensemble state has statistics for models no longer in the ensemble, "
                f"ignored: {unknown!r}; members are {list(self._arms)!r}",
                UserWarning,
                stacklevel=2,
            )
        self._rng.setstate(rng_state)
        self._arms = {name: saved.get(name, _Arm()) for name in self._arms}
        self._aliases = {k: v for k, v in aliases.items() if v in self._arms}

    def _record(self, name: str, reward: float, cost: float) -> None:
        arm = self._arms[name]
        arm.updates += 1
        arm.reward_sum += reward
        arm.cost_sum += cost
        arm.alpha += reward
        arm.beta += 1.0 - reward

    def _choose(self) -> tuple[Model, float | None]:
        if self.strategy == "fixed":
            index = self._rng.choices(range(len(self._members)), weights=self._weights)[0]
        else:
            index = self._best(self._scores())
        member = self._members[index]
        self._arms[member.name].pulls += 1
        temperature = self._rng.choice(self._temperatures) if self._temperatures else None
        return member, temperature

    def _scores(self) -> list[float]:
        arms = [self._arms[m.name] for m in self._members]
        if self.strategy == "ucb":
            untried = [0.0 if arm.pulls else math.inf for arm in arms]
            if any(math.isinf(s) for s in untried):
                return untried
            log_total = math.log(sum(arm.pulls for arm in arms))
            values = [
                (arm.reward_sum / arm.updates if arm.updates else 0.0)
                + self.exploration * math.sqrt(2.0 * log_total / arm.pulls)
                for arm in arms
            ]
        else:
            values = [self._rng.betavariate(arm.alpha, arm.beta) for arm in arms]
        costs = self._relative_costs(arms)
        return [v / c**self.cost_weight for v, c in zip(values, costs, strict=True)]

    def _best(self, scores: list[float]) -> int:
        top = max(scores)
        best = [i for i, s in enumerate(scores) if s == top]
        return best[0] if len(best) == 1 else self._rng.choice(best)

    @staticmethod
    def _relative_costs(arms: list[_Arm]) -> list[float]:
        means = [arm.cost_sum / arm.updates if arm.updates else None for arm in arms]
        known = [m for m in means if m is not None]
        top = max(known, default=0.0)
        if top <= 0:
            return [1.0] * len(arms)
        return [1.0 if m is None else max(m / top, MIN_RELATIVE_COST) for m in means]


def _check_weights(
    weights: Sequence[float] | None, count: int, strategy: Strategy
) -> list[float] | None:
    if weights is None:
        return None
    if strategy != "fixed":
        raise ValueError(f"weights only apply to strategy='fixed', not {strategy!r}")
    values = [float(w) for w in weights]
    if len(values) != count:
        raise ValueError(f"got {len(values)} weights for {count} member models; give one each")
    bad = [w for w in values if not (math.isfinite(w) and w >= 0)]
    if bad:
        raise ValueError(f"weights must be finite and >= 0, got {bad!r} in {values!r}")
    if sum(values) <= 0:
        raise ValueError(f"weights must not all be zero, got {values!r}")
    return values


def _check_temperatures(temperatures: Sequence[float] | None) -> list[float] | None:
    if temperatures is None:
        return None
    values = [float(t) for t in temperatures]
    if not values:
        raise ValueError("temperatures must list at least one value (or be None)")
    bad = [t for t in values if not (math.isfinite(t) and t >= 0)]
    if bad:
        raise ValueError(f"temperatures must be finite and >= 0, got {bad!r} in {values!r}")
    return values
