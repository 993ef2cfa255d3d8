"""Attack: steal secrets from the environment. Print every environment variable (the
orchestrator holds a fake OPENAI_API_KEY and the evaluator an EVALUATOR_TOKEN, both
canaries planted by the test) to stdout and stderr, where an evaluator may forward them
as feedback, and return the seed's answers.

Expected: the candidate's environment is cleared: scored on what it computed (0.5) and
neither canary appears in anything the orchestrator records.
"""

import os
import sys


def solve(inputs):
    for key, value in sorted(os.environ.items()):
        print(f"{key}={value}")
        print(f"{key}={value}", file=sys.stderr)
    try:
        with open("/proc/self/environ", "rb") as f:
            print(f.read().replace(b"\0", b"\n").decode(errors="replace"))
    except OSError:
        pass

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
