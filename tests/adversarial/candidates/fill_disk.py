"""Attack: fill the disk. Write files (4 MiB chunks, SIGXFSZ ignored so an over-size
write fails instead of killing the process, a new file whenever one hits the size
limit) into every writable place it can name: its cwd/$HOME, $TMPDIR, /tmp, /var/tmp
and /dev/shm, until each is full (capped at 384 MiB per place, so a broken sandbox
cannot take the shared test host down). The file names carry the test's marker.
After every 64 MiB it prints ``FILLED <place> <MiB>``, so the test knows how much got
through even if it is killed. Then it returns the seed's answers.

Expected: every place it can write is small and capped (a size-capped tmpfs; the
memory cgroup for /dev/shm), so it writes at most a few dozen MiB per place and is
scored on what it computed (0.5) or stopped ("oom", "timeout"); nothing it wrote is
left on the host afterwards.
"""

import os
import signal

TARGETS = {}
_CAP = 384 << 20
_CHUNK = b"\0" * (4 << 20)


def _fill(folder, marker):
    written = 0
    for i in range(1 << 10):
        try:
            with open(os.path.join(folder, f"{marker}-fill-{i}"), "wb") as f:
                while written < _CAP:
                    f.write(_CHUNK)
                    written += len(_CHUNK)
                    if written % (64 << 20) == 0:
                        print(f"FILLED {folder} {written >> 20}", flush=True)
        except OSError as exc:
            if exc.errno != 27:  # EFBIG: this file is at the size limit, start another
                break
        if written >= _CAP:
            break
    print(f"FILLED {folder} {written >> 20}", flush=True)


def solve(inputs):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    marker = TARGETS.get("marker", "adv")
    places = [".", os.environ.get("HOME"), os.environ.get("TMPDIR"), "/tmp", "/var/tmp"]
    seen = set()
    for folder in [*places, "/dev/shm"]:
        if folder and os.path.realpath(folder) not in seen:
            seen.add(os.path.realpath(folder))
            _fill(folder, marker)

    def is_prime(k):
        return k >= 2 and all(k % d for d in range(2, int(k**0.5) + 1))

    return [sum(1 for k in range(2, n) if is_prime(k)) for n in inputs]
