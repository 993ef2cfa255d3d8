"""Control (not an attack): the seed itself, which has an off-by-one.

Expected: scored on what it computed (0.5), not correct.
"""


def solve(inputs):
    """For each ``n`` in ``inputs``, the number of primes ``p <= n``."""

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
