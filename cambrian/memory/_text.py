"""Lexical text tools for memory: tokens, a crude stemmer, similarity, Okapi BM25.

No model and no dependency: memory must work offline and with the smallest models.
Retrieval and de-duplication both compare *terms*: tokens reduced by :func:`stem`, so
that "initial" and "initialize", "centers" and "center" meet.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from ._records import Record

_TOKEN = re.compile(r"[a-z0-9_]+")

STOP_WORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have he
    her his how i if in into is it its itself may me might my of on or our ours she should
    so such than that the their them then there these they this those through to too us
    was we were what when where which while who whom why will with would you your""".split()  # noqa: SIM905  (a word list reads better as text)
)
"""Dropped by :func:`tokens`. Negations ("not", "no", "never") stay: they carry meaning."""

# (suffix, replacement), first match wins; "ss" maps to itself so "class" keeps its s.
_SUFFIXES = (
    ("ations", ""),
    ("ation", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("sses", "ss"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("xes", "x"),
    ("ed", ""),
    ("ly", ""),
    ("ss", "ss"),
    ("s", ""),
)
_STEM_CHARS = 6


def tokens(text: str) -> list[str]:
    """Lowercase words and identifiers of ``text``, stop words dropped.

    Splits on anything but letters, digits and underscores, so ``num_circles`` stays
    one token.
    """
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS and t.strip("_")]


def stem(token: str) -> str:
    """A crude stem: strip one common suffix, keep at most six characters.

    Only purely alphabetic tokens are stemmed; identifiers and numbers stay whole.
    ``initial``/``initialize`` → ``initia``; ``sorting``/``sorted`` → ``sort``.
    """
    if not token.isalpha():
        return token
    for suffix, replacement in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            token = token[: -len(suffix)] + replacement
            break
    return token[:_STEM_CHARS]


def terms(text: str) -> list[str]:
    """The stemmed tokens of ``text``; an identifier also yields its parts.

    ``pack_circles`` gives ``pack_circles``, ``pack`` and ``circle``, so a query in
    prose finds code that names the same things.
    """
    out: list[str] = []
    for token in tokens(text):
        out.append(stem(token))
        if "_" in token:
            parts = [p for p in token.split("_") if p and p not in STOP_WORDS]
            if len(parts) > 1:
                out.extend(stem(p) for p in parts)
    return out


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' term sets, in [0, 1].

    "use a grid for initial centers" and "initialize centers on a grid" share three of
    four terms (0.75); unrelated sentences share none. Two texts without any term are
    similar (1.0) only when they are equal ignoring case and spaces.
    """
    ta, tb = set(terms(a)), set(terms(b))
    if not ta or not tb:
        same = " ".join(a.lower().split()) == " ".join(b.lower().split())
        return 1.0 if not ta and not tb and same else 0.0
    return len(ta & tb) / len(ta | tb)


class BM25:
    """Okapi BM25 over a fixed list of tokenized documents.

    Uses the non-negative idf ``log(1 + (N - n + 0.5) / (n + 0.5))``, so a term found in
    every document still counts a little and no score is negative.

    Args:
        docs: One token list per document.
        k1: Term-frequency saturation.
        b: Length normalisation (0: none, 1: full).
    """

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._tf = [Counter(doc) for doc in docs]
        self._len = [len(doc) for doc in docs]
        self._avg = (sum(self._len) / len(docs) if docs else 0.0) or 1.0
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n_docs = len(docs)
        self._idf = {t: math.log(1 + (n_docs - n + 0.5) / (n + 0.5)) for t, n in df.items()}

    def scores(self, query_tokens: list[str]) -> list[float]:
        """One score ≥ 0 per document, in order; each distinct query token counts once."""
        query = [t for t in dict.fromkeys(query_tokens) if t in self._idf]
        out: list[float] = []
        for tf, length in zip(self._tf, self._len, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self._avg)
            score = 0.0
            for term in query:
                f = tf.get(term, 0)
                if f:
                    score += self._idf[term] * f * (self.k1 + 1) / (f + norm)
            out.append(score)
        return out


def rank(
    records: list[Record], query: str, *, tags: Iterable[str] = (), k: int = 5
) -> list[tuple[Record, float]]:
    """The ranking of :meth:`MemoryStore.search` over ``records``."""
    wanted = {t.strip().lower() for t in tags if t.strip()}
    if not records or k <= 0:
        return []
    index = BM25([terms(" ".join((r.name, r.description, r.text, *r.tags))) for r in records])
    hits: list[tuple[Record, float]] = []
    for record, score in zip(records, index.scores(terms(query)), strict=True):
        if score > 0:
            shared = len(wanted & set(record.tags))
            factor = 1 + 0.5 * shared if shared or not record.tags else 0.5 if wanted else 1
            hits.append((record, score * factor))
    hits.sort(key=lambda h: (-h[1], -h[0].utility, -h[0].updated_at))
    hits = hits[:k]
    if len(hits) < k and wanted:
        seen = {r.id for r, _ in hits}
        rest = [r for r in records if r.id not in seen and wanted & set(r.tags)]
        rest.sort(key=lambda r: (-r.utility, -len(wanted & set(r.tags)), -r.updated_at))
        hits += [(r, 0.0) for r in rest[: k - len(hits)]]
    return hits
