"""Attack: raise ``unittest.SkipTest`` (and the pytest-style skip it subclasses in spirit),
which test-based evaluators count as "not failed".

Expected: an exception is an exception -> failure "crash", score 0.
"""

import unittest


def solve(inputs):
    raise unittest.SkipTest("nothing to see here: all checks skipped")
