"""Operators that ask the model: diff, rewrite and fix."""

from __future__ import annotations

from .._exceptions import EditError, ModelResponseError
from ..edits import apply_reply, evolvable_paths
from ..models import GenerateConfig, Message, Usage
from ._prompt import build_messages, render
from ._registry import operator
from ._types import Proposal, ProposalContext


def _target_path(ctx: ProposalContext) -> str:
    paths = evolvable_paths(ctx.parent.files)
    return ctx.task.entry if ctx.task.entry in paths else paths[0]


async def _ask(ctx: ProposalContext, kind: str, mode: str) -> Proposal:
    """Ask, apply, and reflect the model-facing error back a bounded number of times."""
    assert ctx.model is not None
    path = _target_path(ctx)
    messages = build_messages(kind, ctx.task, ctx.parent, ctx.inspirations, path)
    settings = ctx.settings
    config = GenerateConfig(
        temperature=getattr(settings, "temperature", None),
        max_tokens=getattr(settings, "max_tokens", None),
        seed=ctx.rng.randrange(2**31),
    )
    usage = Usage()
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
                model=ctx.model.name,
                usage=usage,
                reply=reply or None,
                failure="model_error",
                error=str(exc),
                reflections=attempt,
            )
        usage = usage + completion.usage
        reply = completion.text
        try:
            if completion.finish_reason == "length":
                raise EditError("the reply was cut off at the token limit; send a shorter edit")
            applied = apply_reply(ctx.parent.files, reply, default_path=path, mode=mode)  # type: ignore[arg-type]
            if ctx.is_duplicate(applied.files):
                duplicate = EditError(
                    "this program already exists in the run; propose a different change"
                )
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
            model=ctx.model.name,
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
        model=ctx.model.name,
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
