"""Seed program: a formula y = f(x) fitted to data the evaluator keeps hidden.

The evaluator calls ``predict(xs)`` with a list of x values and scores the answers
on held-out points the program never sees the targets of. The formula family below
can represent the truth; the seed constants are a poor linear guess, so an evolver
improves the score by tuning them (or by changing the formula).
"""

import math

# EVOLVE-BLOCK-START
AMPLITUDE = 0.0  # of the sine term
FREQUENCY = 1.0  # of the sine term
QUADRATIC = 0.0
SLOPE = 0.5
INTERCEPT = 0.0


def formula(x):
    """Return the predicted y for one x."""
    return AMPLITUDE * math.sin(FREQUENCY * x) + QUADRATIC * x * x + SLOPE * x + INTERCEPT


# EVOLVE-BLOCK-END


def predict(xs):
    """Entry point called by the evaluator: one prediction per x, in order."""
    return [formula(x) for x in xs]


if __name__ == "__main__":
    print(predict([-1.0, 0.0, 1.0]))
