"""Attack: ignore SIGTERM, SIGINT and SIGHUP, then busy-loop, hoping a polite kill is all
the sandbox sends.

Expected: SIGKILL after the grace period -> failure "timeout", score 0, process gone.
"""

import signal

TARGETS = {}


def solve(inputs):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, TARGETS.get("marker", "adv").encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass
    while True:
        pass
