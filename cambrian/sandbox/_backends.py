"""Choosing the sandbox backend, running a process under it, reporting what is active."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._bwrap import probe as bwrap_probe
from ._cgroup import probe as cgroup_probe
from ._limits import Limits
from ._process import Backend, ProcessGroupBackend, ProcessResult

ENV_VAR = "CAMBRIAN_SANDBOX"
"""Names the backend (``auto``/``bwrap``/``process``) where ``Limits.backend`` is auto."""

_PROCESS = ProcessGroupBackend()


class SandboxError(RuntimeError):
    """The requested sandbox backend is unknown or cannot run on this host."""


def _requested(limits: Limits) -> str:
    if limits.backend != "auto":
        return limits.backend
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in ("auto", "bwrap", "process"):
        raise SandboxError(f"{ENV_VAR}={value!r} is not a backend; valid: auto, bwrap, process")
    return value


def select_backend(limits: Limits | None = None) -> Backend:
    """The backend ``limits`` asks for (bubblewrap if it works, for ``"auto"``).

    Raises:
        SandboxError: ``"bwrap"`` was requested but bubblewrap is missing or broken.
    """
    requested = _requested(limits or Limits())
    if requested == "process":
        return _PROCESS
    backend, reason = bwrap_probe()
    if backend is not None:
        return backend
    if requested == "bwrap":
        raise SandboxError(f"the bwrap sandbox backend was requested but {reason}")
    return _PROCESS


def describe_isolation(limits: Limits | None = None) -> str:
    """Say what isolation evaluations run under, for the run header and ``doctor``.

    Args:
        limits: The limits evaluations use (default limits when None).

    Returns:
        One line, e.g. ``"bubblewrap 0.8.0: user/pid/net/... namespaces, ..."`` or,
        loudly, ``"NO SANDBOX: process group + rlimits only (bubblewrap not found)"``.
    """
    limits = limits or Limits()
    backend = select_backend(limits)
    text = backend.describe(limits)
    if backend.name == "process":
        _, reason = bwrap_probe()
        why = "forced by configuration" if _requested(limits) == "process" else reason
        text = f"{text} ({why})"
    return text


def diagnose() -> dict[str, str]:
    """What the sandbox can use on this host, one finding per key, for ``cambrian doctor``.

    Returns:
        Keys ``backend``, ``isolation``, ``bubblewrap``, ``cgroups``, ``uid`` and
        ``requested`` mapped to human-readable findings.
    """
    backend, reason = bwrap_probe()
    support = cgroup_probe()
    euid = os.geteuid()
    try:
        active = select_backend().name
        isolation = describe_isolation()
    except SandboxError as exc:
        active, isolation = "none", str(exc)
    return {
        "backend": active,
        "isolation": isolation,
        "bubblewrap": f"works ({backend.bwrap} {backend.version})" if backend else reason,
        "cgroups": f"pids+memory ({support.version})" if support.version else support.reason,
        "uid": (
            f"root: sandboxes drop to uid {Limits().sandbox_uid}"
            if euid == 0
            else f"{euid} (unprivileged)"
        ),
        "requested": f"{ENV_VAR}={os.environ.get(ENV_VAR, '')!r} (empty means auto)",
    }


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    stdin: bytes | None = None,
    readonly: Sequence[Path] = (),
    writable: Sequence[Path] | None = None,
) -> ProcessResult:
    """Run a command in its own sandboxed process tree under hard limits.

    The command gets exactly ``env`` (nothing is inherited from the caller), its own
    process tree (a bubblewrap sandbox where available, else a process group),
    rlimits for memory, CPU, file size, open files and core dumps, per-run cgroups
    where the host allows, and is killed with its whole tree at
    ``limits.timeout_s``. Output is captured concurrently and capped. Cancelling the
    awaiting task kills the tree too.

    Args:
        argv: Program and arguments; the program is looked up on ``env["PATH"]``.
        cwd: Working directory of the process.
        env: The complete environment of the process.
        limits: Limits to apply, and which backend to use.
        stdin: Bytes fed to standard input, or None for an empty stdin.
        readonly: Host paths the process may read (bubblewrap backend; the system
            dirs and the Python installation are always readable).
        writable: Host paths the process may write; ``[cwd]`` when None. Under
            bubblewrap as root they are chowned to the sandbox uid.

    Returns:
        The exit status, captured output and timing.

    Raises:
        OSError: The program could not be started (e.g. not found).
        SandboxError: The requested backend is not available.
    """
    backend = select_backend(limits)
    return await backend.run(
        argv,
        cwd=cwd,
        env=env,
        limits=limits,
        stdin=stdin,
        readonly=readonly,
        writable=[cwd] if writable is None else writable,
    )
