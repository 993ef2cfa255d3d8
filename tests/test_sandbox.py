"""The process-group backend: real processes, hard limits, nothing left behind.

These tests force ``backend="process"`` (host pids are checked directly); the
bubblewrap backend has its own tests in test_bwrap.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

import cambrian.sandbox as sandbox
from cambrian.sandbox import Limits, ProcessResult, describe_isolation, run_process
from cambrian.sandbox._output import CappedBuffer

pytestmark = pytest.mark.timeout(30)

ENV = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C.UTF-8"}


def run_py(code: str, tmp_path: Path, **limits: object) -> ProcessResult:
    """Run Python ``code`` in the sandbox with the given limits."""
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    limits.setdefault("backend", "process")
    return asyncio.run(run_process(argv, cwd=tmp_path, env=ENV, limits=Limits(**limits)))


def is_gone(pid: int, wait_s: float = 3.0) -> bool:
    """True once ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


SPAWN_GRANDCHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen(["sleep", "60"])
    with open("pids.tmp", "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    os.replace("pids.tmp", "pids")
    print("started", flush=True)
    """
)


def read_pids(tmp_path: Path) -> list[int]:
    return [int(p) for p in (tmp_path / "pids").read_text().split()]


def test_exported_members() -> None:
    assert sandbox.__all__ == [
        "CandidateResult",
        "Limits",
        "ProcessResult",
        "SandboxError",
        "describe_isolation",
        "diagnose",
        "run_candidate",
        "run_process",
    ]


def test_describe_isolation_is_honest() -> None:
    text = describe_isolation(Limits(backend="process"))
    assert text.startswith("NO SANDBOX: process group")
    assert "rlimits" in text
    assert "forced by configuration" in text


def test_env_var_picks_the_backend_only_for_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMBRIAN_SANDBOX", "process")
    assert describe_isolation().startswith("NO SANDBOX")
    monkeypatch.setenv("CAMBRIAN_SANDBOX", "nonsense")
    with pytest.raises(sandbox.SandboxError, match="nonsense"):
        describe_isolation()
    assert describe_isolation(Limits(backend="process")).startswith("NO SANDBOX")


def test_diagnose_reports_every_finding() -> None:
    report = sandbox.diagnose()
    assert set(report) == {"backend", "isolation", "bubblewrap", "cgroups", "uid", "requested"}
    assert report["backend"] in ("bwrap", "process")


def test_limits_reject_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError):
        Limits(timeout=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Limits(timeout_s=0)


def test_captures_output_exit_status_and_stdin(tmp_path: Path) -> None:
    argv = [
        sys.executable,
        "-c",
        "import sys; data = sys.stdin.read(); print('out', data); "
        "print('err', file=sys.stderr); sys.exit(3)",
    ]
    result = asyncio.run(
        run_process(argv, cwd=tmp_path, env=ENV, limits=Limits(timeout_s=10), stdin=b"hello")
    )
    assert result.returncode == 3
    assert result.stdout == "out hello\n"
    assert result.stderr == "err\n"
    assert not result.timed_out
    assert result.signal is None
    assert result.dropped_bytes == 0
    assert result.wall_time > 0


def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    result = run_py("import sys; sys.stdout.buffer.write(b'a\\xffb')", tmp_path)
    assert result.stdout == "a\ufffdb"


def test_environment_is_exactly_what_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    result = run_py("import os; print(sorted(os.environ))", tmp_path)
    assert "OPENAI_API_KEY" not in result.stdout
    assert "sk-test-secret" not in result.stdout
    assert "PATH" in result.stdout


def test_rlimits_are_applied(tmp_path: Path) -> None:
    result = run_py(
        """
        import resource as r
        for name in ("RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"):
            print(name, *r.getrlimit(getattr(r, name)))
        """,
        tmp_path,
        memory_mb=512,
        file_size_mb=2,
        open_files=100,
    )
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["RLIMIT_AS"] == f"{512 * 2**20} {512 * 2**20}"
    assert lines["RLIMIT_FSIZE"] == f"{2 * 2**20} {2 * 2**20}"
    assert lines["RLIMIT_NOFILE"] == "100 100"
    assert lines["RLIMIT_CORE"] == "0 0"


def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    result = run_py(SPAWN_GRANDCHILD + "time.sleep(60)\n", tmp_path, timeout_s=1.0, grace_s=0.2)
    assert result.timed_out
    assert result.returncode != 0
    assert result.signal is not None
    assert 1.0 <= result.wall_time < 5.0
    assert "started" in result.stdout
    main_pid, grandchild = read_pids(tmp_path)
    assert is_gone(main_pid)
    assert is_gone(grandchild)


def test_timeout_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    result = run_py(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)
        """,
        tmp_path,
        timeout_s=1.0,
        grace_s=0.2,
    )
    assert result.timed_out
    assert result.signal == 9
    assert result.wall_time < 5.0


