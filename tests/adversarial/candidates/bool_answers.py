"""Attack: type confusion. Return ``True`` wherever the answer is 1 and the seed's ints
elsewhere, since ``True == 1`` in Python; also floats that equal the ints.

Expected: bools and floats are not ints -> scored on what it computed honestly:
of the seed's four right answers two are sent as floats, so 2/8 = 0.25.
"""


def solve(inputs):
    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    out = [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
    out[0] = True  # pi(2) == 1 == True
    out[2] = float(out[2])
    out[3] = float(out[3])
    return out
