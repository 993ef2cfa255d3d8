"""Resource limits for one sandboxed process tree."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Hard limits applied to every process a sandbox starts.

    The wall-clock limit is enforced by the parent (it kills the whole process group);
    the others are kernel rlimits inherited by every descendant, so a child cannot lift
    them.
    """

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=60.0, gt=0)
    """Wall-clock seconds before the whole process group is killed."""

    grace_s: float = Field(default=0.5, ge=0)
    """Seconds between SIGTERM and SIGKILL at the timeout (0 sends SIGKILL at once)."""

    memory_mb: int | None = Field(default=4096, gt=0)
    """Address-space limit per process in MiB (RLIMIT_AS); None means unlimited."""

    file_size_mb: int = Field(default=64, ge=0)
    """Largest file a process may write, in MiB (RLIMIT_FSIZE)."""

    open_files: int = Field(default=256, ge=16)
    """Most file descriptors a process may hold open (RLIMIT_NOFILE)."""

    max_output_kib: int = Field(default=256, ge=1)
    """Per stream, how much of stdout/stderr is kept: the first and the last half."""
