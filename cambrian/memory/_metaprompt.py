"""The proposer's system prompt as an evolvable resource.

Prompt variants are memory records of kind ``prompt``. Each proposal draws one by
UCB1 on its children's success rate (a child that beats its parent is a success);
every N proposals a model writes a new variant from the best one and what the search
has learned (ShinkaEvolve's prompt co-evolution). Only the *preamble* evolves: the
task statement and the rules that keep edits inside the EVOLVE-BLOCKs are fixed text
around it, so no variant can talk the proposer out of them.
"""

from __future__ import annotations

import math
import random
import re

from ._records import Record

DEFAULT_NAME = "default"
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_MIN_CHARS, _MAX_CHARS = 20, 1500


def choose_variant(variants: list[Record], rng: random.Random, c: float = 0.5) -> Record:
    """UCB1 over the variants' Laplace-smoothed success rates; untried ones first.

    Args:
        variants: Active prompt records (at least one).
        rng: Breaks ties.
        c: Exploration constant.
    """
    untried = [v for v in variants if v.trials == 0]
    if untried:
        return rng.choice(untried)
    total = sum(v.trials for v in variants)

    def ucb(v: Record) -> tuple[float, float]:
        return (v.utility + c * math.sqrt(2 * math.log(total + 1) / v.trials), rng.random())

    return max(variants, key=ucb)


def parse_variant(reply: str) -> str | None:
    """The new preamble from a mutation reply: its fenced block, or the bare text."""
    match = _FENCE.search(reply)
    text = (match.group(1) if match else reply).strip()
    if not (_MIN_CHARS <= len(text) <= _MAX_CHARS):
        return None
    return text


def worst_to_archive(variants: list[Record], keep: int) -> list[Record]:
    """Variants to archive so that at most ``keep`` stay active; never the default."""
    candidates = [v for v in variants if v.name != DEFAULT_NAME]
    excess = len(variants) - keep
    if excess <= 0:
        return []
    # Untried variants have not had their chance yet: archive tried, weak ones first.
    tried = sorted((v for v in candidates if v.trials), key=lambda v: (v.utility, v.created_at))
    untried = sorted((v for v in candidates if not v.trials), key=lambda v: v.created_at)
    return (tried + untried)[:excess]
