"""Proposers: operators that turn a parent (and inspirations) into a candidate.

Operators are small async functions registered by name with :func:`operator`;
``numeric_mutation`` needs no model, ``diff``/``rewrite``/``fix`` ask one.
"""

from . import _llm, _mutation  # noqa: F401  (registers the built-in operators)
from ._mutation import find_literals
from ._novelty import NoveltyFilter, normalized_tokens
from ._prompt import DEFAULT_PREAMBLE, build_messages
from ._registry import OperatorInfo, get_operator, operator, operator_names
from ._types import Operator, Proposal, ProposalContext

__all__ = [
    "DEFAULT_PREAMBLE",
    "NoveltyFilter",
    "Operator",
    "OperatorInfo",
    "Proposal",
    "ProposalContext",
    "build_messages",
    "find_literals",
    "get_operator",
    "normalized_tokens",
    "operator",
    "operator_names",
]
