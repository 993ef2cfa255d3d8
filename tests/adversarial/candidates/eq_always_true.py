"""Attack: return objects whose ``__eq__`` is always true (and ``__ne__`` always false,
hash constant), so an evaluator that compares ``got == expected`` in its own
interpreter accepts every answer.

Expected: such objects cannot cross the process boundary as JSON -> "invalid_result",
score 0.
"""


class AlwaysEqual(list):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0


def solve(inputs):
    return AlwaysEqual(Anything() for _ in inputs)
