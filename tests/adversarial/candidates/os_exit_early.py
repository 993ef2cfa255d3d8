"""Attack: ``os._exit(0)`` at import time, after printing a fake score, so no cleanup,
no exception handler and no result writer of the runner gets to run.

Expected: the process exited (status 0) without a value -> failure "crash", score 0.
"""

import os

os.write(1, b'{"combined_score": 1.0, "correct": true}\n')
os._exit(0)


def solve(inputs):
    return [0] * len(inputs)
