"""Evaluate one candidate: compile-check, materialise, run the evaluator sandboxed."""

from __future__ import annotations

import ast
import functools
import importlib
import json
import os
import secrets
import signal
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from cambrian.sandbox import Limits, ProcessResult, run_process
from cambrian.sandbox._candidate import ENV_VAR as CANDIDATE_ENV
from cambrian.sandbox._cgroup import probe as cgroup_probe
from cambrian.sandbox._fs import remove_tree

from . import _worker
from ._config import EvaluatorConfig
from ._parse import ResultError, cap_text, load_json, parse_correct, parse_result
from ._result import EvalResult, FailureKind

if TYPE_CHECKING:  # annotations only: keeps the task loader out of this import graph
    from cambrian.task import Files, Task

_WORKER = Path(_worker.__file__).resolve()
_TAIL_CHARS = 8192
# The envelope carries the result JSON (<= 1 MiB) plus artifacts; anything larger is
# not something the worker writes.
_MAX_ENVELOPE_BYTES = 4 * 1024 * 1024


def _shims_dir() -> Path:
    """Folder of the fallback ``shinka``/``openevolve`` packages."""
    compat = importlib.import_module("cambrian.compat")
    shims = getattr(compat, "SHIMS_DIR", None)
    if shims is not None:
        return Path(shims)
    return Path(__file__).resolve().parent.parent / "compat" / "_shims"


@functools.lru_cache(maxsize=64)
def _calls_run_candidate(path: Path, _mtime: float) -> bool:
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "run_candidate":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "run_candidate":
            return True
        if isinstance(node, ast.ImportFrom) and any(a.name == "run_candidate" for a in node.names):
            return True
    return False


def evaluator_isolation(task: Task) -> Literal["candidate", "shared"]:
    """Whether the task's evaluator runs candidates in their own sandbox.

    ``"candidate"``: the evaluator (or a module beside it) uses ``run_candidate``,
    so candidate code runs in its own sandbox without the task dir. ``"shared"``: a
    legacy evaluator (OpenEvolve/ShinkaEvolve style) imports or spawns the candidate
    itself, so the candidate shares the evaluator's sandbox and can read the task
    directory. A static check of the source: it says what the evaluator asks for.

    Args:
        task: The task whose evaluator to inspect.

    Returns:
        ``"candidate"`` or ``"shared"``.
    """
    files = [task.evaluator, *sorted(task.evaluator.parent.glob("*.py"))]
    for path in dict.fromkeys(files):
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if _calls_run_candidate(path, mtime):
            return "candidate"
    return "shared"


def isolation_warning(task: Task) -> str:
    """The warning for a ``"shared"`` evaluator, or "" when candidates are isolated."""
    if evaluator_isolation(task) == "candidate":
        return ""
    return (
        "weaker isolation: the evaluator does not use run_candidate, so the candidate "
        "runs inside the evaluator's sandbox and can read the task directory"
    )


def _check_paths(files: Files) -> str | None:
    """Why the artifact's paths cannot be written inside the program dir, if so."""
    for name in files:
        path = PurePosixPath(name)
        if (
            not name
            or path.is_absolute()
            or "\\" in name
            or "\0" in name
            or any(part in ("..", "") for part in name.split("/"))
        ):
            return (
                f"file path {name!r} is not allowed: paths must be relative, use '/', and "
                "contain no '..' or empty parts"
            )
    return None


