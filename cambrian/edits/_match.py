"""Locate one SEARCH block in a file: the matching ladder and the "closest lines" hint.

The ladder is aider's, and it stops where aider's reliable rungs stop: exact, then
trailing-whitespace-insensitive, then a uniform indentation offset, then the same three
with stray blank lines trimmed off the SEARCH's ends. Edit distance never decides a
match; it only picks the lines shown to the model as a hint when nothing matched.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Fuzz = Literal["exact", "whitespace", "indent", "blank_line"]
Region = tuple[int, int]

# Returns the replacement lines fitted to the matched window, or None for no match.
_Rung = Callable[[list[str], list[str], list[str]], list[str] | None]

_HINT_WINDOWS = 4000  # bounds the difflib work on very large blocks


@dataclass
class Match:
    """A unique match inside one region."""

    start: int
    stop: int
    lines: list[str]
    fuzz: Fuzz


@dataclass
class Miss:
    """Why a SEARCH did not yield a unique in-region match.

    ``reason`` is ``"no_match"``, ``"ambiguous"`` (several in-region matches) or
    ``"outside"`` (matches exist but none lies wholly inside one region); ``starts``
    holds the 0-based first lines of those matches.
    """

    reason: Literal["no_match", "ambiguous", "outside"]
    starts: list[int]
    size: int


def _exact(window: list[str], search: list[str], replace: list[str]) -> list[str] | None:
    return list(replace) if window == search else None


def _whitespace(window: list[str], search: list[str], replace: list[str]) -> list[str] | None:
    same = all(w.rstrip() == s.rstrip() for w, s in zip(window, search, strict=True))
    return list(replace) if same else None


def lead(line: str) -> str:
    """Leading whitespace of ``line``."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def _indent(window: list[str], search: list[str], replace: list[str]) -> list[str] | None:
    """Match when every non-blank SEARCH line is off by the same leading whitespace."""
    pairs = [(w.rstrip(), s.rstrip()) for w, s in zip(window, search, strict=True)]
    if any(bool(w.strip()) != bool(s.strip()) for w, s in pairs):
        return None
    pairs = [(w, s) for w, s in pairs if s.strip()]
    if not pairs or any(w.lstrip() != s.lstrip() for w, s in pairs):
        return None
    w0, s0 = lead(pairs[0][0]), lead(pairs[0][1])
    if w0.endswith(s0) and len(w0) > len(s0):
        extra = w0[: len(w0) - len(s0)]
        if all(lead(w) == extra + lead(s) for w, s in pairs):
            return [extra + r if r.strip() else r for r in replace]
    elif s0.endswith(w0) and len(s0) > len(w0):
        extra = s0[: len(s0) - len(w0)]
        if all(lead(s) == extra + lead(w) for w, s in pairs):
            # A REPLACE line indented less than the offset cannot keep its relative
            # indentation; dropping its leading whitespace is the least bad guess.
            return [r[len(extra) :] if r.startswith(extra) else r.lstrip(" \t") for r in replace]
    return None


_RUNGS: tuple[tuple[Fuzz, _Rung], ...] = (
    ("exact", _exact),
    ("whitespace", _whitespace),
    ("indent", _indent),
)


def _trim_blank_ends(search: list[str], replace: list[str]) -> tuple[list[str], list[str]]:
    """Drop blank lines at the ends of SEARCH, and as many at the same end of REPLACE."""
    s, r = list(search), list(replace)
    while s and not s[0].strip():
        s.pop(0)
        if r and not r[0].strip():
            r.pop(0)
    while s and not s[-1].strip():
        s.pop()
        if r and not r[-1].strip():
            r.pop()
    return s, r


def _inside(start: int, stop: int, regions: list[Region]) -> bool:
    return any(a <= start and stop <= b for a, b in regions)


def find(
    lines: list[str], regions: list[Region], search: list[str], replace: list[str]
) -> Match | Miss:
    """Find ``search`` in ``lines`` by the ladder; only in-region matches may apply.

    The first rung that matches inside a region decides: one match applies, several
    are ambiguous. Matches that only ever lie outside the regions are reported as a
    scope violation once no rung finds an in-region one.
    """
    attempts: list[tuple[Fuzz | None, list[str], list[str]]] = [(None, search, replace)]
    trimmed_s, trimmed_r = _trim_blank_ends(search, replace)
    if trimmed_s != search and trimmed_s:
        attempts.append(("blank_line", trimmed_s, trimmed_r))
    outside: Miss | None = None
    for label, s, r in attempts:
        n = len(s)
        for fuzz, rung in _RUNGS:
            found: list[tuple[int, list[str]]] = []
            for i in range(len(lines) - n + 1):
                fitted = rung(lines[i : i + n], s, r)
                if fitted is not None:
                    found.append((i, fitted))
            if not found:
                continue
            inside = [(i, f) for i, f in found if _inside(i, i + n, regions)]
            if len(inside) == 1:
                i, fitted = inside[0]
                return Match(i, i + n, fitted, label or fuzz)
            if inside:
                return Miss("ambiguous", [i for i, _ in inside], n)
            if outside is None:
                outside = Miss("outside", [i for i, _ in found], n)
    return outside or Miss("no_match", [], len(search))


def closest(lines: list[str], regions: list[Region], search: list[str]) -> Region | None:
    """The in-region window of ``len(search)`` lines most similar to ``search``."""
    s, _ = _trim_blank_ends(search, [])
    if not s:
        return None
    target = "\n".join(x.strip() for x in s)
    best: tuple[float, Region] | None = None
    budget = _HINT_WINDOWS
    for a, b in regions:
        if a == b:
            continue
        size = min(len(s), b - a)
        for i in range(a, b - size + 1):
            budget -= 1
            if budget < 0:
                return best[1] if best else None
            window = "\n".join(x.strip() for x in lines[i : i + size])
            sm = difflib.SequenceMatcher(None, window, target, autojunk=False)
            if best is not None and sm.quick_ratio() <= best[0]:
                continue
            ratio = sm.ratio()
            if best is None or ratio > best[0]:
                best = (ratio, (i, i + size))
    return best[1] if best else None
