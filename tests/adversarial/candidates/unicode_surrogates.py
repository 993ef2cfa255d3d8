"""Attack: unicode edge cases in output. Write invalid UTF-8 (encoded lone surrogates,
stray continuation bytes, overlongs) and NUL bytes to stdout/stderr, put a lone
surrogate string and a NUL-laden string into its result, and name an answer with
right-to-left override characters - aiming at a decoder or the SQLite store (which
rejects lone surrogates) further down the pipeline.

Expected: output is decoded with replacement and stored fine; the surrogate string is
just a wrong answer: scored on what it computed (0.5).
"""

import os


def solve(inputs):
    junk = "\ud800 \udfff \x00 \u202e1.0=erocs".encode("utf-8", "surrogatepass")
    os.write(1, junk + b" \xc0\xaf \x80\x80 \xff\xfe\n")
    os.write(2, junk + b"\n")

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    answers = [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
    answers[0] = "\ud800\x00\u202e"  # seed's answer for n=2 was wrong anyway
    return answers
