"""Seed program: pack 26 circles into the unit square, maximising the sum of radii.

The centres come from a small parametric construction (concentric rings around the
middle of the square); the radii are then fitted to the centres. Every number that
shapes the packing sits inside the EVOLVE-BLOCK, so an evolver can improve the score
by tuning literals, or replace the construction and the fitting altogether.
"""

import math

N_CIRCLES = 26


# EVOLVE-BLOCK-START
def construct_centers():
    """Return 26 (x, y) centres laid out on concentric rings around (0.5, 0.5)."""
    rings = [  # (circles on the ring, ring radius, rotation in turns)
        (1, 0.0, 0.0),
        (8, 0.25, 0.0),
        (17, 0.3, 0.0),
    ]
    margin = 0.1  # keep centres this far from the walls so outer circles get room
    centers = []
    for count, ring_radius, rotation in rings:
        for k in range(count):
            angle = 2.0 * math.pi * (k / count + rotation)
            x = 0.5 + ring_radius * math.cos(angle)
            y = 0.5 + ring_radius * math.sin(angle)
            centers.append((min(max(x, margin), 1.0 - margin), min(max(y, margin), 1.0 - margin)))
    return centers


def fit_radii(centers):
    """Return radii that keep every circle inside the square and apart from the others.

    Start each circle at its distance to the nearest wall, then shrink every
    overlapping pair in proportion. One pass suffices: a later shrink never
    re-creates an overlap that an earlier one removed.
    """
    radii = [min(x, y, 1.0 - x, 1.0 - y) for x, y in centers]
    for i in range(len(centers)):
        for j in range(i + 1, len(centers)):
            gap = math.dist(centers[i], centers[j])
            if radii[i] + radii[j] > gap:
                scale = gap / (radii[i] + radii[j])
                radii[i] *= scale
                radii[j] *= scale
    return radii


# EVOLVE-BLOCK-END


def run_packing():
    """Entry point called by the evaluator: returns (centers, radii, sum_radii)."""
    centers = construct_centers()
    radii = fit_radii(centers)
    # The evaluator checks validity with exact arithmetic; shrinking by a relative 1e-9
    # absorbs the rounding of the float distances above, which is far smaller.
    radii = [r * (1.0 - 1e-9) for r in radii]
    return centers, radii, sum(radii)


if __name__ == "__main__":
    _, found_radii, total = run_packing()
    print(f"{len(found_radii)} circles, sum of radii = {total:.6f}")
