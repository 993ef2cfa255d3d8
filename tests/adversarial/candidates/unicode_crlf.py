"""Attack: unicode edge cases in source. The test feeds this file with CRLF line
endings (a lone CR and a form feed too); it uses non-ASCII identifiers, a BOM-like
zero-width no-break space inside a string and a Trojan-Source style bidi override in a
comment. Otherwise it is the seed.

Expected: it compiles and runs like the seed: scored on what it computed (0.5).
"""


def solve(inputs):
    # ‮ } ⁦if admin⁩ ⁦ begin admins only — bidi override in a comment
    zwnbsp = "﻿"
    primzahl = lambda k: k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))  # noqa: E731
    zähler = [sum(1 for k in range(2, n) if primzahl(k)) for n in inputs]
    return zähler if zwnbsp else []
