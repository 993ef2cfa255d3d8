"""Per-run cgroups: a pids and a memory limit for a whole process tree.

Created by the (root or delegated) parent before the run, joined by the child between
fork and exec, and after the run every task in them is killed (which also catches
anything that escaped the process group) and the groups are removed. cgroup v1 (one
hierarchy per controller) and v2 (one unified hierarchy, where delegated) are both
supported; where neither is writable the sandbox runs without them and says so.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
import secrets
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()
# Killing a tree that is still forking takes a few passes; each pass is one read of
# cgroup.procs plus one kill(2) per task.
_KILL_PASSES = 200


@dataclass(frozen=True)
class CgroupSupport:
    """Which cgroup limits this host lets the sandbox set.

    Attributes:
        version: ``"v1"``, ``"v2"`` or None when cgroups cannot be used.
        parents: The directories under which per-run groups are created (v1: one for
            pids and one for memory; v2: one).
        reason: Why cgroups are unavailable (empty when they are available).
    """

    version: str | None
    parents: tuple[Path, ...]
    reason: str = ""


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller ("" is the v2 unified one)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _id, controllers, path = line.split(":", 2)
            for name in controllers.split(","):
                paths[name] = path
    return paths


def _try_parent(parent: Path, needed: tuple[str, ...]) -> str:
    """Create and remove a probe group under ``parent``; an error text, or ""."""
    probe = parent / f"cambrian-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {parent} ({exc.strerror})"
    try:
        missing = [name for name in needed if not (probe / name).exists()]
        return f"{', '.join(missing)} not delegated under {parent}" if missing else ""
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


@functools.cache
def probe() -> CgroupSupport:
    """Find out once per process whether and how per-run cgroups can be created."""
    if not _ROOT.is_dir():
        return CgroupSupport(None, (), "no /sys/fs/cgroup")
    own = _own_paths()
    if (_ROOT / "pids").is_dir() and (_ROOT / "memory").is_dir():
        pids = _ROOT / "pids" / own.get("pids", "/").lstrip("/")
        memory = _ROOT / "memory" / own.get("memory", "/").lstrip("/")
        problem = _try_parent(pids, ("pids.max",)) or _try_parent(
            memory, ("memory.limit_in_bytes",)
        )
        if problem:
            return CgroupSupport(None, (), f"cgroup v1: {problem}")
        return CgroupSupport("v1", (pids, memory))
    if (_ROOT / "cgroup.controllers").is_file():
        parent = _ROOT / own.get("", "/").lstrip("/")
        problem = _try_parent(parent, ("pids.max", "memory.max"))
        if problem:
            return CgroupSupport(None, (), f"cgroup v2: {problem}")
        return CgroupSupport("v2", (parent,))
    return CgroupSupport(None, (), "no pids/memory cgroup controllers mounted")


class RunCgroups:
    """The cgroups of one run; use :meth:`create`, pass :attr:`procs` to the child."""

    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    @property
    def procs(self) -> list[str]:
        """The ``cgroup.procs`` files the child writes its pid to before exec."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    @classmethod
    def create(cls, max_processes: int, memory_mb: int | None) -> RunCgroups | None:
        """Create this run's groups with their limits, or None where unsupported."""
        support = probe()
        if support.version is None:
            return None
        if not _swept:
            _swept.append(True)
            sweep_stale(support.parents)
        name = f"cambrian-{os.getpid()}-{next(_COUNTER)}-{secrets.token_hex(3)}"
        dirs = [parent / name for parent in support.parents]
        run = cls([])
        try:
            for d in dirs:
                d.mkdir()
                run.dirs.append(d)
            limit = str(memory_mb * 1024 * 1024) if memory_mb is not None else None
            if support.version == "v1":
                (dirs[0] / "pids.max").write_text(str(max_processes))
                if limit is not None:
                    (dirs[1] / "memory.limit_in_bytes").write_text(limit)
            else:
                (dirs[0] / "pids.max").write_text(str(max_processes))
                if limit is not None:
                    (dirs[0] / "memory.max").write_text(limit)
                    with contextlib.suppress(OSError):  # swap accounting may be off
                        (dirs[0] / "memory.swap.max").write_text("0")
        except OSError:
            run.remove()
            return None
        return run

    def _tasks(self) -> set[int]:
        tasks: set[int] = set()
        for procs in self.procs:
            with contextlib.suppress(OSError):
                tasks.update(int(p) for p in Path(procs).read_text().split())
        return tasks

    def kill_all(self) -> None:
        """SIGKILL every task in the groups until they are empty."""
        kill_file = self.dirs[0] / "cgroup.kill" if self.dirs else None
        if kill_file is not None and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(_KILL_PASSES):
            tasks = self._tasks()
            if not tasks:
                return
            for pid in tasks:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)

    def remove(self) -> None:
        """Kill what is left and remove the groups (retrying while tasks exit)."""
        if not self.dirs:
            return
        self.kill_all()
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY until the last killed task is reaped
                    time.sleep(0.005)
        self.dirs = []


_swept: list[bool] = []
_NAME = re.compile(r"cambrian-(\d+)-")


def sweep_stale(parents: Sequence[Path]) -> int:
    """Kill and remove groups left by orchestrators that died (``kill -9``).

    A group is named after the pid of the orchestrator that made it; when that pid
    no longer exists, nothing supervises the group's tasks any more (e.g. a
    sandbox's init that outlived its parent), so they are killed. Returns how many
    groups were removed.
    """
    stale: dict[str, list[Path]] = {}
    for parent in parents:
        with contextlib.suppress(OSError):
            for d in parent.iterdir():
                match = _NAME.match(d.name)
                if match and d.is_dir() and not Path(f"/proc/{match.group(1)}").exists():
                    stale.setdefault(d.name, []).append(d)
    for dirs in stale.values():
        RunCgroups(dirs).remove()
    return len(stale)
