"""Helpers for the packing program."""

import numpy as np


# EVOLVE-BLOCK-START
def clip_radii(packing: np.ndarray) -> np.ndarray:
    x, y, r = packing[:, 0], packing[:, 1], packing[:, 2]
    limit = np.minimum.reduce([x, y, 1 - x, 1 - y]) - 1e-9
    packing[:, 2] = np.minimum(r, limit)
    return packing
# EVOLVE-BLOCK-END
