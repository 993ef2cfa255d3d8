"""run_candidate: an untrusted entry point called in its own sandbox, JSON back."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cambrian.sandbox import CandidateResult, run_candidate
from cambrian.sandbox._bwrap import probe

pytestmark = pytest.mark.timeout(60)

BACKENDS = [
    "process",
    pytest.param(
        "bwrap",
        marks=pytest.mark.skipif(probe()[0] is None, reason=f"bubblewrap: {probe()[1]}"),
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setenv("CAMBRIAN_CANDIDATE_SANDBOX", json.dumps({"backend": name}))
    return name


def call(tmp_path: Path, source: str, entry: str = "main", **kw: object) -> CandidateResult:
    path = tmp_path / "program.py"
    path.write_text(textwrap.dedent(source))
    kw.setdefault("timeout", 20)
    return run_candidate(path, entry, **kw)  # type: ignore[arg-type]


def test_value_round_trip(tmp_path: Path, backend: str) -> None:
    result = call(
        tmp_path,
        """
        def main(a, b=1, *, c):
            print("hello")
            return {"sum": a + b + c, "t": (1, "x"), "none": None, "ok": True}
        """,
        args=[1, 2],
        kwargs={"c": 3},
    )
    assert result.ok, result.error
    assert result.value == {"sum": 6, "t": [1, "x"], "none": None, "ok": True}
    assert result.failure is None
    assert result.stdout == "hello\n"
    assert result.wall_time > 0


def test_numpy_values_become_lists_and_numbers(tmp_path: Path, backend: str) -> None:
    result = call(
        tmp_path,
        """
        import numpy as np
        def main():
            return {"a": np.arange(3) * 0.5, "s": np.float64(2.5), "i": np.int32(7)}
        """,
    )
    assert result.ok, result.error
    assert result.value == {"a": [0.0, 0.5, 1.0], "s": 2.5, "i": 7}
    assert type(result.value["s"]) is float


@pytest.mark.parametrize("value", ["float('nan')", "float('inf')", "[1.0, -float('inf')]"])
def test_nan_and_infinity_are_invalid(tmp_path: Path, backend: str, value: str) -> None:
    result = call(tmp_path, f"def main():\n    return {value}\n")
    assert not result.ok
    assert result.failure == "invalid_result"
    assert "NaN or infinity" in result.error


def test_object_with_eq_always_true_is_invalid(tmp_path: Path, backend: str) -> None:
    result = call(
        tmp_path,
        """
        class Liar:
            def __eq__(self, other):
                return True
        def main():
            return Liar()
        """,
    )
    assert not result.ok
    assert result.failure == "invalid_result"
    assert "Liar" in result.error


def test_raising_entry_is_a_crash_with_the_message(tmp_path: Path, backend: str) -> None:
    result = call(tmp_path, "def main():\n    raise ValueError('bad packing at row 3')\n")
    assert result.failure == "crash"
    assert "ValueError: bad packing at row 3" in result.error


def test_exit_before_returning_is_a_crash(tmp_path: Path, backend: str) -> None:
    result = call(tmp_path, "import os\nos._exit(0)\ndef main():\n    return 1\n")
    assert result.failure == "crash"
    assert "before main() returned" in result.error


def test_timeout_kills_the_program(tmp_path: Path, backend: str) -> None:
    result = call(tmp_path, "import time\ndef main():\n    time.sleep(60)\n", timeout=1.0)
    assert result.failure == "timeout"
    assert result.wall_time < 6
    assert "1 s" in result.error


def test_compile_error_is_reported_without_running(tmp_path: Path) -> None:
    result = call(tmp_path, "def main(:\n    return 1\n")
    assert result.failure == "compile_error"
    assert "program.py:1" in result.error


def test_memory_bomb_is_oom(tmp_path: Path, backend: str) -> None:
    result = call(
        tmp_path,
        "def main():\n    x = []\n    while True:\n        x.append(bytearray(1 << 26))\n",
        memory_mb=256,
    )
    assert result.failure == "oom"


def test_forged_result_symlink_is_not_followed(tmp_path: Path, backend: str) -> None:
    hidden = tmp_path / "answers.json"
    hidden.write_text('{"status": "ok", "value": 42}')
    result = call(
        tmp_path,
        f"""
        import os
        def main():
            os.symlink({str(hidden)!r}, "../result.json")
            os._exit(0)
        """,
    )
    assert not result.ok
    assert result.value is None


def test_missing_entry_and_missing_program(tmp_path: Path, backend: str) -> None:
    result = call(tmp_path, "X = 1\n", entry="solve")
    assert result.failure == "crash"
    assert "'solve'" in result.error
    with pytest.raises(FileNotFoundError):
        run_candidate(tmp_path / "nope.py")


def test_directory_program_uses_main_py(tmp_path: Path, backend: str) -> None:
    prog = tmp_path / "prog"
    prog.mkdir()
    (prog / "helper.py").write_text("K = 5\n")
    (prog / "main.py").write_text("from helper import K\ndef main():\n    return K\n")
    result = run_candidate(prog, timeout=20)
    assert result.ok, result.error
    assert result.value == 5


def test_candidate_cannot_read_files_outside_its_dir(tmp_path: Path) -> None:
    if probe()[0] is None:
        pytest.skip(f"bubblewrap: {probe()[1]}")
    secret = tmp_path / "task" / "hidden.txt"
    secret.parent.mkdir()
    secret.write_text("answers")
    result = call(
        tmp_path,
        f"import os\ndef main():\n    return os.path.exists({str(secret)!r})\n",
    )
    assert result.ok, result.error
    assert result.value is False
