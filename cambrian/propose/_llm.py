"""Operators that ask the model: diff, rewrite and fix."""

from __future__ import annotations

import logging

from .._exceptions import CambrianError, EditError, ModelResponseError
from ..archive import Program
from ..edits import apply_reply, check_interface, evolvable_paths
from ..models import GenerateConfig, Message, Usage, model_info
from ._prompt import build_messages, render
from ._registry import operator
from ._types import Proposal, ProposalContext

logger = logging.getLogger("cambrian.propose")


def _target_path(ctx: ProposalContext) -> str:
    paths = evolvable_paths(ctx.parent.files)
    return ctx.task.entry if ctx.task.entry in paths else paths[0]


def estimate_tokens(messages: list[Message]) -> int:
    """A conservative token count: code runs at about 3 characters per token."""
    return sum(len(m.content) for m in messages) // 3 + 4 * len(messages)


def _innermost(ctx: ProposalContext) -> object:
    model: object = ctx.model
    while hasattr(model, "inner"):  # a recording wrapper: the real model knows itself
        model = model.inner
    return model


def _prompt_view(ctx: ProposalContext) -> str:
    """The catalog's ``prompt_view`` for the run's model; ``file`` when unknown."""
    model = _innermost(ctx)
    info = getattr(model, "info", None)
    name = getattr(model, "name", "")
    if info is None and "/" in name and not name.startswith(("python:", "scripted:", "replay:")):
        try:
            info = model_info(name)
        except CambrianError:  # an unknown spec simply has no preference
            info = None
    return str(getattr(info, "prompt_view", "file"))


def _prompt_budget(ctx: ProposalContext) -> int | None:
    explicit = getattr(ctx.settings, "context_tokens", None)
    if explicit:
        return int(explicit)
    model = _innermost(ctx)
    info = getattr(model, "info", None)
    window = getattr(info, "context_window", None) or getattr(model, "context_window", None)
    if not window:
        return None
    reserve = getattr(ctx.settings, "max_tokens", None) or min(4096, window // 4)
    return int(window) - int(reserve)


_warned: set[str] = set()


def _fit(ctx: ProposalContext, kind: str, path: str) -> tuple[list[Message], int]:
    """Messages that fit the model's context: inspirations go first.

    Returns the messages and how many inspirations were dropped; raises
    ModelResponseError when even the parent alone does not fit.
    """
    budget = _prompt_budget(ctx)
    view = _prompt_view(ctx)
    inspirations = list(ctx.inspirations)

    def build(shown: list[Program]) -> list[Message]:
        return build_messages(
            kind,
            ctx.task,
            ctx.parent,
            shown,
            path,
            view=view,
            advice=ctx.advice,
            preamble=ctx.preamble,
        )

    messages = build(inspirations)
    if budget is None:
        return messages, 0
    dropped = 0
    while estimate_tokens(messages) > budget and inspirations:
        inspirations.pop()
        dropped += 1
        messages = build(inspirations)
    needed = estimate_tokens(messages)
    if dropped and ctx.model is not None and ctx.model.name not in _warned:
        _warned.add(ctx.model.name)
        logger.warning(
            "prompts for %s exceed its context (%d tokens): dropping inspirations",
            ctx.model.name,
            budget,
        )
    if needed > budget:
        raise ModelResponseError(
            f"the prompt needs about {needed} tokens but {budget} fit in the model's context;"
            " the program is too large for this model"
        )
    return messages, dropped


async def _ask(ctx: ProposalContext, kind: str, mode: str) -> Proposal:
    """Ask, apply, and reflect the model-facing error back a bounded number of times."""
    assert ctx.model is not None
    path = _target_path(ctx)
    settings = ctx.settings
    try:
        messages, _dropped = _fit(ctx, kind, path)
    except ModelResponseError as exc:
        return Proposal(
            files=ctx.parent.files,
            operator=kind,
            model=ctx.model.name,
            failure="model_error",
            error=str(exc),
        )
    config = GenerateConfig(
        temperature=getattr(settings, "temperature", None),
        max_tokens=getattr(settings, "max_tokens", None),
        seed=ctx.rng.randrange(2**31),
    )
    usage = Usage()
    answered_by = ctx.model.name  # in an ensemble, the member that actually answered
    reflections = getattr(settings, "reflections", 1)
    failure, error, reply = "parse_error", "", ""
    for attempt in range(reflections + 1):
        try:
            completion = await ctx.model.generate(messages, config)
        except ModelResponseError as exc:
            # The model answered with nothing usable: a failed proposal, charged as such.
            return Proposal(
                files=ctx.parent.files,
                operator=kind,
                model=answered_by,
                usage=usage,
                reply=reply or None,
                failure="model_error",
                error=str(exc),
                reflections=attempt,
            )
        usage = usage + completion.usage
        answered_by = completion.model or answered_by
        reply = completion.text
        try:
            if completion.finish_reason == "length":
                raise EditError("the reply was cut off at the token limit; send a shorter edit")
            applied = apply_reply(ctx.parent.files, reply, default_path=path, mode=mode)  # type: ignore[arg-type]
            check_interface(ctx.parent.files, applied.files)
            why = ctx.is_duplicate(applied.files)
            if why:
                duplicate = EditError(f"{why}; propose a substantively different change")
                duplicate.kind = "duplicate"
                raise duplicate
        except EditError as exc:
            failure, error = exc.kind, str(exc)
            messages = [
                *messages,
                Message("assistant", reply),
                Message("user", render("reflect", error=error)),
            ]
            continue
        return Proposal(
            files=applied.files,
            operator=kind,
            model=answered_by,
            usage=usage,
            edit_format=applied.format,
            fuzz=tuple(applied.fuzz),
            change=f"{applied.format}, {applied.blocks} block(s)",
            reply=reply,
            reflections=attempt,
        )
    return Proposal(
        files=ctx.parent.files,
        operator=kind,
        model=answered_by,
        usage=usage,
        reply=reply,
        failure=failure,
        error=error,
        reflections=reflections,
    )


@operator("diff", needs_model=True)
async def diff(ctx: ProposalContext) -> Proposal:
    """Ask the model for SEARCH/REPLACE edits to the parent."""
    return await _ask(ctx, "diff", "auto")


@operator("rewrite", needs_model=True)
async def rewrite(ctx: ProposalContext) -> Proposal:
    """Ask the model to rewrite the parent's EVOLVE-BLOCK whole."""
    return await _ask(ctx, "rewrite", "auto")


@operator("fix", needs_model=True, repairs=True)
async def fix(ctx: ProposalContext) -> Proposal:
    """Ask the model to repair a failed or incorrect program."""
    return await _ask(ctx, "fix", "auto")
