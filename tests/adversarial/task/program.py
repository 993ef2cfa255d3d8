"""Seed of the adversarial-corpus task: count the primes up to each input.

It has an off-by-one (it counts the primes strictly below ``n``), so it is right only
for the inputs that are not themselves prime: it scores 0.5.
"""


# EVOLVE-BLOCK-START
def solve(inputs):
    """For each ``n`` in ``inputs``, the number of primes ``p <= n``."""

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]


# EVOLVE-BLOCK-END
