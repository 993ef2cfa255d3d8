"""The bubblewrap backend: namespaces, a minimal read-only root, an unprivileged uid.

Profile: new user/pid/net/ipc/uts/cgroup namespaces (``--unshare-all``: only a
loopback interface, so no network), ``--die-with-parent``, ``--new-session``, no
capabilities, a cleared environment (only what the caller passes is set), the system
dirs and the Python installation read-only at their own paths, the caller's
``readonly`` paths read-only, its ``writable`` paths (the work dir) read-write, a
size-capped tmpfs on ``/tmp``, and fresh ``/proc`` and ``/dev``. Nothing else of the
host (run database, other candidates, home dirs) exists inside.

Started as root, the child first drops to ``limits.sandbox_uid`` (bubblewrap's own
``--uid`` alone would leave the process host root). An unprivileged bwrap cannot
resolve bind sources under directories it may not traverse (``/root`` is 0700 and
often holds the Python installation), so, still as root, the child makes itself a
private mount namespace and stages each such source on a fresh tmpfs mounted over
``/tmp`` there; none of this is visible to the host.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ._cgroup import probe as cgroup_probe
from ._limits import Limits
from ._process import ProcessResult, supervise_in_cgroups

_CLONE_NEWNS = 0x00020000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_STAGE = "/tmp"
_SYSTEM_DIRS = ("/usr", "/etc")
_SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_PROBE_TIMEOUT_S = 10.0


def _python_paths() -> list[Path]:
    """What the interpreter needs: its installation, the venv, and Cambrian itself."""
    import cambrian  # the package dir (an editable install lives outside the venv)

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(cambrian.__file__).parent}
    paths.add(Path(sys.executable).resolve().parent.parent)
    return sorted(p.resolve() for p in paths)


def _covered(path: Path, by: Sequence[Path]) -> bool:
    return any(path == p or p in path.parents for p in by)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _stager(sources: Sequence[str], uid: int) -> Callable[[], None]:
    """The root child's step: stage ``sources`` where uid can reach them, drop to uid."""
    libc = _libc()
    unshare, mount = libc.unshare, libc.mount

    def check(ok: int, what: str) -> None:
        if ok != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"{what}: {os.strerror(errno)}")

    def stage() -> None:
        check(unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        check(mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
        # Opened before the tmpfs hides /tmp, since a source may lie under it.
        fds = [os.open(src, os.O_PATH) for src in sources]
        check(mount(b"tmpfs", _STAGE.encode(), b"tmpfs", 0, b"mode=0755,size=1m"), "tmpfs")
        for i, fd in enumerate(fds):
            target = f"{_STAGE}/{i}"
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(target)
            else:
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
            check(
                mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None, _MS_BIND, None), target
            )
            os.close(fd)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)

    return stage


