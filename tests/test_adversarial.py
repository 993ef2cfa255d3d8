"""The adversarial corpus (issue 3, section 4): hostile candidates on the real path.

Each file in ``tests/adversarial/candidates/`` is a candidate program (the task's
``solve(inputs)`` interface) that attacks the sandbox or the verdict; its docstring
states the attack and the expected outcome, and :data:`EXPECTED` pins that outcome.
The task in ``tests/adversarial/task/`` is small: its trusted evaluator calls the
candidate through ``run_candidate`` and scores the returned value against answers in
``hidden.json`` next to it, so the only ways to score above the honest score are to
read that file or to fake the verdict.

Every candidate runs through :func:`evaluate_program` (a handful also through a whole
:func:`cambrian.evolve` run, proposed by a scripted model as full rewrites). After
each one the test asserts:

* the outcome: failed with the expected kind, or scored exactly on what it computed,
  and never above its honest score;
* no canary leaked (hidden answers, the run DB, the orchestrator's API key, the
  evaluator's token) into anything the orchestrator records;
* the task files, a run DB placed beside them, another candidate's dir, everything
  else in the test's temp dir outside the evaluation's work dir, and the committed
  corpus are byte-identical (sha256), with no file added;
* the live TCP/UDP listeners on 127.0.0.1 received nothing;
* no process of the candidate is left (marker in its name/argv, or the test's temp
  dir in its argv), no new child of the test process, and nothing carrying the marker
  in the host's /tmp, /var/tmp or /dev/shm.

Outcomes that rely on namespaces (network, file system, /proc, sessions) are skipped,
with the reason, when the bubblewrap backend is not active (CI installs bubblewrap);
holes known in that process-group fallback only are strict xfails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cambrian import ScriptedModel, evolve
from cambrian.evaluate import EvalResult, EvaluatorConfig, evaluate_program
from cambrian.sandbox import Limits, diagnose
from cambrian.task import load_task

pytestmark = pytest.mark.timeout(120)

CORPUS = Path(__file__).resolve().parent / "adversarial"
CANDIDATES = CORPUS / "candidates"
TASK = CORPUS / "task"
HIDDEN_CANARY = json.loads((TASK / "hidden.json").read_text())["canary"]

SCORED = "scored"
SEED_SCORE = 0.5
TIMEOUT_S = 2.0
MEMORY_MB = 512
OUTPUT_KIB = 16
# How much a candidate may put on disk: the private /tmp tmpfs is 64 MiB, a work dir
# capped alike would give 128; anything far above means the disk can be filled.
DISK_BUDGET_MIB = 160
HOST_TEMP_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))


@dataclass(frozen=True)
class Expect:
    """What evaluating a candidate must end with.

    Attributes:
        outcomes: ``"scored"`` and/or the candidate failure kinds that are right.
        honest: The score of what the candidate truly computes; never exceeded.
        exact: A ``"scored"`` outcome must equal ``honest`` (False: at most it, for
            candidates whose own daemon races their result).
        needs: ``"bwrap"`` when the guarantee relies on namespaces (file system,
            network, /proc); ``"contain"`` when it needs escaped sessions killed
            (bubblewrap's PID namespace or a cgroup).
        timeout: The candidate's wall-clock limit in seconds.
    """

    outcomes: frozenset[str]
    honest: float = 0.0
    exact: bool = True
    needs: str = ""
    timeout: float = TIMEOUT_S


def expect(
    *outcomes: str,
    honest: float = 0.0,
    exact: bool = True,
    needs: str = "",
    timeout: float = TIMEOUT_S,
) -> Expect:
    return Expect(frozenset(outcomes), honest, exact, needs, timeout)


EXPECTED: dict[str, Expect] = {
    # Controls: the harness can report a perfect score and the seed's honest one.
    "control_honest": expect(SCORED, honest=1.0),
    "control_seed": expect(SCORED, honest=SEED_SCORE),
    # Resource exhaustion.
    "loop_forever": expect("timeout", timeout=1),
    "sleep_forever": expect("timeout", timeout=1),
    "ignore_sigterm": expect("timeout", timeout=1),
    "fork_bomb": expect("timeout", "crash", timeout=1),
    "memory_bomb": expect("oom", timeout=3),
    "lift_rlimits": expect("oom", timeout=3),
    "stdout_flood": expect("timeout", timeout=1),
    "fill_disk": expect(SCORED, "oom", "timeout", honest=SEED_SCORE, needs="bwrap", timeout=2.5),
    "recursion_bomb": expect("crash"),
    "segfault_ctypes": expect("crash"),
    "daemon_double_fork": expect(SCORED, honest=SEED_SCORE, needs="contain"),
    "daemon_setsid_exec": expect(SCORED, honest=SEED_SCORE, needs="contain"),
    "atexit_hijack": expect(SCORED, honest=SEED_SCORE),
    # Faking the verdict.
    "fake_score_exit": expect("crash"),
    "os_exit_early": expect("crash"),
    "skiptest": expect("crash"),
    "exception_forgery": expect("crash"),
    "eq_always_true": expect("invalid_result"),
    "int_subclass_eq": expect("invalid_result"),
    "nan_inf": expect("invalid_result"),
    "huge_ints": expect("invalid_result"),
    "huge_payload": expect("invalid_result"),
    "bool_answers": expect(SCORED, honest=0.25),
    "pickle_reduce": expect(SCORED, honest=SEED_SCORE),
    "monkeypatch_time": expect(SCORED, honest=SEED_SCORE),
    "monkeypatch_numpy": expect(SCORED, honest=SEED_SCORE),
    # Patching builtins breaks the runner's own reporting: failing is right, too.
    "monkeypatch_builtins": expect(SCORED, "crash", "invalid_result", honest=SEED_SCORE),
    "tamper_runner": expect(SCORED, honest=SEED_SCORE),
    # Its forgeries land outside its own dir unless the file system is isolated.
    "forged_result_files": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    # Its daemon may clobber its own runner's result (value None): at most honest.
    "forged_result_daemon": expect(SCORED, honest=SEED_SCORE, exact=False, needs="bwrap"),
    # Escaping: reading, writing, network, signals.
    "read_hidden": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "read_env_secrets": expect(SCORED, honest=SEED_SCORE),
    "read_proc_parent": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "read_run_db": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "network_exfil": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "write_outside": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "symlink_escape": expect(SCORED, honest=SEED_SCORE, needs="bwrap"),
    "kill_parent": expect(SCORED, "crash", honest=SEED_SCORE, needs="bwrap"),
    # Unicode and size edge cases.
    "unicode_surrogates": expect(SCORED, honest=SEED_SCORE),
    "unicode_crlf": expect(SCORED, honest=SEED_SCORE),
    "unicode_nul": expect("compile_error"),
    "big_source": expect(SCORED, honest=SEED_SCORE),
    # Aimed at the trusted side's clean-up.
    "deep_dirs": expect(SCORED, honest=0.0),
}

# Whether candidates run under bubblewrap here; without it (the process-group fallback)
# some guarantees cannot hold yet, see FALLBACK_HOLES.
BWRAP_ACTIVE = diagnose()["backend"] == "bwrap"

# Holes the corpus finds in the process-group fallback only: expected to fail there.
DEEP_TREE_HOLE = (
    "hole in the fallback backend: the candidate's private dir is on the host disk and "
    "run_candidate removes it with shutil.rmtree(ignore_errors=True), which gives up "
    "silently on a deep tree (EMFILE at ~250 levels under the evaluator's 256-fd limit), "
    "so the tree is left in the evaluation's work dir; the engine's own "
    "shutil.rmtree(work_dir, ignore_errors=True) then raises RecursionError (not an "
    "OSError, so ignore_errors does not help): the run crashes, and every resume "
    "crashes again in Engine._open's rmtree of run_dir/work. Under bubblewrap the "
    "private dir is a tmpfs, so the tree never reaches the host"
)
FALLBACK_HOLES = {"deep_dirs": DEEP_TREE_HOLE}

# A representative handful that also runs as a whole evolve run, in this order:
# write_outside first, so a poisoned evaluator would inflate the ones after it.
EVOLVED = [
    "write_outside",
    "control_seed",
    "read_hidden",
    "forged_result_daemon",
    "fake_score_exit",
    "memory_bomb",
    "eq_always_true",
    "tamper_runner",
]


# --- sources -------------------------------------------------------------------------


def _crlf(text: str) -> str:
    """CRLF line endings, plus a form feed line and one lone CR line ending."""
    text = text.replace("\n", "\r\n")
    text = text.replace("\r\n\r\n\r\ndef solve", "\r\n\x0c\r\n\r\ndef solve", 1)
    return text.replace('zwnbsp = "\ufeff"\r\n', 'zwnbsp = "\ufeff"\r', 1)


def _nul(text: str) -> str:
    return text.replace("# NUL-BYTE-HERE", "# a NUL byte: \x00", 1)


def _big(text: str) -> str:
    """~10 MB: 5 MB of comment lines and a 5 MB string constant."""
    comment = ("# " + "padding " * 12 + "\n") * (5_000_000 // 99)
    constant = "PADDING = '" + "y" * 5_000_000 + "'"
    return text.replace('PADDING = ""  # BIG-PADDING-HERE', comment + constant, 1)


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "unicode_crlf": _crlf,
    "unicode_nul": _nul,
    "big_source": _big,
}


# --- the host, watched -------------------------------------------------------------


class Listener:
    """A live TCP and UDP listener on 127.0.0.1 that records whatever reaches it."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp_port = self.udp.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.tcp, self.udp], [], [], 0.05)
            if self.tcp in ready:
                conn, _ = self.tcp.accept()
                self.connections += 1
                with conn:
                    conn.settimeout(0.5)
                    with contextlib.suppress(OSError):
                        self.received += conn.recv(1 << 16)
            if self.udp in ready:
                self.received += self.udp.recv(1 << 16)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.tcp.close()
        self.udp.close()


def _proc_text(pid: str) -> str | None:
    """A live process's name and argv, or None (gone, or a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return None
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, IndexError):
        return None
    return f"{comm}: {argv.decode(errors='replace')}"


def processes_matching(needles: list[str]) -> list[str]:
    """Live processes whose name or argv contains one of ``needles``."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            text = _proc_text(entry.name)
            if text is not None and any(n in text for n in needles):
                found.append(f"pid {entry.name}: {text[:300]}")
    return found


def children_of(pid: int) -> set[int]:
    """Live direct children of ``pid``."""
    out = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.add(int(entry.name))
    return out


def tree_digest(root: Path, skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every entry under ``root`` (links not followed; ``skip``: top-level names left
    out): content hash, link target, mode."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for name in [*dirs, *files]:
            path = Path(folder, name)
            info = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                out[rel] = f"link -> {os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode):
                out[rel] = f"{oct(info.st_mode)} {hashlib.sha256(path.read_bytes()).hexdigest()}"
            else:
                out[rel] = oct(info.st_mode)
    return out


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class World:
    """One test's surroundings: a copy of the task, a run DB beside it, another
    candidate's dir, a work dir, canaries, a marker and live listeners."""

    root: Path
    listener: Listener
    marker: str = field(default_factory=lambda: "adv" + secrets.token_hex(4))
    canaries: dict[str, str] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> Path:
        return self.root / "task"

    @property
    def victim(self) -> Path:
        return self.root / "victim"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def heartbeat(self) -> Path:
        return self.root / "heartbeat.txt"

    # Inside root, only the evaluation's work dir, an evolve run's dir and the daemon
    # heartbeat (written only where the file system is not isolated) may change.
    WRITABLE = frozenset({"work", "run", "heartbeat.txt"})

    def digests(self) -> dict[str, dict[str, str]]:
        """The task copy with its run DB, the other candidate's dir, everything else
        in the test's temp dir, and the committed corpus."""
        return {"tmp": tree_digest(self.root, self.WRITABLE), "corpus": tree_digest(CORPUS)}

    def targets(self, work_dir: Path | None = None) -> dict[str, Any]:
        """Absolute paths and ports planted into candidates (``TARGETS = {}``)."""
        return {
            "marker": self.marker,
            "tmp": str(self.root),
            "task": str(self.task),
            "evaluator": str(self.task / "evaluate.py"),
            "hidden": str(self.task / "hidden.json"),
            "db": str(self.task / "run.db"),
            "victim": str(self.victim),
            "work_dir": str(work_dir or self.work),
            "heartbeat": str(self.heartbeat),
            "repo_task": str(TASK),
            "port": self.listener.port,
            "udp_port": self.listener.udp_port,
        }

    def source(self, name: str, work_dir: Path | None = None) -> str:
        text = (CANDIDATES / f"{name}.py").read_text(encoding="utf-8")
        text = text.replace("TARGETS = {}", f"TARGETS = {self.targets(work_dir)!r}", 1)
        transform = TRANSFORMS.get(name)
        return transform(text) if transform else text

    def evaluator_env(self, timeout: float = TIMEOUT_S) -> dict[str, str]:
        return {
            "ADV_TIMEOUT": str(timeout),
            "ADV_MEMORY_MB": str(MEMORY_MB),
            "ADV_OUTPUT_KIB": str(OUTPUT_KIB),
            "EVALUATOR_TOKEN": self.canaries["evaluator"],
        }

    def evaluate(self, name: str, timeout: float) -> EvalResult:
        config = EvaluatorConfig(limits=Limits(timeout_s=30), env=self.evaluator_env(timeout))
        files = {"program.py": self.source(name)}
        return asyncio.run(
            evaluate_program(load_task(self.task), files, work_dir=self.work, config=config)
        )

    def snapshot(self) -> None:
        self.before = {
            "trees": self.digests(),
            "children": children_of(os.getpid()),
            "cwd": os.getcwd(),
            "rss": rss_kib(),
        }

    def host_leftovers(self) -> list[Path]:
        return [p for d in HOST_TEMP_DIRS for p in d.glob(f"*{self.marker}*")]

    def assert_no_canary(self, texts: list[str], where: str) -> None:
        # pytest.fail, not a bare assert: the text may hold secrets, never print it.
        for kind, canary in self.canaries.items():
            if any(canary in text for text in texts):
                pytest.fail(f"the {kind} canary leaked into {where}")

    def assert_unharmed(self, trusted: tuple[Path, ...] = ()) -> None:
        """The host, the orchestrator and the trusted files came through intact.

        ``trusted``: files the orchestrator itself writes (a run's database holds
        its config, the evaluator's env included), skipped in the canary scan.
        """
        # No process of the candidate survives (the kill is done when evaluate
        # returns; a SIGKILLed process may take a moment to be reaped).
        needles = [self.marker, str(self.root)]
        deadline = time.monotonic() + 3
        while (left := processes_matching(needles)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, f"processes outlived the evaluation: {left}"
        new_children = children_of(os.getpid()) - self.before["children"]
        assert not new_children, f"the test process has new children: {new_children}"
        if self.heartbeat.exists():
            size = self.heartbeat.stat().st_size
            time.sleep(0.3)
            assert self.heartbeat.stat().st_size == size, "a daemon is still writing"
        # Files outside the sandbox are byte-identical and nothing was added.
        after = self.digests()
        for key, before in self.before["trees"].items():
            changed = sorted(set(before.items()) ^ set(after[key].items()))
            assert not changed, f"files outside the sandbox changed: {changed[:10]}"
        assert self.listener.connections == 0, "the loopback listener was reached"
        assert not self.listener.received, f"the listener got {len(self.listener.received)} B"
        assert not self.host_leftovers(), f"left on the host: {self.host_leftovers()}"
        # The candidate's private copy is gone (the evaluator's TMPDIR is work/tmp).
        scratch = self.work / "tmp"
        left_behind = list(scratch.iterdir()) if scratch.is_dir() else []
        assert not left_behind, f"the candidate's private dir was left: {left_behind}"
        assert not list(self.root.rglob("pwned-*")), "candidate code ran on the trusted side"
        # The orchestrator (this process) is fine: same cwd, its secret still its
        # own, memory not blown up by captured output.
        assert os.getcwd() == self.before["cwd"]
        assert os.environ.get("OPENAI_API_KEY") == self.canaries["api"]
        assert rss_kib() - self.before["rss"] < 200 * 1024
        # Nothing the candidate could write outside the planted files holds a canary.
        planted = {self.task / "hidden.json", self.task / "run.db", *trusted}
        for path in self.root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path not in planted:
                data = path.read_bytes()
                for kind, canary in self.canaries.items():
                    if canary.encode() in data:
                        pytest.fail(f"the {kind} canary is in {path}")


def _make_run_db(path: Path, canary: str) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE programs (id INTEGER PRIMARY KEY, code TEXT, score REAL)")
        db.execute("CREATE TABLE secrets (value TEXT)")
        db.execute("INSERT INTO programs (code, score) VALUES ('def solve(inputs): ...', 1.0)")
        db.execute("INSERT INTO secrets VALUES (?)", (canary,))
        db.commit()
    finally:
        db.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    canaries = {
        "hidden": HIDDEN_CANARY,
        "db": f"DB-CANARY-{secrets.token_hex(8)}",
        "api": f"sk-API-CANARY-{secrets.token_hex(8)}",
        "evaluator": f"EVAL-CANARY-{secrets.token_hex(8)}",
    }
    # The orchestrator's environment holds a (fake) provider key.
    monkeypatch.setenv("OPENAI_API_KEY", canaries["api"])
    shutil.copytree(TASK, tmp_path / "task")
    _make_run_db(tmp_path / "task" / "run.db", canaries["db"])
    (tmp_path / "victim" / "program").mkdir(parents=True)
    shutil.copy(CANDIDATES / "control_honest.py", tmp_path / "victim" / "program" / "program.py")
    listener = Listener()
    w = World(root=tmp_path, listener=listener, canaries=canaries)
    try:
        w.snapshot()
        yield w
    finally:
        listener.close()
        for path in w.host_leftovers():
            path.unlink(missing_ok=True)
        # rm copes with trees too deep for shutil.rmtree (deep_dirs), which would
        # otherwise break pytest's clean-up of old temp dirs later.
        subprocess.run(["rm", "-rf", str(w.work), str(tmp_path / "run")], check=False)


# --- backend -----------------------------------------------------------------------


def _isolation() -> dict[str, str]:
    return diagnose()


def skip_unless_isolated(needs: str) -> None:
    """Skip a case whose guarantee needs isolation this host does not give."""
    if not needs:
        return
    info = _isolation()
    if info["backend"] == "bwrap":
        return
    if needs == "contain" and not info["cgroups"].startswith("pids"):
        pytest.skip(
            "needs bubblewrap's PID namespace or cgroups to kill a daemon that left the "
            f"process group; active: {info['isolation']}; cgroups: {info['cgroups']}"
        )
    if needs == "bwrap":
        pytest.skip(
            "the guarantee relies on bubblewrap's namespaces (file system, network, "
            f"/proc), which are not active here: {info['isolation']} (CI installs it)"
        )


# --- outcome -----------------------------------------------------------------------


def outcome(kind: str | None, failure: str | None) -> str:
    """``"scored"`` or the failure kind, whichever layer reported it."""
    return kind or failure or SCORED


def describe(result: EvalResult) -> str:
    """The result for an assertion message; the candidate's own output is left out,
    since in a broken sandbox it may hold the host's secrets."""
    artifacts = {
        k: f"<{len(v)} chars>" if k.startswith("candidate_std") else v[-300:]
        for k, v in result.artifacts.items()
    }
    return (
        f"ok={result.ok} failure={result.failure} score={result.combined_score} "
        f"error={result.error[-800:]!r} feedback={result.feedback[-800:]!r} "
        f"artifacts={artifacts!r}"
    )


def check_outcome(name: str, got: str, score: float | None, correct: bool, context: str) -> None:
    want = EXPECTED[name]
    assert got in want.outcomes, f"{name}: expected {sorted(want.outcomes)}, got {got}: {context}"
    score = score or 0.0
    assert score <= want.honest + 1e-9, f"{name} scored {score} > honest {want.honest}"
    if got == SCORED and want.exact:
        assert score == pytest.approx(want.honest), f"{name}: {context}"
    if got != SCORED:
        assert score == 0.0
    assert correct == (got == SCORED and want.honest == 1.0 and score == 1.0)


# --- tests -------------------------------------------------------------------------


def test_corpus_is_complete_and_documented() -> None:
    names = {p.stem for p in CANDIDATES.glob("*.py")}
    assert names == set(EXPECTED), names.symmetric_difference(EXPECTED)
    attacks = {n for n in names if not n.startswith("control_")}
    assert len(attacks) >= 30
    for path in CANDIDATES.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        doc = re.match(r'"""(.*?)"""', text, re.S)
        assert doc, f"{path.name} has no module docstring"
        assert doc.group(1).startswith(("Attack:", "Control")), path.name
        assert "Expected:" in doc.group(1), f"{path.name} does not state its expected outcome"
    assert set(EVOLVED) <= names
    # The generated edge cases really are what their docstrings say.
    generated = {n: TRANSFORMS[n]((CANDIDATES / f"{n}.py").read_text()) for n in TRANSFORMS}
    crlf = generated["unicode_crlf"]
    assert "\r\n" in crlf and "\x0c" in crlf and re.search("\r[^\n]", crlf)
    assert "\x00" in generated["unicode_nul"]
    assert len(generated["big_source"].encode()) >= 10_000_000


def test_harness_sees_what_it_must_catch(world: World) -> None:
    """The host checks can fail: a connection, a marked process, a changed file."""
    with socket.create_connection(("127.0.0.1", world.listener.port)) as conn:
        conn.sendall(b"ping")
    deadline = time.monotonic() + 5
    while not world.listener.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert world.listener.connections == 1 and bytes(world.listener.received) == b"ping"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", world.marker])
    try:
        assert processes_matching([world.marker])
    finally:
        proc.kill()
        proc.wait()
    assert not processes_matching([world.marker])
    before = tree_digest(world.task)
    (world.task / "__pycache__").mkdir()
    assert tree_digest(world.task) != before


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FALLBACK_HOLES[n]))
        if n in FALLBACK_HOLES and not BWRAP_ACTIVE
        else n
        for n in sorted(EXPECTED)
    ],
)
def test_candidate(world: World, name: str) -> None:
    """One corpus candidate through evaluate_program: the expected outcome, never above
    its honest score, nothing leaked, the host and the trusted files unharmed."""
    want = EXPECTED[name]
    skip_unless_isolated(want.needs)
    result = world.evaluate(name, want.timeout)
    context = describe(result)
    got = outcome(None if result.ok else result.failure, result.artifacts.get("failure"))
    check_outcome(name, got, result.combined_score, result.correct, context)
    recorded = [
        result.stdout,
        result.stderr,
        result.error,
        result.feedback,
        *result.artifacts,
        *result.artifacts.values(),
        *result.warnings,
    ]
    world.assert_no_canary(recorded, f"the result of {name}")
    world.assert_unharmed()
    # Trusted measurements cannot be bent by the candidate.
    if result.ok:
        assert result.metrics["candidate_stdout_chars"] <= OUTPUT_KIB * 1024 + 100, context
        assert result.metrics["candidate_stderr_chars"] <= OUTPUT_KIB * 1024 + 100, context
    if name == "monkeypatch_time":
        assert result.metrics["candidate_wall_time"] >= 0.5
    if got == "timeout":
        assert result.metrics["candidate_wall_time"] >= want.timeout


