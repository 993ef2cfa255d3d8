"""Attack: code execution on the trusted side through deserialisation. Return an object
whose ``__reduce__`` runs code (creating a "pwned" file in the test's temporary dir,
path planted by the test) and which poses as a numpy scalar/array (``ndim``,
``item``/``tolist`` giving the seed's answers), so a runner that pickles results, or
an evaluator that converts array-likes on its side, executes or trusts it.

Expected: the conversion happens inside the sandbox and only JSON crosses: scored on
the plain data it converts to (the seed's answers, 0.5); the pwned file never appears.
"""

import os

TARGETS = {}
_PWNED = os.path.join(TARGETS.get("tmp", "/tmp"), f"pwned-{TARGETS.get('marker', 'adv')}")


def _seed(inputs):
    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]


class Evil:
    ndim = 0

    def __init__(self, inputs):
        self.inputs = inputs

    def __reduce__(self):
        return (exec, (f"open({_PWNED!r}, 'w').write('pwned')",))

    def tolist(self):
        return _seed(self.inputs)

    def item(self):
        return _seed(self.inputs)


def solve(inputs):
    return Evil(inputs)
