"""Attack: monkeypatch the clocks (``time.time``, ``perf_counter``, ``monotonic``,
``process_time`` and their ``_ns`` twins) to stand still, then dawdle for 0.5 s, so an
evaluator timing the candidate in the same interpreter sees it as instantaneous.

Expected: the patch lives only in the candidate's process: scored on what it computed
(0.5), and the wall time the evaluator reports (measured by the parent) is >= 0.5 s.
"""

import time

_real_sleep = time.sleep


def solve(inputs):
    for name in ("time", "perf_counter", "monotonic", "process_time"):
        setattr(time, name, lambda: 0.0)
        setattr(time, f"{name}_ns", lambda: 0)
    _real_sleep(0.5)

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
