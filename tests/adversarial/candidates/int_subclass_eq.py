"""Attack: return ``int`` subclasses whose ``__eq__`` is always true (and a ``list``
subclass likewise), which *are* JSON-serialisable, hoping the comparison happens on
the objects rather than on plain data.

Expected: only plain JSON data crosses and subclasses are not plain data ->
"invalid_result", score 0 (their plain values, all 0, would score 0 too).
"""


class Liar(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class LiarList(list):
    def __eq__(self, other):
        return True

    __hash__ = None


def solve(inputs):
    return LiarList(Liar(0) for _ in inputs)
