"""Attack: spin in an infinite loop inside solve().

Expected: the sandbox kills it at the wall-clock limit -> failure "timeout", score 0,
nothing left running.
"""


def solve(inputs):
    n = 0
    while True:
        n += 1
