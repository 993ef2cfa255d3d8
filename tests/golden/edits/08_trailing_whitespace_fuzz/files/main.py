"""Circle packing: place n circles in the unit square, maximise the sum of radii."""

import math

import numpy as np


# EVOLVE-BLOCK-START
def construct_packing(n: int = 26) -> np.ndarray:
    """Return an (n, 3) array of (x, y, r)."""
    centers = []
    rows = int(math.ceil(math.sqrt(n)))
    for i in range(n):
        x = (i % rows + 0.5) / rows
        y = (i // rows + 0.5) / rows
        centers.append((x, y))
    radius = 0.5 / rows
    return np.array([(x, y, radius) for x, y in centers])


def refine(packing: np.ndarray, steps: int = 10) -> np.ndarray:
    for _ in range(steps):
        packing[:, 2] *= 1.0
    return packing
# EVOLVE-BLOCK-END


def run_packing(n: int = 26) -> np.ndarray:
    return refine(construct_packing(n))


if __name__ == "__main__":
    print(run_packing().sum())
