"""``numeric_mutation``: the built-in operator that needs no model.

It perturbs one to a few numeric literals inside the EVOLVE-BLOCKs with step sizes
drawn log-uniformly over several orders of magnitude. Driven by the archive's parent
selection this is a real (if blind) stochastic local search: it improves programs
whose quality hinges on constants — the embedded default until a model is configured.
"""

from __future__ import annotations

import io
import math
import re
import tokenize
from dataclasses import dataclass

from ..edits import evolvable_paths, evolve_regions
from ..task import Files
from ._registry import operator
from ._types import Proposal, ProposalContext

_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass(frozen=True)
class NumberLiteral:
    """A numeric literal's place in a file (0-based line, column span)."""

    path: str
    line: int
    start: int
    end: int
    text: str

    @property
    def is_float(self) -> bool:
        return any(c in self.text for c in ".eE")


def _python_numbers(text: str) -> list[tuple[int, int, int, str]]:
    out: list[tuple[int, int, int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NUMBER:
            out.append((tok.start[0] - 1, tok.start[1], tok.end[1], tok.string))
    return out


def _regex_numbers(text: str) -> list[tuple[int, int, int, str]]:
    out: list[tuple[int, int, int, str]] = []
    for i, line in enumerate(text.splitlines()):
        code = re.split(r"#|//", line, maxsplit=1)[0]
        out.extend((i, m.start(), m.end(), m.group()) for m in _NUMBER.finditer(code))
    return out


def _plain_decimal(text: str) -> bool:
    # Hex/octal/binary/complex literals and the like are left alone.
    return re.fullmatch(r"[\d_]*\.?[\d_]*(?:[eE][-+]?\d+)?", text) is not None and any(
        c.isdigit() for c in text
    )


def find_literals(files: Files) -> list[NumberLiteral]:
    """Plain decimal literals inside the EVOLVE-BLOCKs of every evolvable file."""
    found: list[NumberLiteral] = []
    for path in evolvable_paths(files):
        text = files[path]
        regions = evolve_regions(text)
        numbers: list[tuple[int, int, int, str]]
        if path.endswith(".py"):
            try:
                numbers = _python_numbers(text)
            except (tokenize.TokenError, IndentationError, SyntaxError):
                numbers = _regex_numbers(text)
        else:
            numbers = _regex_numbers(text)
        for line, start, end, literal in numbers:
            if _plain_decimal(literal) and any(a <= line < b for a, b in regions):
                found.append(NumberLiteral(path, line, start, end, literal))
    return found


def _format(value: float, as_float: bool) -> str:
    if not as_float:
        return str(int(value))
    text = f"{value:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def _mutate(ctx: ProposalContext, literals: list[NumberLiteral]) -> tuple[Files, str]:
    rng = ctx.rng
    max_k = getattr(ctx.settings, "mutation_max_literals", 3)
    lo, hi = getattr(ctx.settings, "mutation_scale", (0.001, 0.3))
    floats = [lit for lit in literals if lit.is_float]
    # Prefer real-valued constants: integers are often counts whose change breaks shapes.
    pool = floats if floats and rng.random() < 0.85 else literals
    chosen = rng.sample(pool, rng.randint(1, min(max_k, len(pool))))
    edits: dict[str, list[tuple[NumberLiteral, str]]] = {}
    summary = []
    for lit in chosen:
        value = float(lit.text.replace("_", ""))
        if lit.is_float:
            scale = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            new = value + rng.gauss(0.0, scale * max(abs(value), 0.05))
            if value >= 0:
                new = abs(new)  # a literal's sign lives in the code around it
        else:
            new = max(0.0, value + rng.choice((-2, -1, 1, 2))) if value >= 0 else value
        text = _format(new, lit.is_float)
        edits.setdefault(lit.path, []).append((lit, text))
        summary.append(f"{lit.path}:{lit.line + 1} {lit.text} -> {text}")
    out = dict(ctx.parent.files)
    for path, changes in edits.items():
        lines = out[path].splitlines(keepends=True)
        # Right to left so earlier columns stay valid on a shared line.
        for lit, text in sorted(changes, key=lambda c: (c[0].line, c[0].start), reverse=True):
            line = lines[lit.line]
            lines[lit.line] = line[: lit.start] + text + line[lit.end :]
        out[path] = "".join(lines)
    return out, "; ".join(summary)


@operator("numeric_mutation", needs_model=False)
async def numeric_mutation(ctx: ProposalContext) -> Proposal:
    """Perturb numeric literals inside the EVOLVE-BLOCKs (no model involved)."""
    literals = find_literals(ctx.parent.files)
    if not literals:
        return Proposal(
            files=ctx.parent.files,
            operator="numeric_mutation",
            failure="edit_error",
            error="the EVOLVE-BLOCKs contain no numeric literal to mutate",
        )
    tries = 1 + getattr(ctx.settings, "duplicate_retries", 3)
    for _ in range(tries):
        files, change = _mutate(ctx, literals)
        if files != ctx.parent.files and not ctx.is_duplicate(files):
            return Proposal(files=files, operator="numeric_mutation", change=change)
    return Proposal(
        files=ctx.parent.files,
        operator="numeric_mutation",
        failure="duplicate",
        error=f"{tries} mutations in a row reproduced existing programs",
    )
