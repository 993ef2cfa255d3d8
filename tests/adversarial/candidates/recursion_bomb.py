"""Attack: recursion bomb. Lift the recursion limit and recurse through a C builtin
(map), so every level costs C stack and the interpreter overflows its stack.

Expected: the candidate process dies of a stack overflow (SIGSEGV) -> failure
"crash", score 0; the evaluator and the host carry on.
"""

import sys


def _down(n):
    return list(map(_down, [n + 1]))


def solve(inputs):
    sys.setrecursionlimit(10**9)
    return _down(0)
