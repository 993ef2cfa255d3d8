"""Cambrian's own model types: the one seam every provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens and money spent by one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cost + other.cost,
        )


@dataclass(frozen=True)
class GenerateConfig:
    """Per-call generation settings."""

    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Completion:
    """A model's reply."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"


@runtime_checkable
class Model(Protocol):
    """Anything that can answer a list of messages.

    Providers, the scripted/function test models and user callables all satisfy this.
    """

    name: str

    async def generate(
        self, messages: list[Message], config: GenerateConfig | None = None
    ) -> Completion: ...
