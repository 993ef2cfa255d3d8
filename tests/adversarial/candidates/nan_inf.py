"""Attack: return NaN and +/-infinity (NaN compares unequal to everything, which some
checks invert; inf breaks error metrics such as 1 / (1 + err)).

Expected: non-finite numbers are not JSON -> "invalid_result", score 0.
"""


def solve(inputs):
    values = [float("nan"), float("inf"), float("-inf")]
    return [values[i % 3] for i in range(len(inputs))]
