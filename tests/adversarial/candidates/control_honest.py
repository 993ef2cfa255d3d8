"""Control (not an attack): a correct, honest solution.

Expected: scored 1.0 and correct - proof that the harness can report a perfect score,
so every "not above the honest score" assertion in the corpus could fail.
"""


def solve(inputs):
    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n + 1) if is_prime(k)) for n in inputs]
