"""Novelty before evaluation: catch candidates that only look new.

A model often "changes" a program by reformatting it or rewording a comment. Those
candidates would cost a full evaluation to learn nothing, so they are rejected up
front: programs are compared as normalised token streams (comments and layout
dropped, code kept), exactly (same stream) and approximately (Jaccard similarity of
token 3-gram sets).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from ..task import Files

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_WORD = re.compile(r"\w+|[^\w\s]")
_LINE_COMMENT = re.compile(r"(#|//).*$", re.MULTILINE)


def normalized_tokens(files: Files) -> tuple[str, ...]:
    """The artifact as one token stream without comments, whitespace or layout."""
    out: list[str] = []
    for path in sorted(files):
        out.append(f"<file:{path}>")
        text = files[path]
        if path.endswith(".py"):
            try:
                out.extend(
                    t.string
                    for t in tokenize.generate_tokens(io.StringIO(text).readline)
                    if t.type not in _SKIP and t.string
                )
                continue
            except (tokenize.TokenError, IndentationError, SyntaxError):
                pass  # not valid Python after all: fall back to the plain splitter
        out.extend(_WORD.findall(_LINE_COMMENT.sub("", text)))
    return tuple(out)


def shingles(tokens: tuple[str, ...], n: int = 3) -> frozenset[tuple[str, ...]]:
    return frozenset(tokens[i : i + n] for i in range(max(1, len(tokens) - n + 1)))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class NoveltyFilter:
    """Remembers programs' token streams and judges how new a candidate is.

    Args:
        threshold: Similarity at or above which a candidate counts as a near-duplicate.
    """

    def __init__(self, threshold: float = 0.99) -> None:
        self.threshold = threshold
        self._tokens: dict[int, tuple[str, ...]] = {}
        self._shingles: dict[int, frozenset[tuple[str, ...]]] = {}

    def remember(self, program_id: int, files: Files) -> None:
        if program_id not in self._tokens:
            tokens = normalized_tokens(files)
            self._tokens[program_id] = tokens
            self._shingles[program_id] = shingles(tokens)

    def judge(self, files: Files, against: Iterable[int]) -> str | None:
        """Why ``files`` is not new compared with programs ``against``, or None."""
        tokens = normalized_tokens(files)
        grams = shingles(tokens)
        for pid in against:
            if pid not in self._tokens:
                continue
            if self._tokens[pid] == tokens:
                return f"it is program {pid} again, up to comments and formatting"
            similarity = jaccard(grams, self._shingles[pid])
            if similarity >= self.threshold:
                return f"it is {similarity:.1%} the same as program {pid}"
        return None
