"""Attack: fork bomb. Every process forks as fast as it can (10 generations, i.e. up to
1024 processes, bounded only so a broken sandbox cannot take the shared test host down),
each renamed to the test's marker and then sleeping forever; the original never returns.

Expected: failure "timeout" (or "crash" when a pids limit makes fork() fail in the main
process), score 0, and not one process with the marker left afterwards.
"""

import os
import time

TARGETS = {}


def _rename():
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, TARGETS.get("marker", "adv").encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def solve(inputs):
    _rename()
    for _ in range(10):
        try:
            os.fork()
        except OSError:
            break
    while True:
        time.sleep(1)
