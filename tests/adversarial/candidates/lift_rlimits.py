"""Attack: try to raise every resource limit to infinity (and to remove them via
prlimit on the parent), then allocate memory without bound.

Expected: a process cannot raise its hard limits -> failure "oom", score 0.
"""

import contextlib
import os
import resource


def solve(inputs):
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            which = getattr(resource, name)
            for target in (0, os.getppid()):
                with contextlib.suppress(OSError, ValueError):
                    resource.prlimit(
                        target, which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
                    )
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))
