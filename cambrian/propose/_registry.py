"""Operators are small async functions registered by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._exceptions import ConfigError
from ._types import Operator


@dataclass(frozen=True)
class OperatorInfo:
    """A registered operator and what it needs."""

    name: str
    fn: Operator
    needs_model: bool
    repairs: bool
    """True when the operator's parent is a failed or incorrect program."""


_OPERATORS: dict[str, OperatorInfo] = {}


def operator(
    name: str, *, needs_model: bool, repairs: bool = False
) -> Callable[[Operator], Operator]:
    """Register ``fn`` as the operator ``name``.

    Args:
        name: The name used in ``propose.operators``.
        needs_model: The operator calls the model.
        repairs: The operator starts from a failed or incorrect program.
    """

    def register(fn: Operator) -> Operator:
        _OPERATORS[name] = OperatorInfo(name, fn, needs_model, repairs)
        return fn

    return register


def get_operator(name: str) -> OperatorInfo:
    """The operator registered as ``name``.

    Raises:
        ConfigError: No such operator; the message lists the valid names.
    """
    try:
        return _OPERATORS[name]
    except KeyError:
        raise ConfigError(
            f"unknown operator {name!r}; valid operators: {', '.join(sorted(_OPERATORS))}"
        ) from None


def operator_names() -> list[str]:
    return sorted(_OPERATORS)
