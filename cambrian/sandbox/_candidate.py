"""run_candidate: call an untrusted program's entry point in its own sandbox.

For evaluators: instead of importing the candidate (and sharing an interpreter with
it), ``run_candidate(program_path, "solve", args=[...])`` copies the program into a
fresh private dir, runs it under the "candidate" profile (only that dir writable, no
task dir, no network), and returns its value as strictly validated JSON data.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import _runner
from ._backends import run_process, select_backend
from ._fs import remove_tree
from ._limits import Limits

CandidateFailure = Literal["timeout", "oom", "crash", "invalid_result", "compile_error"]

ENV_VAR = "CAMBRIAN_CANDIDATE_SANDBOX"
"""JSON object of :class:`Limits` fields for candidates, set by the evaluator worker."""

MAX_VALUE_BYTES = 16 * 1024 * 1024
"""Largest JSON value accepted from a candidate."""

_RUNNER = Path(_runner.__file__).resolve()
_RESULT = "result.json"
_ERROR_CHARS = 4000
_SETTABLE = {
    "backend",
    "file_size_mb",
    "max_processes",
    "nproc_rlimit",
    "open_files",
    "sandbox_uid",
    "tmpfs_mb",
}


@dataclass(frozen=True)
class CandidateResult:
    """What a candidate's entry point did.

    Attributes:
        ok: True when the entry returned JSON data; ``value`` holds it.
        value: The returned value as plain JSON data (dict/list/str/int/float/bool/None).
        failure: None, or ``"timeout"``, ``"oom"``, ``"crash"``, ``"invalid_result"``,
            ``"compile_error"``.
        error: Why it failed, written to be passed back to the model as feedback.
        stdout: The candidate's standard output (capped).
        stderr: The candidate's standard error (capped).
        wall_time: Seconds measured by the caller with a monotonic clock.
    """

    ok: bool
    value: Any
    failure: CandidateFailure | None
    error: str
    stdout: str
    stderr: str
    wall_time: float


def _limits(timeout: float, memory_mb: int, max_output_kib: int) -> Limits:
    fields: dict[str, Any] = {}
    raw = os.environ.get(ENV_VAR)
    if raw:
        data = json.loads(raw)
        fields = {k: v for k, v in data.items() if k in _SETTABLE}
    return Limits(
        timeout_s=timeout,
        grace_s=0.0,
        memory_mb=memory_mb,
        max_output_kib=max_output_kib,
        **fields,
    )


def _copy_program(program_path: Path, dest: Path) -> Path:
    """Copy the program into ``dest``; the file whose entry is called."""
    if program_path.is_dir():
        shutil.copytree(program_path, dest, symlinks=True)
        return dest / "main.py"
    dest.mkdir()
    shutil.copyfile(program_path, dest / program_path.name)
    return dest / program_path.name


def _compile_error(path: Path) -> str | None:
    try:
        source = path.read_bytes()
    except OSError as exc:
        return f"cannot read the program {path.name!r}: {exc.strerror}"
    try:
        # compile() only parses and generates bytecode: no candidate code runs here.
        compile(source, path.name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = f"\n    {exc.text.rstrip()}" if exc.text else ""
        return f"{path.name}:{exc.lineno}: {type(exc).__name__}: {exc.msg}{line}"
    except ValueError as exc:  # e.g. a NUL byte in the source
        return f"{path.name}: {exc}"
    return None


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not allowed")


def _check_data(value: Any, depth: int = 0) -> None:
    """Defence in depth: only the JSON types, whatever json.loads gave back."""
    if depth > 200:
        raise ValueError("nested too deeply")
    if isinstance(value, list):
        for v in value:
            _check_data(v, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _check_data(v, depth + 1)
    elif value is not None and type(value) not in (bool, int, float, str):
        raise ValueError(f"unexpected {type(value).__name__}")


def _read_result(path: Path) -> dict[str, Any]:
    """The runner's envelope, read without following links; ValueError if bad."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ValueError("missing") from None
    except OSError as exc:  # a symlink (ELOOP) or worse planted by the candidate
        raise ValueError(f"unreadable ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = f.read(MAX_VALUE_BYTES + 1)
    if not data:
        # The file is created empty before the run; nothing in it = never written.
        raise ValueError("missing")
    if len(data) > MAX_VALUE_BYTES:
        raise ValueError(f"larger than {MAX_VALUE_BYTES} bytes")
    try:
        envelope = json.loads(data, parse_constant=_reject_constant)
        _check_data(envelope)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(envelope, dict) or envelope.get("status") not in ("ok", "error"):
        raise ValueError("malformed")
    return envelope


def _result(
    ok: bool, value: Any, failure: CandidateFailure | None, error: str, proc: Any = None
) -> CandidateResult:
    return CandidateResult(
        ok=ok,
        value=value,
        failure=failure,
        error=error[-_ERROR_CHARS:],
        stdout=proc.stdout if proc else "",
        stderr=proc.stderr if proc else "",
        wall_time=proc.wall_time if proc else 0.0,
    )


async def _run(
    program_path: Path, entry: str, args: list[Any], kwargs: dict[str, Any], limits: Limits
) -> CandidateResult:
    base = Path(tempfile.mkdtemp(prefix="cambrian-candidate-")).resolve()
    try:
        program_dir = base / "program"
        program = _copy_program(program_path, program_dir)
        problem = _compile_error(program)
        if problem is not None:
            return _result(False, None, "compile_error", problem)
        (base / "tmp").mkdir()
        result_file = base / _RESULT
        result_file.touch()
        bwrap = select_backend(limits).name == "bwrap"
        if bwrap:
            # Nothing on the host disk is writable but the one result file (capped by
            # RLIMIT_FSIZE): the runner copies the read-only program onto the
            # size-capped /tmp tmpfs and runs it there, so a candidate cannot fill the
            # host's disk.
            workdir = "/tmp/program"
            readonly, writable = [_RUNNER, program_dir], [result_file]
        else:
            workdir = str(program_dir)
            readonly, writable = [_RUNNER], [base]
        env = {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
            "HOME": workdir,
            "TMPDIR": "/tmp" if bwrap else str(base / "tmp"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        spec = {
            "program": str(program),
            "entry": entry,
            "args": args,
            "kwargs": kwargs,
            "result": str(result_file),
            "workdir": workdir,
        }
        proc = await run_process(
            [sys.executable, "-I", str(_RUNNER)],
            cwd=program_dir,
            env=env,
            limits=limits,
            stdin=json.dumps(spec).encode(),
            readonly=readonly,
            writable=writable,
        )
        return _interpret(proc, result_file, entry, limits)
    finally:
        remove_tree(base)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _interpret(proc: Any, result_path: Path, entry: str, limits: Limits) -> CandidateResult:
    if proc.timed_out:
        return _result(
            False,
            None,
            "timeout",
            f"{entry}() did not return within {limits.timeout_s:g} s; the program was killed",
            proc,
        )
    try:
        envelope = _read_result(result_path)
    except ValueError as exc:
        envelope = None
        problem = str(exc)
    if proc.returncode != 0 or envelope is None:
        if "MemoryError" in proc.stderr or proc.signal == 9:
            return _result(
                False,
                None,
                "oom",
                f"the program ran out of memory (limit {limits.memory_mb} MiB)",
                proc,
            )
        if proc.returncode != 0:
            how = f"signal {proc.signal}" if proc.signal else f"exit status {proc.returncode}"
            detail = _last_line(proc.stderr)
            return _result(
                False,
                None,
                "crash",
                f"the program died with {how}" + (f": {detail}" if detail else ""),
                proc,
            )
        if problem == "missing":
            return _result(
                False,
                None,
                "crash",
                f"the program exited (status 0) before {entry}() returned a value",
                proc,
            )
        return _result(False, None, "invalid_result", f"the result is invalid: {problem}", proc)
    if envelope["status"] == "error":
        kind = envelope.get("kind")
        failure: CandidateFailure = kind if kind in ("oom", "invalid_result") else "crash"
        return _result(False, None, failure, str(envelope.get("error", "")), proc)
    return _result(True, envelope.get("value"), None, "", proc)


def _sync(coro: Any) -> CandidateResult:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside a running event loop (a notebook, an async evaluator):
    # run on a private loop in a worker thread instead of failing.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run_candidate(
    program_path: str | os.PathLike[str],
    entry: str = "main",
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    timeout: float = 30.0,
    memory_mb: int = 2048,
    max_output_kib: int = 64,
) -> CandidateResult:
    """Call ``entry(*args, **kwargs)`` of an untrusted program in its own sandbox.

    The program never runs in the caller's interpreter. A file is copied alone into a
    fresh private dir (siblings are not: pass a directory for a multi-file program);
    a directory is copied whole and its entry module is ``main.py``. The copy is run
    by a small runner under the "candidate" profile: bubblewrap (nested when the
    caller is itself sandboxed) with only the private dir writable, no task dir, no
    network and a cleared environment, or the process-group backend where bubblewrap
    is unavailable. The returned value crosses back as strict JSON: numpy arrays and
    scalars become lists and numbers, tuples lists; NaN/Infinity, other objects and
    oversized payloads are rejected. Inside an evaluation the backend and limits come
    from ``CAMBRIAN_CANDIDATE_SANDBOX``; run by hand, the backend is auto-detected.

    Args:
        program_path: The program file, or a directory with ``main.py``.
        entry: Name of the function to call.
        args: Positional arguments (JSON data).
        kwargs: Keyword arguments (JSON data).
        timeout: Wall-clock seconds before the program's whole tree is killed.
        memory_mb: Address-space limit per process, in MiB.
        max_output_kib: How much of stdout and of stderr is kept.

    Returns:
        The result; failures are recorded on it (``failure`` and ``error``), never
        raised.

    Raises:
        FileNotFoundError: ``program_path`` does not exist.
        TypeError: ``args``/``kwargs`` are not JSON data.
    """
    path = Path(program_path)
    if not path.exists():
        raise FileNotFoundError(f"no program at {str(path)!r}")
    call_args = list(args)
    call_kwargs = dict(kwargs or {})
    json.dumps([call_args, call_kwargs], allow_nan=False)  # TypeError/ValueError early
    limits = _limits(timeout, memory_mb, max_output_kib)
    return _sync(_run(path, entry, call_args, call_kwargs, limits))
