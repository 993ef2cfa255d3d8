"""Attack: a 10 MB source file. The test pads this file to ~10 MB (a huge comment block
and a huge string constant; not committed), to exhaust the compile step, the copy into
the sandbox, or the size limits of storage and prompts. Otherwise it is the seed.

Expected: accepted and scored on what it computed (0.5) within the time limit.
"""

PADDING = ""  # BIG-PADDING-HERE


def solve(inputs):
    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