def _compile_check(files: Files) -> str | None:
    """The first syntax error among the Python files, located, or None."""
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        try:
            # compile() only parses and generates bytecode: no candidate code runs.
            compile(files[name], name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f"{name}:{exc.lineno}" if exc.lineno else name
            line = f"\n    {exc.text.rstrip()}" if exc.text else ""
            return f"{where}: {type(exc).__name__}: {exc.msg}{line}"
        except ValueError as exc:  # e.g. a NUL byte in the source
            return f"{name}: {exc}"
    return None


def _candidate_settings(limits: Limits) -> str:
    """How run_candidate inside the evaluator sandboxes a candidate (as JSON)."""
    fields = ("backend", "sandbox_uid", "tmpfs_mb", "max_processes", "file_size_mb", "open_files")
    settings: dict[str, Any] = {name: getattr(limits, name) for name in fields}
    if limits.nproc_rlimit is None and cgroup_probe().version is not None:
        # The evaluation's pids cgroup already bounds the candidate's tree; a shared
        # per-uid RLIMIT_NPROC would only couple concurrent evaluations.
        settings["nproc_rlimit"] = False
    return json.dumps(settings)


def _environment(work_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """A minimal environment built from scratch: no orchestrator secrets leak through."""
    # The running interpreter's bin dir first, so an evaluator that runs `python`
    # gets the same interpreter and packages as the worker.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    env = {
        "PATH": path,
        "HOME": str(work_dir),
        "TMPDIR": str(work_dir / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(extra)
    return env


def _prepare(work_dir: Path, files: Files) -> None:
    """Write the candidate into a fresh ``work_dir/program`` and clear stale outputs."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("program", "results", "tmp"):
        remove_tree(work_dir / stale)
    (work_dir / "result.json").unlink(missing_ok=True)
    (work_dir / "tmp").mkdir()
    program_dir = work_dir / "program"
    program_dir.mkdir()
    for name, text in files.items():
        target = program_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _fail(kind: FailureKind, error: str, proc: ProcessResult | None = None) -> EvalResult:
    result = EvalResult(ok=False, failure=kind, error=error)
    if proc is not None:
        _attach(result, proc)
    return result


def _attach(result: EvalResult, proc: ProcessResult) -> None:
    result.wall_time = proc.wall_time
    result.stdout = proc.stdout[-_TAIL_CHARS:]
    result.stderr = proc.stderr[-_TAIL_CHARS:]
    if proc.dropped_bytes:
        result.warnings.append(f"{proc.dropped_bytes} bytes of output were dropped")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _read_envelope(path: Path, nonce: str) -> dict[str, Any]:
    """The worker's envelope; ResultError if missing, malformed or forged."""
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_ENVELOPE_BYTES + 1)
    except FileNotFoundError:
        raise ResultError("the evaluator process exited without writing a result") from None
    envelope = load_json(data, what="the result envelope", limit=_MAX_ENVELOPE_BYTES)
    if not isinstance(envelope, dict) or envelope.get("status") not in ("ok", "error"):
        raise ResultError("the result envelope is malformed")
    if not secrets.compare_digest(str(envelope.get("nonce", "")), nonce):
        raise ResultError("the result file was not written by the evaluator worker")
    return envelope


def _envelope_strings(envelope: dict[str, Any], key: str) -> Any:
    value = envelope.get(key)
    if value is not None and not isinstance(value, str):
        raise ResultError(f"the result envelope's {key!r} is not a string")
    return value


def _from_envelope(envelope: dict[str, Any], proc: ProcessResult) -> EvalResult:
    if envelope["status"] == "error":
        error = cap_text(str(envelope.get("error", "")))
        kind: FailureKind
        if _last_line(error).startswith("MemoryError"):
            kind = "oom"
        elif envelope.get("kind") == "evaluator_error":
            kind = "evaluator_error"
        else:
            kind = "invalid_result"
        return _fail(kind, error, proc)
    result_json = _envelope_strings(envelope, "result_json")
    if result_json is None:
        raise ResultError("the result envelope holds no result")
    parsed = parse_result(result_json)
    artifacts = envelope.get("artifacts") or {}
    warnings = envelope.get("warnings") or []
    if not isinstance(artifacts, dict) or not all(isinstance(v, str) for v in artifacts.values()):
        raise ResultError("artifacts must map names to strings")
    if not isinstance(warnings, list):
        raise ResultError("the result envelope's warnings are malformed")
    correct = parsed.correct
    all_artifacts = {**parsed.artifacts, **{str(k): cap_text(v) for k, v in artifacts.items()}}
    correct_json = _envelope_strings(envelope, "correct_json")
    if correct_json is not None:
        correct, correct_error = parse_correct(correct_json)
        if correct_error:
            all_artifacts["correct.error"] = correct_error
    if parsed.failure is not None:
        # The evaluator ran the candidate and says how it failed: record that kind, so
        # failures can be counted and fed back like the sandbox's own.
        failed = EvalResult(
            ok=False,
            failure=parsed.failure,  # type: ignore[arg-type]
            error=parsed.feedback or f"the candidate failed ({parsed.failure})",
            combined_score=parsed.combined_score,
            metrics=parsed.metrics,
            feedback=parsed.feedback,
            artifacts=all_artifacts,
            warnings=[*parsed.warnings, *map(str, warnings)],
        )
        _attach(failed, proc)
        return failed
    result = EvalResult(
        ok=True,
        combined_score=parsed.combined_score,
        correct=correct,
        metrics=parsed.metrics,
        feedback=parsed.feedback,
        artifacts=all_artifacts,
        warnings=[*parsed.warnings, *map(str, warnings)],
    )
    _attach(result, proc)
    return result


def _interpret(
    proc: ProcessResult, result_path: Path, nonce: str, config: EvaluatorConfig
) -> EvalResult:
    """Turn the finished process and its result file into an EvalResult."""
    if proc.timed_out:
        return _fail(
            "timeout",
            f"evaluation exceeded the {config.limits.timeout_s:g}s wall-clock limit; "
            "the process tree was killed",
            proc,
        )
    if proc.returncode != 0:
        if proc.signal == signal.SIGKILL or "MemoryError" in proc.stderr:
            return _fail(
                "oom",
                f"out of memory (limit {config.limits.memory_mb} MiB): "
                f"{_last_line(proc.stderr) or 'killed by SIGKILL'}",
                proc,
            )
        how = f"signal {proc.signal}" if proc.signal else f"exit status {proc.returncode}"
        detail = _last_line(proc.stderr)
        return _fail(
            "crash",
            f"the evaluator process died with {how}" + (f": {detail}" if detail else ""),
            proc,
        )
    try:
        return _from_envelope(_read_envelope(result_path, nonce), proc)
    except ResultError as exc:
        return _fail("invalid_result", str(exc), proc)


async def evaluate_program(
    task: Task, files: Files, *, work_dir: Path, config: EvaluatorConfig
) -> EvalResult:
    """Evaluate one candidate artifact with the task's evaluator, sandboxed.

    Python files are compile-checked here first (no candidate code runs in the
    caller). The artifact is written into a fresh ``work_dir/program/`` and the
    evaluator runs in a separate worker process with ``work_dir`` as cwd and HOME, a
    minimal environment (only ``config.env`` is added) and ``config.limits``. Its
    result crosses back only as strictly validated JSON.

    Args:
        task: The task whose evaluator and protocol to use.
        files: The candidate artifact (relative POSIX path -> text).
        work_dir: A directory private to this evaluation (created if missing).
        config: Limits, cascade settings and extra environment.

    Returns:
        The validated result; failures (``compile_error``, ``scope_violation`` for an
        unsafe file path, ``timeout``, ``oom``, ``crash``, ``invalid_result``,
        ``evaluator_error``) are recorded on it, never raised.
    """
    problem = _check_paths(files)
    if problem is not None:
        return _fail("scope_violation", problem)
    problem = _compile_check(files)
    if problem is not None:
        return _fail("compile_error", problem)
    work_dir = work_dir.resolve()
    _prepare(work_dir, files)
    program_dir = work_dir / "program"
    spec = {
        "task_root": str(task.root),
        "evaluator": str(task.evaluator),
        "protocol": task.protocol,
        "program_path": str(program_dir / task.entry) if task.entry else str(program_dir),
        "results_dir": str(work_dir / "results"),
        "result_path": str(work_dir / "result.json"),
        "shims_dir": str(_shims_dir()),
        "cascade": config.cascade,
        "thresholds": config.cascade_thresholds,
    }
    # -s: no user site-packages; -P: the worker's own dir is not put on sys.path;
    # -B: no .pyc files in the task or program dirs.
    argv = [sys.executable, "-s", "-P", "-B", str(_WORKER), json.dumps(spec)]
    # The result file lies where candidate code could write it; only the worker
    # knows this nonce (see _worker.main), so a forged file is recognised.
    nonce = secrets.token_hex(16)
    env = _environment(work_dir, config.env)
    env.setdefault(CANDIDATE_ENV, _candidate_settings(config.limits))
    # The "evaluator" profile: the task dir read-only, the work dir read-write;
    # under bubblewrap nothing else of the host (run DB, other work dirs) exists.
    proc = await run_process(
        argv,
        cwd=work_dir,
        env=env,
        limits=config.limits,
        stdin=f"{nonce}\n".encode(),
        readonly=[task.root, task.evaluator.parent, *config.readonly_paths],
        writable=[work_dir, *config.writable_paths],
    )
    result = _interpret(proc, work_dir / "result.json", nonce, config)
    warning = isolation_warning(task)
    if warning:
        result.warnings.append(warning)
    return result
