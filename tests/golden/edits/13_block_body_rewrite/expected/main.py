"""Circle packing: place n circles in the unit square, maximise the sum of radii."""

import math

import numpy as np


# EVOLVE-BLOCK-START
def construct_packing(n: int = 26) -> np.ndarray:
    """Return an (n, 3) array of (x, y, r) on a hexagonal lattice."""
    rows = int(math.ceil(math.sqrt(n)))
    dx = 1.0 / rows
    pts = []
    for i in range(n):
        r, c = divmod(i, rows)
        x = (c + 0.5 + 0.5 * (r % 2)) * dx
        pts.append((min(x, 1 - dx / 2), (r + 0.5) * dx))
    return np.array([(x, y, dx / 2 * 0.95) for x, y in pts])


def refine(packing: np.ndarray, steps: int = 10) -> np.ndarray:
    for _ in range(steps):
        packing[:, 2] *= 1.0
    return packing
# EVOLVE-BLOCK-END


def run_packing(n: int = 26) -> np.ndarray:
    return refine(construct_packing(n))


if __name__ == "__main__":
    print(run_packing().sum())
