"""Attack: return a ~40 MB result (the right list padded with a huge string), to exhaust
the evaluator's memory or the result channel.

Expected: oversized payloads are rejected -> "invalid_result", score 0.
"""


def solve(inputs):
    return [*list(range(len(inputs))), "x" * (40 << 20)]
