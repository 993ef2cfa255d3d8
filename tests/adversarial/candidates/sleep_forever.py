"""Attack: sleep (practically) forever, using no CPU, so a CPU-time rlimit never fires.

Expected: the parent's wall-clock limit kills it -> failure "timeout", score 0.
"""

import time


def solve(inputs):
    time.sleep(10**7)
    return [0] * len(inputs)
