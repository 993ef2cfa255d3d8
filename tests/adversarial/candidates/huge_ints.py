"""Attack: return integers with ~100k digits (past Python's int-to-str limit and any
float), to crash or overflow the result parsing.

Expected: "invalid_result" (the value cannot be serialised / is rejected), score 0.
"""


def solve(inputs):
    return [10**100_000 + n for n in inputs]
