"""Finding a model of one kind inside the wrappers around it (recording, …)."""

from __future__ import annotations

from typing import TypeVar

from ..models import Model

M = TypeVar("M")


def find_model(model: Model | None, kind: type[M]) -> M | None:
    """The ``kind`` model inside ``model``'s wrappers (recording…), or None."""
    found: object = model
    while found is not None and not isinstance(found, kind):
        found = getattr(found, "inner", None)
    return found
