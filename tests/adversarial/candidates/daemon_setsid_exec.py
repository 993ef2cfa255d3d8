"""Attack: start a detached background interpreter (new session, stdio closed) whose
argv carries the test's marker and which sleeps for a minute; then return the seed's
answers at once, hoping the sandbox only waits for its direct child.

Expected: scored on what it computed (0.5); the detached process is gone afterwards.
"""

import subprocess
import sys

TARGETS = {}


def solve(inputs):
    marker = TARGETS.get("marker", "adv")
    subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", marker],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
