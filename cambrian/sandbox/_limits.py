"""Resource limits and backend choice for one sandboxed process tree."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BackendName = Literal["auto", "bwrap", "process"]


class Limits(BaseModel):
    """Hard limits applied to every process a sandbox starts, and how it is isolated.

    The wall-clock limit is enforced by the parent (it kills the whole process tree);
    the others are kernel rlimits inherited by every descendant, so a child cannot lift
    them, plus per-run cgroup limits where the host allows.
    """

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=60.0, gt=0)
    """Wall-clock seconds before the whole process tree is killed."""

    grace_s: float = Field(default=0.5, ge=0)
    """Seconds between SIGTERM and SIGKILL at the timeout (0 sends SIGKILL at once)."""

    memory_mb: int | None = Field(default=4096, gt=0)
    """Address-space limit per process in MiB (RLIMIT_AS), also the whole tree's memory
    cgroup limit where cgroups are available; None means unlimited."""

    file_size_mb: int = Field(default=64, ge=0)
    """Largest file a process may write, in MiB (RLIMIT_FSIZE)."""

    open_files: int = Field(default=256, ge=16)
    """Most file descriptors a process may hold open (RLIMIT_NOFILE)."""

    max_output_kib: int = Field(default=256, ge=1)
    """Per stream, how much of stdout/stderr is kept: the first and the last half."""

    backend: BackendName = "auto"
    """``"bwrap"`` (bubblewrap namespaces), ``"process"`` (process group + rlimits) or
    ``"auto"``: bubblewrap when it is installed and works, else the process group. With
    ``"auto"`` the ``CAMBRIAN_SANDBOX`` environment variable may name the backend."""

    max_processes: int = Field(default=512, ge=8)
    """Most processes/threads in the tree: the pids cgroup limit, and RLIMIT_NPROC
    where the sandbox runs as an unprivileged uid (bubblewrap backend)."""

    nproc_rlimit: bool | None = None
    """Also set RLIMIT_NPROC (bubblewrap backend). The count is per host uid, shared by
    every sandbox using ``sandbox_uid``, so None means only where no per-run pids
    cgroup (this run's or an enclosing evaluation's) already limits the tree."""

    sandbox_uid: int = Field(default=65534, ge=1)
    """Unprivileged uid (and gid) the bubblewrap backend drops to when started as root."""

    tmpfs_mb: int = Field(default=64, ge=1)
    """Size of the private ``/tmp`` tmpfs inside a bubblewrap sandbox, in MiB."""

    cpu_time_factor: float = Field(default=4.0, gt=0)
    """RLIMIT_CPU is this many times ``timeout_s`` (+10 s): a backstop that ends a
    process even if the wall-clock supervisor is gone, never the usual limit."""
