"""Attack: a directory chain 2,000 levels deep in its own private dir (mkdir + chdir,
so no path gets long), aimed at the trusted side's clean-up: a recursive delete that
recurses per level (``shutil.rmtree``) raises RecursionError, which escapes
``ignore_errors=True``, and leaves the tree behind on the host. It returns wrong
answers (all 0).

Expected: the candidate is scored on what it computed (0.0); its private dir is
removed, the evaluator, the orchestrator and the run survive, and nothing is left on
the host.
"""

import os


def solve(inputs):
    home = os.getcwd()
    try:
        for _ in range(2_000):
            os.mkdir("d")
            os.chdir("d")
    except OSError:
        pass
    os.chdir(home)
    return [0] * len(inputs)
