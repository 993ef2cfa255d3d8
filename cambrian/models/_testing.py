"""Models that ship with Cambrian for tests and scripted runs.

They satisfy the same :class:`~cambrian.models.Model` seam as real providers, so the
engine's tests exercise the real proposer, edit and archive code paths.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from .._exceptions import ModelError
from ._types import Completion, GenerateConfig, Message, Usage

Reply = str | Completion
ReplyFn = Callable[[list[Message]], Reply | Awaitable[Reply]]


def _estimate_tokens(text: str) -> int:
    # ~4 characters per token: the usual rule of thumb, good enough for test budgets.
    return max(1, len(text) // 4)


def _completion(reply: Reply, name: str, messages: list[Message]) -> Completion:
    if isinstance(reply, Completion):
        return reply
    prompt = sum(_estimate_tokens(m.content) for m in messages)
    return Completion(
        text=reply, model=name, usage=Usage(prompt, _estimate_tokens(reply)), finish_reason="stop"
    )


class ScriptedModel:
    """Answers with a fixed list of replies, in order.

    Args:
        replies: The replies, as text or full :class:`Completion` objects.
        name: Model name recorded on candidates.
        cycle: Start again at the first reply when the list is exhausted; otherwise
            an exhausted script raises :class:`ModelError`.

    Every call's messages are kept in :attr:`calls` so tests can inspect the prompts.
    """

    def __init__(
        self, replies: Sequence[Reply], *, name: str = "scripted", cycle: bool = False
    ) -> None:
        if not replies:
            raise ModelError("ScriptedModel needs at least one reply")
        self.name = name
        self._replies = list(replies)
        self._cycle = cycle
        self.calls: list[list[Message]] = []

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        index = len(self.calls)
        self.calls.append(list(messages))
        if index >= len(self._replies):
            if not self._cycle:
                raise ModelError(
                    f"ScriptedModel {self.name!r} ran out of replies after {len(self._replies)} calls"
                )
            index %= len(self._replies)
        return _completion(self._replies[index], self.name, messages)


class FunctionModel:
    """Answers by calling ``fn(messages)`` (sync or async) and wrapping its reply.

    Args:
        fn: Returns the reply text or a :class:`Completion`.
        name: Model name recorded on candidates.
    """

    def __init__(self, fn: ReplyFn, *, name: str = "function") -> None:
        self.name = name
        self._fn = fn
        self.calls: list[list[Message]] = []

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion:
        self.calls.append(list(messages))
        reply = self._fn(list(messages))
        if inspect.isawaitable(reply):
            reply = await reply
        return _completion(reply, self.name, messages)
