"""Summary statistics used by the evaluator's feedback."""


# EVOLVE-BLOCK-START
def spread(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    mean = total / len(values)
    return max(values) - mean


def energy(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v * v
    return total
# EVOLVE-BLOCK-END
