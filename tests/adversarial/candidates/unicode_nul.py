"""Attack: a NUL byte in the source. The test replaces the marker comment below with a
line holding a raw NUL byte (not committed: tools choke on it), which some loaders
truncate at and some compilers reject.

Expected: rejected before anything runs -> failure "compile_error", score 0.
"""

# NUL-BYTE-HERE


def solve(inputs):
    return [0] * len(inputs)