def _disk_mib(stdout: str) -> int:
    """MiB ``fill_disk`` reports having written to disk-backed places (not /dev/shm)."""
    last: dict[str, int] = {}
    for place, mib in re.findall(r"^FILLED (\S+) (\d+)$", stdout, re.M):
        last[place] = int(mib)
    return sum(mib for place, mib in last.items() if place != "/dev/shm")


def test_fill_disk_stays_within_a_small_budget(world: World) -> None:
    """The candidate cannot put more than a small, capped amount on any disk."""
    skip_unless_isolated("bwrap")
    result = world.evaluate("fill_disk", EXPECTED["fill_disk"].timeout)
    written = _disk_mib(result.artifacts.get("candidate_stdout", ""))
    world.assert_unharmed()
    assert written <= DISK_BUDGET_MIB, f"the candidate wrote {written} MiB to disk"


def _rows(db_path: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [dict(r) for r in db.execute("SELECT * FROM programs ORDER BY id")]
    finally:
        db.close()


def _evolvable(names: list[str]) -> list[str]:
    """``names`` less those whose guarantee this host's isolation cannot give."""
    info = _isolation()
    return [
        n
        for n in names
        if not EXPECTED[n].needs
        or info["backend"] == "bwrap"
        or (EXPECTED[n].needs == "contain" and info["cgroups"].startswith("pids"))
    ]


def run_hostile(
    world: World, names: list[str], evaluations: int = 1, timeout: float = TIMEOUT_S
) -> list[dict[str, Any]]:
    """A whole evolve run in which a scripted model proposes ``names`` in order, as
    full rewrites; returns the recorded programs after checking each one's outcome,
    the run database and the host."""
    # The engine evolves only from a correct program, so this run's seed is fixed;
    # it is program 1 and scores 1.0, the k-th proposal is program k + 2.
    seed = world.task / "program.py"
    seed.write_text(seed.read_text().replace("range(2, n)", "range(2, n + 1)"))
    world.snapshot()
    run_dir = world.root / "run"
    # A bare code block replaces the seed's EVOLVE-BLOCK, which is the whole program.
    # The real run DB, not the planted one, is the target now.
    sources = [
        world.source(n, run_dir / "work" / str(k + 2)).replace(
            str(world.task / "run.db"), str(run_dir / "run.db")
        )
        for k, n in enumerate(names)
    ]
    model = ScriptedModel([f"A better program.\n```python\n{s}\n```\n" for s in sources])
    summary = evolve(
        world.task,
        model=model,
        run_dir=run_dir,
        config={
            "budget": {"max_samples": len(names)},
            "concurrency": {"proposals": 1, "evaluations": evaluations},
            "propose": {"operators": {"rewrite": 1.0}, "reflections": 0},
            "evaluator": {"limits": {"timeout_s": 30}, "env": world.evaluator_env(timeout)},
        },
    )
    rows = _rows(run_dir / "run.db")
    assert len(rows) == len(names) + 1
    assert rows[0]["operator"] == "seed" and rows[0]["score"] == 1.0 and rows[0]["correct"]
    for name, row in zip(names, rows[1:], strict=True):
        first_line = (CANDIDATES / f"{name}.py").read_text().splitlines()[0]
        assert first_line in json.loads(row["files"])["program.py"], name
        assert row["status"] in ("done", "failed")
        artifacts = json.loads(row["artifacts"] or "{}")
        got = outcome(row["failure"], artifacts.get("failure"))
        check_outcome(name, got, row["score"], bool(row["correct"]), json.dumps(row)[-2000:])
    # No hostile child reached (let alone beat) the correct seed.
    assert summary.best_id == rows[0]["id"] and summary.samples == len(names)
    # Nothing recorded or sent to the model carries a canary.
    world.assert_no_canary([json.dumps(r, default=str) for r in rows], "the run database")
    world.assert_no_canary([m.content for call in model.calls for m in call], "a prompt")
    left = list((run_dir / "work").rglob("*")) if (run_dir / "work").exists() else []
    assert not left, f"evaluation work dirs were left: {left[:5]}"
    world.assert_unharmed(trusted=tuple(run_dir.glob("run.db*")))
    return rows


def test_hostile_candidates_through_a_whole_run(world: World) -> None:
    """The engine evaluates hostile proposals and records each with the outcome it
    earned, and nothing else."""
    run_hostile(world, _evolvable(EVOLVED))


def test_a_fork_bomb_does_not_starve_a_concurrent_candidate(world: World) -> None:
    """Evaluated side by side, the honest candidate still gets its 1.0."""
    # The bomb's 3 s span the honest candidate's whole evaluation.
    rows = run_hostile(world, ["fork_bomb", "control_honest"], evaluations=2, timeout=3)
    assert rows[2]["score"] == 1.0 and rows[2]["correct"]


def test_lone_surrogates_do_not_crash_the_run(world: World) -> None:
    """A lone surrogate the evaluator echoes into its feedback (JSON's \\ud800 escape
    decodes back to one) is stored without crashing the run."""
    run_hostile(world, ["unicode_surrogates", "control_seed"])


@pytest.mark.xfail(not BWRAP_ACTIVE, strict=True, raises=RecursionError, reason=DEEP_TREE_HOLE)
def test_deep_tree_does_not_crash_the_run(world: World) -> None:
    """A 2000-level directory tree in the candidate's dir neither survives the
    evaluation nor crashes the run's clean-up."""
    run_hostile(world, ["deep_dirs", "control_seed"])
