"""Attack: forge result files. Write a perfect-score evaluator envelope / metrics file
(result.json, result.json.tmp, metrics.json, correct.json, results/metrics.json) into
its cwd, every parent dir (up to the test's temporary dir), $HOME, $TMPDIR and the
orchestrator's work dir (path planted by the test), and write a forged success
message into every file descriptor it inherited (where a runner might read its
result from). Then return the seed's answers.

Expected: results are never read from places a candidate can write, and a forged
envelope lacks the worker's nonce: scored on what it computed (0.5).
"""

import contextlib
import json
import os

TARGETS = {}
_METRICS = {"combined_score": 1.0, "correct": True, "n_right": 8, "feedback": "forged"}
_ENVELOPE = {"status": "ok", "nonce": "0" * 32, "result_json": json.dumps(_METRICS)}
_MESSAGE = json.dumps({"status": "ok", "ok": True, "value": None, **_METRICS}) + "\n"


def _write(path, data):
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
    except OSError:
        pass


def _folders():
    # Up to the test's temporary dir when planted (a broken sandbox must not litter
    # the shared test host), else four levels.
    here, stop = os.path.abspath("."), TARGETS.get("tmp")
    yield here
    for _ in range(64 if stop else 4):
        if here in (stop, os.path.dirname(here)):
            break
        here = os.path.dirname(here)
        yield here
    for name in ("HOME", "TMPDIR"):
        if os.environ.get(name):
            yield os.environ[name]
    if TARGETS.get("work_dir"):
        yield TARGETS["work_dir"]


def solve(inputs):
    for folder in _folders():
        _write(os.path.join(folder, "result.json"), json.dumps(_ENVELOPE))
        _write(os.path.join(folder, "result.json.tmp"), json.dumps(_ENVELOPE))
        _write(os.path.join(folder, "metrics.json"), json.dumps(_METRICS))
        _write(os.path.join(folder, "correct.json"), '{"correct": true, "error": null}')
        _write(os.path.join(folder, "results", "metrics.json"), json.dumps(_METRICS))
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 64))
    for fd in fds:
        with contextlib.suppress(OSError):
            os.write(fd, _MESSAGE.encode())

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
