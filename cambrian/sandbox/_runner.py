"""Candidate runner: imports one untrusted program and calls its entry point.

Started by :func:`cambrian.sandbox.run_candidate` as ``python -I _runner.py`` inside
the candidate sandbox, with the program dir as cwd. Standard library only. Reads
``{"program", "entry", "args", "kwargs", "result", "workdir"}`` as JSON from stdin, calls
``entry(*args, **kwargs)``, converts the value to JSON data and writes
``{"status": "ok", "value": ...}`` or ``{"status": "error", "kind", "error"}`` to the
result path. This process is as untrusted as the program it runs: the caller
validates everything it writes.
"""

import importlib.util
import json
import os
import shutil
import sys
import traceback

_MAX_DEPTH = 100
_TRACEBACK_CHARS = 4000


class NotData(Exception):
    """The entry's value is not JSON data."""


def plain(value, depth=0):
    """``value`` as JSON data: numpy arrays/scalars and tuples converted, else NotData."""
    if depth > _MAX_DEPTH:
        raise NotData(f"it is nested deeper than {_MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind in (list, tuple):
        return [plain(v, depth + 1) for v in value]
    if kind is dict:
        out = {}
        for key, v in value.items():
            if type(key) is not str:
                raise NotData(f"it has a dict key of type {type(key).__name__} (keys must be str)")
            out[key] = plain(v, depth + 1)
        return out
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return plain(value.item(), depth + 1)
    if hasattr(value, "tolist"):
        return plain(value.tolist(), depth + 1)
    raise NotData(f"it contains a value of type {kind.__name__}")


def _load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or name in sys.modules:
        name = "candidate_program"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _error(kind, message):
    return {"status": "error", "kind": kind, "error": message[-_TRACEBACK_CHARS:]}


def run(spec):
    """Import, call, convert; the envelope to write."""
    entry = spec["entry"]
    try:
        module = _load(spec["program"])
        fn = getattr(module, entry, None)
        if not callable(fn):
            return _error("crash", f"the program defines no callable {entry!r}")
        value = fn(*spec["args"], **spec["kwargs"])
    except MemoryError:
        return _error("oom", "MemoryError")
    except SystemExit as exc:
        return _error("crash", f"the program called sys.exit({exc.code!r}) instead of returning")
    except BaseException as exc:  # any failure of the program is reported
        text = traceback.format_exc()
        return _error("crash", f"{type(exc).__name__}: {exc}\n\n{text}")
    try:
        text = json.dumps({"status": "ok", "value": plain(value)}, allow_nan=False)
    except NotData as exc:
        return _error("invalid_result", f"{entry}() returned a value that is not JSON data: {exc}")
    except ValueError:
        return _error("invalid_result", f"{entry}() returned NaN or infinity, which is not allowed")
    except BaseException as exc:  # .tolist()/.item() run program code
        return _error("invalid_result", f"converting the value failed: {type(exc).__name__}: {exc}")
    return text


def _enter_workdir(spec):
    """Run from ``workdir``: a writable copy of the program dir when they differ."""
    source = os.path.dirname(spec["program"])
    workdir = spec.get("workdir") or source
    if os.path.realpath(workdir) != os.path.realpath(source):
        shutil.copytree(source, workdir, symlinks=True)
        spec["program"] = os.path.join(workdir, os.path.basename(spec["program"]))
    os.chdir(workdir)
    sys.path.insert(0, workdir)


def main():
    spec = json.loads(sys.stdin.read())
    _enter_workdir(spec)
    envelope = run(spec)
    text = envelope if isinstance(envelope, str) else json.dumps(envelope)
    with open(spec["result"], "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter shutdown: threads or atexit hooks left by the program must not
    # turn a returned value into a timeout.
    os._exit(0)
