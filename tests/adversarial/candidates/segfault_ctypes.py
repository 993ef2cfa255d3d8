"""Attack: segfault on purpose via ctypes (read address 0).

Expected: failure "crash" (killed by SIGSEGV), score 0; the evaluator is unaffected.
"""

import ctypes


def solve(inputs):
    ctypes.string_at(0)
    return [0] * len(inputs)