def test_leftover_children_are_killed_when_the_main_process_exits(tmp_path: Path) -> None:
    # The grandchild inherits stdout: if it survived, reading would also hang.
    start = time.monotonic()
    result = run_py(SPAWN_GRANDCHILD, tmp_path, timeout_s=20)
    assert time.monotonic() - start < 10
    assert result.returncode == 0
    assert not result.timed_out
    _, grandchild = read_pids(tmp_path)
    assert is_gone(grandchild)


def test_output_flood_is_capped_without_hanging(tmp_path: Path) -> None:
    result = run_py(
        """
        import sys
        out = sys.stdout.buffer
        out.write(b"START")
        block = b"x" * (1 << 20)
        for _ in range(50):
            out.write(block)
        out.write(b"END")
        """,
        tmp_path,
        timeout_s=20,
        max_output_kib=64,
    )
    assert result.returncode == 0
    assert not result.timed_out
    assert result.stdout.startswith("START")
    assert result.stdout.endswith("END")
    assert len(result.stdout) < 64 * 1024 + 200
    assert result.dropped_bytes == 50 * (1 << 20) + len("STARTEND") - 64 * 1024
    assert "bytes dropped" in result.stdout


def test_memory_bomb_fails_and_host_survives(tmp_path: Path) -> None:
    result = run_py(
        """
        chunks = []
        while True:
            chunks.append(bytearray(64 * 1024 * 1024))
        """,
        tmp_path,
        memory_mb=256,
        timeout_s=20,
    )
    assert result.returncode != 0
    assert not result.timed_out
    assert "MemoryError" in result.stderr
    # The host process is unaffected: it can still allocate and start processes.
    assert len(bytearray(300 * 1024 * 1024)) == 300 * 1024 * 1024
    assert run_py("print('alive')", tmp_path).stdout == "alive\n"


def test_file_size_limit(tmp_path: Path) -> None:
    result = run_py(
        """
        with open("big.bin", "wb") as f:
            f.write(b"x" * (3 * 1024 * 1024))
        """,
        tmp_path,
        file_size_mb=1,
    )
    assert result.returncode != 0
    assert "File too large" in result.stderr
    assert (tmp_path / "big.bin").stat().st_size <= 1024 * 1024


def test_open_files_limit(tmp_path: Path) -> None:
    result = run_py(
        "files = [open(__import__('os').devnull) for _ in range(200)]",
        tmp_path,
        open_files=64,
    )
    assert result.returncode != 0
    assert "Too many open files" in result.stderr


def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", textwrap.dedent(SPAWN_GRANDCHILD + "time.sleep(60)\n")]

    async def scenario() -> None:
        task = asyncio.create_task(
            run_process(argv, cwd=tmp_path, env=ENV, limits=Limits(timeout_s=30, backend="process"))
        )
        deadline = time.monotonic() + 10
        while not (tmp_path / "pids").exists():
            assert time.monotonic() < deadline, "child never started"
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    main_pid, grandchild = read_pids(tmp_path)
    assert is_gone(main_pid)
    assert is_gone(grandchild)


def test_missing_program_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        asyncio.run(run_process(["/nonexistent/prog"], cwd=tmp_path, env=ENV, limits=Limits()))


def test_capped_buffer_keeps_head_and_tail() -> None:
    buf = CappedBuffer(10)
    for chunk in (b"abc", b"defgh", b"ijklmnop", b"qrst"):
        buf.feed(chunk)
    assert buf.total == 20
    assert buf.dropped == 10
    text = buf.text()
    assert text.startswith("abcde")
    assert text.endswith("pqrst")
    assert "10 bytes dropped" in text


def test_capped_buffer_small_output_is_verbatim() -> None:
    buf = CappedBuffer(10)
    buf.feed(b"hello")
    assert buf.text() == "hello"
    assert buf.dropped == 0


@pytest.mark.parametrize("delay", [0.0, 0.001, 0.005, 0.02])
def test_cancel_while_starting_leaves_nothing_behind(tmp_path: Path, delay: float) -> None:
    """A stop that lands while the child is being started must not hang or leak it."""
    import uuid

    marker = f"cambrian-spawn-race-{uuid.uuid4().hex}"

    async def scenario() -> None:
        task = asyncio.ensure_future(
            run_process(
                [sys.executable, "-c", "import time; time.sleep(60)", marker],
                cwd=tmp_path,
                env={"PATH": os.environ.get("PATH", "")},
                limits=Limits(timeout_s=30),
            )
        )
        await asyncio.sleep(delay)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and marker.encode() in _cmdline(p)
        ]
        if not alive:
            break
        time.sleep(0.05)
    assert not alive


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
