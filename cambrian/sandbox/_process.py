"""Run one command in its own process group with rlimits and a hard wall-clock kill."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from ._cgroup import RunCgroups
from ._cgroup import probe as cgroup_probe
from ._limits import Limits
from ._output import CappedBuffer

_MIB = 1024 * 1024
# After the main process is gone and its group was SIGKILLed, how long to wait for the
# pipes to reach EOF. Only a descendant that escaped the group (setsid) can hold them
# open longer; its output is then abandoned rather than waited for.
_PIPE_DRAIN_S = 1.0
# How long to wait for a SIGKILLed process to be reaped before giving up on it.
_REAP_S = 5.0


@dataclass(frozen=True)
class ProcessResult:
    """What a sandboxed process did.

    Attributes:
        returncode: Exit status; negative when a signal ended the process.
        stdout: Captured standard output (capped, decoded with replacement).
        stderr: Captured standard error (capped, decoded with replacement).
        wall_time: Seconds from start until the main process exited, measured by the
            parent.
        timed_out: True when the wall-clock limit was hit and the group was killed.
        signal: The signal that ended the main process, if any.
        dropped_bytes: Bytes of stdout plus stderr discarded by the output cap.
    """

    returncode: int
    stdout: str
    stderr: str
    wall_time: float
    timed_out: bool
    signal: int | None
    dropped_bytes: int


class Backend(Protocol):
    """One way to isolate a process; :func:`run_process` delegates to one."""

    name: str

    def describe(self, limits: Limits) -> str:
        """One line saying what isolation this backend gives, for run headers."""
        ...

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        limits: Limits,
        stdin: bytes | None,
        readonly: Sequence[Path],
        writable: Sequence[Path],
    ) -> ProcessResult:
        """Run ``argv`` to completion under ``limits``.

        ``readonly``/``writable`` are the host paths the process may see (besides the
        system dirs and the interpreter); a backend without filesystem isolation
        ignores them.
        """
        ...


_PR_SET_PDEATHSIG = 1


def _prctl() -> Callable[[int, int], int] | None:
    """libc's prctl, looked up in the parent (the child must not load libraries)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
        return prctl
    except (OSError, AttributeError):
        return None


def child_setup(
    limits: Limits,
    *,
    cgroup_procs: Sequence[str] = (),
    prepare: Callable[[], None] | None = None,
    nproc: bool = False,
) -> Callable[[], None]:
    """Build the function the child runs between fork and exec.

    In order: join the run's cgroups (needs the parent's privileges), run ``prepare``
    (a backend's own step, e.g. dropping root), set the rlimits, and ask for SIGKILL
    when the parent dies. Everything is computed here in the parent so the child
    mostly makes syscalls.
    """
    settings: list[tuple[int, int]] = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MIB),
        (resource.RLIMIT_NOFILE, limits.open_files),
    ]
    if limits.memory_mb is not None:
        settings.append((resource.RLIMIT_AS, limits.memory_mb * _MIB))
    if nproc:
        # Only for a dedicated unprivileged uid: the count is per user, so for the
        # caller's own uid it would include every other process they run.
        settings.append((resource.RLIMIT_NPROC, limits.max_processes))
    cpu = int(limits.timeout_s * limits.cpu_time_factor) + 10
    prctl = _prctl()

    def apply() -> None:
        pid = str(os.getpid()).encode()
        for procs in cgroup_procs:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        if prepare is not None:
            prepare()
        for which, value in settings:
            _soft, hard = resource.getrlimit(which)
            # An unprivileged process may only lower its hard limit.
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        # SIGXCPU at the soft limit (a catchable warning), SIGKILL 5 s later.
        _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        cpu_hard = cpu + 5 if hard == resource.RLIM_INFINITY else min(cpu + 5, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu, cpu_hard), cpu_hard))
        if prctl is not None:
            # Die with the orchestrator: a `kill -9` of it must not leave evaluations
            # running unsupervised. Set last: a uid change in `prepare` clears it.
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


def _kill_group(pgid: int, sig: int) -> None:
    """Signal a whole process group; an already empty group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class _Capture(asyncio.SubprocessProtocol):
    """Feeds both pipes into capped buffers and reports exit and EOF as futures.

    Data is consumed as it arrives, so a flooding process never blocks on a full pipe
    and memory never grows past the caps.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, cap: int) -> None:
        self.stdout = CappedBuffer(cap)
        self.stderr = CappedBuffer(cap)
        self.exited: asyncio.Future[float] = loop.create_future()
        self.pipes_closed: asyncio.Future[None] = loop.create_future()
        self._open_pipes = {1, 2}

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        (self.stdout if fd == 1 else self.stderr).feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open_pipes.discard(fd)
        if not self._open_pipes and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(time.monotonic())


async def _wait(future: asyncio.Future[Any], timeout: float) -> bool:
    """Wait for ``future`` without cancelling it; True if it completed in time."""
    done, _ = await asyncio.wait({future}, timeout=timeout)
    return bool(done)


