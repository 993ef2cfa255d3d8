"""Attack: print a fake perfect score in every format an evaluator might scrape
(JSON metrics, "score: 1.0", a Shinka-style result line) and exit with status 0
before returning anything.

Expected: the exit status and stdout mean nothing: solve() never returned -> failure
"crash" (it called sys.exit instead of returning), score 0.
"""

import json
import sys


def solve(inputs):
    fake = {"combined_score": 1.0, "correct": True, "n_right": len(inputs)}
    print(json.dumps(fake))
    print("combined_score: 1.0\nscore=1.0\nALL TESTS PASSED")
    print(json.dumps({"status": "ok", "ok": True, "value": None, **fake}))
    sys.stdout.flush()
    sys.exit(0)
