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

    def describe(self) -> str:
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
    ) -> ProcessResult:
        """Run ``argv`` to completion under ``limits``."""
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


def _rlimit_setter(limits: Limits) -> Callable[[], None]:
    """Build the function the child runs between fork and exec.

    Everything is computed here in the parent so the child only makes syscalls.
    """
    settings: list[tuple[int, int]] = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MIB),
        (resource.RLIMIT_NOFILE, limits.open_files),
    ]
    if limits.memory_mb is not None:
        settings.append((resource.RLIMIT_AS, limits.memory_mb * _MIB))

    prctl = _prctl()

    def apply() -> None:
        if prctl is not None:
            # Die with the orchestrator: a `kill -9` of it must not leave evaluations
            # running unsupervised (descendants are the sandbox backend's business).
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        for which, value in settings:
            _soft, hard = resource.getrlimit(which)
            # An unprivileged process may only lower its hard limit.
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))

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


class ProcessGroupBackend:
    """Process group + rlimits: the backend that works everywhere on POSIX.

    The child starts a new session (so it leads a fresh process group), gets its
    rlimits before exec, and the parent kills the whole group on timeout, on
    cancellation, and after the main process exits (so no descendant outlives it).
    A descendant that calls ``setsid()`` itself escapes the group; containing that
    needs a namespace backend such as bubblewrap.
    """

    def describe(self) -> str:
        return "process group + rlimits (no bubblewrap; network not isolated)"

    async def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        limits: Limits,
        stdin: bytes | None,
    ) -> ProcessResult:
        loop = asyncio.get_running_loop()
        cap = limits.max_output_kib * 1024
        start = time.monotonic()
        transport, capture = await loop.subprocess_exec(
            lambda: _Capture(loop, cap),
            *argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(cwd),
            env=dict(env),
            start_new_session=True,
            preexec_fn=_rlimit_setter(limits),
        )
        # With start_new_session the child is its own group leader: pgid == pid.
        pgid = transport.get_pid()
        timed_out = False
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
                _kill_group(pgid, signal.SIGKILL)
                await _wait(capture.exited, _REAP_S)
            # Leftover children (daemonised workers, background jobs) die with the
            # main process: nothing the candidate started may keep running.
            _kill_group(pgid, signal.SIGKILL)
            await _wait(capture.pipes_closed, _PIPE_DRAIN_S)
        finally:
            # Also reached on cancellation (the orchestrator's Ctrl-C): the group must
            # not outlive the task that was awaiting it.
            _kill_group(pgid, signal.SIGKILL)
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


_BACKEND: Backend = ProcessGroupBackend()


def describe_isolation() -> str:
    """Say what isolation evaluations run under, for the run header.

    Returns:
        A one-line description, e.g. ``"process group + rlimits (no bubblewrap; ...)"``.
    """
    return _BACKEND.describe()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    stdin: bytes | None = None,
) -> ProcessResult:
    """Run a command in its own process tree under hard limits.

    The command gets exactly ``env`` (nothing is inherited from the caller), a new
    process group, rlimits for memory, file size, open files and core dumps, and is
    killed with its whole group at ``limits.timeout_s``. Output is captured
    concurrently and capped. Cancelling the awaiting task kills the group too.

    Args:
        argv: Program and arguments; the program is looked up on ``env["PATH"]``.
        cwd: Working directory of the process.
        env: The complete environment of the process.
        limits: Limits to apply.
        stdin: Bytes fed to standard input, or None for an empty stdin.

    Returns:
        The exit status, captured output and timing.

    Raises:
        OSError: The program could not be started (e.g. not found).
    """
    return await _BACKEND.run(argv, cwd=cwd, env=env, limits=limits, stdin=stdin)
