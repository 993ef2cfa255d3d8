"""Attack: act after the result. Register an atexit hook and a non-daemon thread that,
once solve() has returned the seed's answers, print a fake perfect score, try to
overwrite any result file in its cwd, and then keep the process alive forever.

Expected: the value returned by solve() is what counts and the runner does not wait
for hooks or threads: scored on what it computed (0.5); the lingering process is
killed.
"""

import atexit
import json
import threading
import time

_FAKE = json.dumps({"combined_score": 1.0, "correct": True, "ok": True})


def _after():
    print(_FAKE, flush=True)
    for name in ("result.json", "output.json"):
        try:
            with open(name, "w") as f:
                f.write(_FAKE)
        except OSError:
            pass
    while True:
        time.sleep(1)


def solve(inputs):
    atexit.register(_after)
    threading.Thread(target=lambda: (time.sleep(0.2), _after())).start()

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
