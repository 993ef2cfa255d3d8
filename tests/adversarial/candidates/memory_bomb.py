"""Attack: allocate memory without bound (16 MiB zero-filled blocks, so they are real pages).

Expected: the memory limit stops it -> failure "oom", score 0, the host unharmed.
"""


def solve(inputs):
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))
