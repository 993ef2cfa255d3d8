"""Attack: daemonise with the classic double fork + setsid, so the grandchild leaves the
candidate's process group and session and is reparented. The daemon renames itself to
the test's marker and for a minute keeps writing a heartbeat (into its own dir and, if
reachable, the file the test planted outside). The candidate itself returns the seed's
answers at once.

Expected: scored on what it computed (0.5); afterwards no process with the marker
exists and no heartbeat is written any more.
"""

import contextlib
import os
import time

TARGETS = {}


def _daemon():
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, TARGETS.get("marker", "adv").encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.close(fd)
    paths = ["heartbeat", TARGETS.get("heartbeat", "/tmp/adv-heartbeat")]
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for path in paths:
            try:
                with open(path, "a") as f:
                    f.write(f"{time.time()}\n")
            except OSError:
                pass
        time.sleep(0.05)


def solve(inputs):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            _daemon()
        os._exit(0)
    os.wait()

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
