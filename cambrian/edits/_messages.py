"""Error messages written for the model: short, concrete, bounded in size."""

from __future__ import annotations

from cambrian.edits._match import Miss, Region

MAX_MESSAGE = 2000
_PREVIEW_LINES = 6
_LINE_WIDTH = 100


def preview(lines: list[str], limit: int = _PREVIEW_LINES) -> str:
    """Indented excerpt of ``lines``, at most ``limit`` lines of bounded width."""
    shown = [
        "    " + (x if len(x) <= _LINE_WIDTH else x[:_LINE_WIDTH] + "...") for x in lines[:limit]
    ]
    if len(lines) > limit:
        shown.append(f"    ... ({len(lines) - limit} more lines)")
    return "\n".join(shown) if shown else "    (nothing)"


def span(start: int, stop: int) -> str:
    """1-based, inclusive line span of the 0-based half-open range."""
    return f"line {start + 1}" if stop - start <= 1 else f"lines {start + 1}-{stop}"


def editable(regions: list[Region]) -> str:
    """Where the model may edit, e.g. ``lines 4-20, 31-40``."""
    if not regions:
        return "nothing"
    parts = [f"{a + 1}-{b}" if b > a else f"(empty block after line {a})" for a, b in regions]
    return "lines " + ", ".join(parts)


def numbers(items: list[int]) -> str:
    """``1, 3`` style list."""
    return ", ".join(str(i) for i in items)


def miss(
    index: int,
    path: str,
    search: list[str],
    result: Miss,
    lines: list[str],
    regions: list[Region],
    hint: Region | None,
) -> str:
    """Explain why block ``index`` found no unique in-region match."""
    head = f"Block {index} ({path}): "
    if result.reason == "ambiguous":
        where = ", ".join(str(s + 1) for s in result.starts[:8])
        return (
            head + f"the SEARCH matches {len(result.starts)} places (starting at lines "
            f"{where}). Add a few more unchanged lines of context around it so that it "
            "matches exactly one place.\n  SEARCH began with:\n" + preview(search, 3)
        )
    if result.reason == "outside":
        s = result.starts[0]
        return (
            head + f"the SEARCH matches {span(s, s + result.size)}, but a SEARCH must lie "
            f"wholly inside one EVOLVE-BLOCK. Only {editable(regions)} of {path} may change; "
            "the EVOLVE-BLOCK marker lines and everything outside them must stay as they are."
        )
    text = (
        head + "the SEARCH does not match the file (compared exactly, then ignoring "
        "trailing whitespace and indentation).\n  SEARCH began with:\n" + preview(search)
    )
    if hint is not None:
        a, b = hint
        text += (
            f"\n  Closest real lines in {path} ({span(a, b)}), shown only as a hint:\n"
            + preview(lines[a:b])
        )
    return text


def failed_blocks(details: list[str], failed: list[int], matched: list[int], total: int) -> str:
    """The whole message for a diff in which some blocks failed."""
    what = "block" if total == 1 else "blocks"
    head = (
        f"{len(failed)} of {total} SEARCH/REPLACE {what} failed (block {numbers(failed)}), "
        "so no change was applied: all blocks must apply together."
        if total > 1
        else "The SEARCH/REPLACE block failed, so no change was applied."
    )
    if matched:
        word = "Block" if len(matched) == 1 else "Blocks"
        ok = f"{word} {numbers(matched)} matched and would have applied."
    else:
        ok = "No block matched." if total > 1 else ""
    tail = (
        "Resend every block (the ones that matched too), with each SEARCH copied "
        "character for character from the current file, inside an EVOLVE-BLOCK."
        if total > 1
        else "Resend the block with its SEARCH copied character for character from the "
        "current file, inside an EVOLVE-BLOCK."
    )
    body = ""
    budget = MAX_MESSAGE - len(head) - len(ok) - len(tail) - 8
    for n, d in enumerate(details):
        piece = d + "\n\n"
        if n > 0 and len(body) + len(piece) > budget:
            body += f"... and {len(details) - n} more failed block(s).\n\n"
            break
        body += piece
    return bounded("\n\n".join(p for p in (head, body.rstrip("\n"), ok, tail) if p))


def bounded(text: str) -> str:
    """Cut ``text`` to :data:`MAX_MESSAGE` characters."""
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 15] + "\n... (cut)"