def _chown_tree(path: Path, uid: int) -> None:
    """Hand a writable dir to the sandbox uid (root only); links are not followed."""
    os.chown(path, uid, uid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


class BwrapBackend:
    """Runs each process tree in a bubblewrap sandbox (see the module docstring)."""

    name = "bwrap"

    def __init__(self, bwrap: str) -> None:
        self.bwrap = bwrap

    @functools.cached_property
    def version(self) -> str:
        out = subprocess.run([self.bwrap, "--version"], capture_output=True, text=True)
        match = re.search(r"[\d.]+", out.stdout)
        return match.group(0) if match else "?"

    def describe(self, limits: Limits) -> str:
        root = os.geteuid() == 0
        uid = limits.sandbox_uid if root else os.geteuid()
        support = cgroup_probe()
        groups = (
            f"cgroup pids+memory ({support.version})"
            if support.version
            else f"no cgroups ({support.reason})"
        )
        return (
            f"bubblewrap {self.version}: user/pid/net/ipc/uts/cgroup namespaces, no network, "
            f"uid {uid}{' (dropped from root)' if root else ''}, read-only minimal root, "
            f"private work dir, tmpfs /tmp {limits.tmpfs_mb} MiB, cleared env, "
            f"rlimits (as, cpu, fsize, nofile, core{'' if support.version else ', nproc'}), "
            f"{groups}"
        )

    def command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        limits: Limits,
        readonly: Sequence[Path],
        writable: Sequence[Path],
        staged: list[str] | None,
    ) -> list[str]:
        """The bwrap command line; with ``staged`` set, user binds go via staging."""
        cmd = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
        cmd += ["--cap-drop", "ALL", "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        for d in _SYSTEM_DIRS:
            cmd += ["--ro-bind", d, d]
        for link in _SYSTEM_LINKS:
            if os.path.islink(link):
                cmd += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                cmd += ["--ro-bind", link, link]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        cmd += ["--size", str(limits.tmpfs_mb * 1024 * 1024), "--tmpfs", "/tmp"]
        ro = [p for p in {*_python_paths(), *(Path(p).resolve() for p in readonly)}]
        ro = sorted(p for p in ro if not _covered(p, [Path(d) for d in _SYSTEM_DIRS]))
        rw = sorted({Path(p).resolve() for p in writable})
        # Parents before children, so a nested bind is not hidden by its parent's.
        binds = sorted(
            [(p, "--ro-bind") for p in ro] + [(p, "--bind") for p in rw],
            key=lambda b: len(b[0].parts),
        )
        for path, flag in binds:
            source = str(path)
            if staged is not None:
                staged.append(source)
                source = f"{_STAGE}/{len(staged) - 1}"
            cmd += [flag, source, str(path)]
        cmd += ["--chdir", str(cwd.resolve()), "--", *argv]
        return cmd

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
        if shutil.which(argv[0], path=env.get("PATH", os.defpath)) is None:
            # As subprocess would: a missing program is the caller's error, not a
            # sandbox failure to be reported as the program's exit status.
            raise FileNotFoundError(2, "No such file or directory", argv[0])
        root = os.geteuid() == 0
        staged: list[str] | None = [] if root else None
        cmd = self.command(
            argv,
            cwd=cwd,
            env=env,
            limits=limits,
            readonly=readonly,
            writable=writable,
            staged=staged,
        )
        if root:
            for path in writable:
                _chown_tree(Path(path), limits.sandbox_uid)
        result = await supervise_in_cgroups(
            cmd,
            cwd=cwd,
            env=env,
            limits=limits,
            stdin=stdin,
            prepare=_stager(staged, limits.sandbox_uid) if staged is not None else None,
            nproc=limits.nproc_rlimit,
        )
        if 128 < result.returncode < 128 + 65:
            # bwrap reports a child killed by signal N as exit status 128 + N.
            sig = result.returncode - 128
            return ProcessResult(
                returncode=-sig,
                stdout=result.stdout,
                stderr=result.stderr,
                wall_time=result.wall_time,
                timed_out=result.timed_out,
                signal=sig,
                dropped_bytes=result.dropped_bytes,
            )
        return result


def find_bwrap() -> str | None:
    """The bubblewrap binary on PATH (or /usr/bin), if any."""
    return shutil.which("bwrap") or shutil.which("bwrap", path="/usr/bin:/bin")


@functools.cache
def probe() -> tuple[BwrapBackend | None, str]:
    """Whether bubblewrap is installed and can create its sandbox here (once).

    Returns:
        The backend (or None) and, when None, the reason.
    """
    if not sys.platform.startswith("linux"):
        return None, "bubblewrap needs Linux"
    path = find_bwrap()
    if path is None:
        return None, "bubblewrap not found"
    backend = BwrapBackend(path)
    limits = Limits(timeout_s=_PROBE_TIMEOUT_S)
    staged: list[str] | None = [] if os.geteuid() == 0 else None
    cmd = backend.command(
        [sys.executable, "-I", "-S", "-c", "pass"],
        cwd=Path("/"),
        env={},
        limits=limits,
        readonly=(),
        writable=(),
        staged=staged,
    )
    prepare = _stager(staged, limits.sandbox_uid) if staged is not None else None
    try:
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            preexec_fn=prepare,
            cwd="/",
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"bubblewrap cannot start: {exc}"
    if out.returncode != 0:
        detail = out.stderr.strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        return None, f"bubblewrap cannot create its sandbox here: {detail[0]}"
    return backend, ""