async def supervise(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    stdin: bytes | None,
    preexec: Callable[[], None],
    on_exit: Callable[[], None] | None = None,
) -> ProcessResult:
    """Start ``argv`` as a new session and supervise it to the end.

    The child leads a fresh process group; the parent kills the whole group on
    timeout, on cancellation, and after the main process exits (so no descendant
    outlives it). ``on_exit`` (e.g. killing a cgroup) runs at those same points.
    """
    loop = asyncio.get_running_loop()
    cap = limits.max_output_kib * 1024
    start = time.monotonic()
    spawn = asyncio.ensure_future(
        loop.subprocess_exec(
            lambda: _Capture(loop, cap),
            *argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(cwd),
            env=dict(env),
            start_new_session=True,
            preexec_fn=preexec,
        )
    )
    try:
        # Shielded: a cancellation that lands while the child is being started must
        # not abandon it half-supervised (asyncio would then wait for pipes that a
        # sandbox descendant may hold open forever).
        transport, capture = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        started = await asyncio.wait_for(spawn, _REAP_S + _PIPE_DRAIN_S)
        _kill_group(started[0].get_pid(), signal.SIGKILL)
        if on_exit is not None:
            on_exit()
        started[0].close()
        raise
    # With start_new_session the child is its own group leader: pgid == pid.
    pgid = transport.get_pid()
    timed_out = False

    def kill_all() -> None:
        _kill_group(pgid, signal.SIGKILL)
        if on_exit is not None:
            on_exit()

    try:
        if stdin is not None:
            pipe = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))
            # Buffered by the transport; a child that never reads it just leaves
            # it there, and a closed pipe is reported, not raised.
            pipe.write(stdin)
            pipe.close()
        if not await _wait(capture.exited, limits.timeout_s):
            timed_out = True
            if limits.grace_s > 0:
                _kill_group(pgid, signal.SIGTERM)
                await _wait(capture.exited, limits.grace_s)
            kill_all()
            await _wait(capture.exited, _REAP_S)
        # Leftover children (daemonised workers, background jobs) die with the
        # main process: nothing the candidate started may keep running.
        kill_all()
        await _wait(capture.pipes_closed, _PIPE_DRAIN_S)
    finally:
        # Also reached on cancellation (the orchestrator's Ctrl-C): the group must
        # not outlive the task that was awaiting it.
        kill_all()
        if not capture.exited.done():
            # Wait for the reap so no zombie or unreaped Popen outlives the call.
            await _wait(capture.exited, _REAP_S)
        transport.close()
    end = capture.exited.result() if capture.exited.done() else time.monotonic()
    returncode = transport.get_returncode()
    if returncode is None:  # never reaped within _REAP_S; report it as killed
        returncode = -signal.SIGKILL
    return ProcessResult(
        returncode=returncode,
        stdout=capture.stdout.text(),
        stderr=capture.stderr.text(),
        wall_time=end - start,
        timed_out=timed_out,
        signal=-returncode if returncode < 0 else None,
        dropped_bytes=capture.stdout.dropped + capture.stderr.dropped,
    )


async def supervise_in_cgroups(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    stdin: bytes | None,
    prepare: Callable[[], None] | None = None,
    nproc: bool | None = None,
) -> ProcessResult:
    """:func:`supervise` inside per-run cgroups (where the host allows), removed after.

    ``nproc`` sets RLIMIT_NPROC; None means "only when no pids cgroup limits the tree".
    """
    groups = RunCgroups.create(limits.max_processes, limits.memory_mb)
    preexec = child_setup(
        limits,
        cgroup_procs=groups.procs if groups else (),
        prepare=prepare,
        nproc=groups is None if nproc is None else nproc,
    )
    try:
        return await supervise(
            argv,
            cwd=cwd,
            env=env,
            limits=limits,
            stdin=stdin,
            preexec=preexec,
            on_exit=groups.kill_all if groups else None,
        )
    finally:
        if groups is not None:
            groups.remove()


class ProcessGroupBackend:
    """Process group + rlimits (+ cgroups where allowed): works everywhere on POSIX.

    The child starts a new session, gets its rlimits (and joins per-run cgroups where
    the host allows) before exec, and is supervised by :func:`supervise`. There is no
    filesystem or network isolation, and a descendant that calls ``setsid()`` escapes
    the process group (a cgroup, where available, still catches it).
    """

    name = "process"

    def describe(self, limits: Limits) -> str:
        support = cgroup_probe()
        groups = f"cgroup pids+memory ({support.version})" if support.version else "no cgroups"
        return (
            "NO SANDBOX: process group + rlimits only, "
            f"{groups}; no filesystem or network isolation"
        )

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        limits: Limits,
        stdin: bytes | None,
        readonly: Sequence[Path] = (),
        writable: Sequence[Path] = (),
    ) -> ProcessResult:
        return await supervise_in_cgroups(
            argv, cwd=cwd, env=env, limits=limits, stdin=stdin, nproc=False
        )
