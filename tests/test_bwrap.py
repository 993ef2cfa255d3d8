"""The bubblewrap backend: namespaces, an unprivileged uid, nothing of the host exposed."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cambrian.evaluate import EvaluatorConfig, evaluate_program
from cambrian.sandbox import Limits, ProcessResult, run_process
from cambrian.sandbox._bwrap import probe
from cambrian.task import Task

_BACKEND, _REASON = probe()
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(_BACKEND is None, reason=f"bubblewrap unusable here: {_REASON}"),
]

ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


def run_bw(code: str, work: Path, **limits: object) -> ProcessResult:
    work.mkdir(parents=True, exist_ok=True)
    limits.setdefault("timeout_s", 20)
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    return asyncio.run(
        run_process(argv, cwd=work, env=ENV, limits=Limits(backend="bwrap", **limits))
    )


def processes_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token`` (ours excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_gone(token: str, wait_s: float = 5.0) -> list[int]:
    deadline = time.monotonic() + wait_s
    while (left := processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_network_to_a_live_local_listener_fails(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        result = run_bw(
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
                print("CONNECTED")
            except OSError as exc:
                print("blocked", exc)
            """,
            tmp_path / "work",
        )
    finally:
        server.close()
    assert "blocked" in result.stdout, result.stderr
    assert "CONNECTED" not in result.stdout


def test_files_outside_the_work_dir_are_invisible_and_unwritable(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden answer")
    result = run_bw(
        f"""
        import os
        for path in ({str(secret)!r}, "/root/.bash_history"):
            print(path, os.path.exists(path))
        for path in ({str(tmp_path / "planted.txt")!r}, "/usr/planted", "/etc/planted"):
            try:
                open(path, "w").write("x")
                print("WROTE", path)
            except OSError as exc:
                print("refused", path, exc.strerror)
        open("inside.txt", "w").write("ok")
        """,
        tmp_path / "work",
    )
    assert result.returncode == 0, result.stderr
    assert f"{secret} False" in result.stdout
    # Writes under /tmp land in the sandbox's own tmpfs; the system dirs are read-only.
    assert "WROTE /usr" not in result.stdout
    assert "WROTE /etc" not in result.stdout
    assert not (tmp_path / "planted.txt").exists()
    assert secret.read_text() == "hidden answer"
    assert (tmp_path / "work" / "inside.txt").read_text() == "ok"


def test_env_secrets_are_invisible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    result = run_bw(
        """
        import os
        print(sorted(os.environ))
        print(open("/proc/1/environ", "rb").read())
        """,
        tmp_path / "work",
    )
    assert "sk-secret-123" not in result.stdout + result.stderr
    assert "OPENAI_API_KEY" not in result.stdout


def test_host_sees_an_unprivileged_owner(tmp_path: Path) -> None:
    result = run_bw(
        "open('made.txt', 'w').write('x'); import os; print(os.getuid())", tmp_path / "w"
    )
    assert result.returncode == 0, result.stderr
    owner = (tmp_path / "w" / "made.txt").stat().st_uid
    assert owner != 0
    if os.geteuid() == 0:
        assert owner == Limits().sandbox_uid


def test_fork_bomb_is_contained_and_nothing_survives(tmp_path: Path) -> None:
    token = f"forkbomb-{secrets.token_hex(6)}"
    result = run_bw(
        f"""
        import os, time
        # {token}
        n = 0
        while True:
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
            except OSError as exc:
                print("refused after", n, exc.strerror, flush=True)
                break
        """,
        tmp_path / "work",
        max_processes=32,
        timeout_s=10,
    )
    assert "refused after" in result.stdout, result.stderr
    assert int(result.stdout.split()[2]) < 40
    assert wait_gone(token) == []


def test_double_forked_daemon_does_not_survive(tmp_path: Path) -> None:
    token = f"daemon-{secrets.token_hex(6)}"
    result = run_bw(
        f"""
        import os, subprocess, sys
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "{token}"])
            os._exit(0)
        os.wait()
        print("parent done", flush=True)
        """,
        tmp_path / "work",
    )
    assert result.returncode == 0, result.stderr
    assert wait_gone(token) == []


def test_timeout_kills_the_sandbox(tmp_path: Path) -> None:
    token = f"sleeper-{secrets.token_hex(6)}"
    start = time.monotonic()
    result = run_bw(
        f"import time; time.sleep(60)  # {token}", tmp_path / "work", timeout_s=1, grace_s=0.2
    )
    assert result.timed_out
    assert time.monotonic() - start < 8
    assert wait_gone(token) == []


def test_tmpfs_is_size_capped(tmp_path: Path) -> None:
    result = run_bw(
        """
        try:
            with open("/tmp/fill", "wb") as f:
                for _ in range(16):
                    f.write(b"x" * (1 << 20))
            print("FILLED")
        except OSError as exc:
            print("capped", exc.strerror)
        """,
        tmp_path / "work",
        tmpfs_mb=4,
    )
    assert "capped No space left on device" in result.stdout, result.stderr


def test_missing_program_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        asyncio.run(
            run_process(
                ["/nonexistent/prog"], cwd=tmp_path, env=ENV, limits=Limits(backend="bwrap")
            )
        )


NESTED_EVALUATOR = """\
from cambrian.sandbox import run_candidate


def evaluate(program_path):
    result = run_candidate(program_path, "solve", args=[4], timeout=20)
    if not result.ok:
        return {"combined_score": 0.0, "feedback": result.error}
    peek = run_candidate(program_path, "peek", timeout=20)
    return {"combined_score": float(result.value), "peek": str(peek.value)}
"""

NESTED_PROGRAM = """\
import os


def solve(n):
    return n * 0.25


def peek():
    return [os.path.exists(p) for p in (HIDDEN, os.path.dirname(HIDDEN))]
"""


def test_nested_run_candidate_inside_a_sandboxed_evaluator(tmp_path: Path) -> None:
    root = tmp_path / "task"
    root.mkdir()
    (root / "evaluate.py").write_text(NESTED_EVALUATOR)
    (root / "hidden.txt").write_text("answers")
    program = f"HIDDEN = {str(root / 'hidden.txt')!r}\n" + NESTED_PROGRAM
    task = Task(
        name="nested",
        root=root,
        format="cambrian",
        seed={"main.py": program},
        entry="main.py",
        evaluator=root / "evaluate.py",
        protocol="evaluate",
    )
    result = asyncio.run(
        evaluate_program(
            task,
            {"main.py": program},
            work_dir=tmp_path / "work",
            config=EvaluatorConfig(limits=Limits(backend="bwrap", timeout_s=40)),
        )
    )
    assert result.ok, (result.error, result.stderr)
    assert result.combined_score == 1.0
    # The candidate profile has no task dir at all.
    assert result.artifacts["peek"] == "[False, False]"
    assert not any("weaker isolation" in w for w in result.warnings)
