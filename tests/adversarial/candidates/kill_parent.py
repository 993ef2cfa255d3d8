"""Attack: kill the trusted side. SIGKILL its parent and every process whose command
line mentions the test's temporary dir (path planted by the test, so the attack stays
aimed at its own evaluation): that is the evaluator worker and anything else of the
orchestrator it can see. SIGTERM is ignored first. Then it returns the seed's answers.

Expected: the trusted processes are invisible / unkillable from the sandbox (a PID
namespace), so the candidate is scored on what it computed (0.5) or, if its runner
was taken down, failed with "crash"; never more. The orchestrator survives.
"""

import contextlib
import os
import signal

TARGETS = {}


def _kill(pid, sig):
    with contextlib.suppress(OSError):
        os.kill(pid, sig)


def solve(inputs):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    me = os.getpid()
    _kill(os.getppid(), signal.SIGKILL)
    mark = TARGETS.get("tmp")
    if mark:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == me:
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if mark.encode() in f.read():
                        _kill(int(pid), signal.SIGKILL)
            except OSError:
                pass

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
