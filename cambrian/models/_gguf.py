"""Read the header of a GGUF model file: magic, version, counts and metadata.

Only the header is read (a few MB at most, for the tokenizer vocabulary), never the
tensor data, so checking a 1 GB model is instant. Every length field is checked
against the bytes left in the file before anything is allocated, so a corrupt or
truncated file fails with a clear :class:`~cambrian.ModelError` instead of a
``MemoryError`` or a silent short read.

Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeAlias

from .._exceptions import ModelError

GGUF_MAGIC = b"GGUF"

# Value type ids -> struct format of one scalar (strings and arrays are handled apart).
_SCALARS: dict[int, str] = {
    0: "B",  # uint8
    1: "b",  # int8
    2: "H",  # uint16
    3: "h",  # int16
    4: "I",  # uint32
    5: "i",  # int32
    6: "f",  # float32
    7: "?",  # bool
    10: "Q",  # uint64
    11: "q",  # int64
    12: "d",  # float64
}
_STRING = 8
_ARRAY = 9
_TYPE_NAMES = {
    0: "uint8",
    1: "int8",
    2: "uint16",
    3: "int16",
    4: "uint32",
    5: "int32",
    6: "float32",
    7: "bool",
    8: "string",
    9: "array",
    10: "uint64",
    11: "int64",
    12: "float64",
}

MetadataValue: TypeAlias = "int | float | bool | str | list[MetadataValue] | ArraySummary"


@dataclass(frozen=True)
class ArraySummary:
    """Stands in for a metadata array too long to keep (a tokenizer vocabulary).

    Attributes:
        item_type: GGUF type name of the items, e.g. ``"string"``.
        length: Number of items in the file.
    """

    item_type: str
    length: int


@dataclass(frozen=True)
class GGUFHeader:
    """What a GGUF file says about itself.

    Attributes:
        path: The file read.
        version: GGUF format version (1, 2 or 3).
        tensor_count: Number of tensors the file declares.
        metadata: Every metadata key and value; arrays longer than the reader's
            ``max_array_items`` are replaced by an :class:`ArraySummary`.
        file_size: Size of the file in bytes.
    """

    path: Path
    version: int
    tensor_count: int
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    file_size: int = 0

    @property
    def architecture(self) -> str | None:
        """``general.architecture``, e.g. ``"qwen2"`` or ``"llama"``."""
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        """``general.name``, the model's human-readable name."""
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None

    @property
    def context_length(self) -> int | None:
        """``<architecture>.context_length``: the context the model was trained for."""
        value = self.metadata.get(f"{self.architecture}.context_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def has_chat_template(self) -> bool:
        """Whether the file embeds a chat template (``tokenizer.chat_template``)."""
        return isinstance(self.metadata.get("tokenizer.chat_template"), str)

    def summary(self) -> str:
        """One line for humans: name, architecture, context and size."""
        size_mb = self.file_size / 1e6
        return (
            f"{self.name or '?'} (arch={self.architecture or '?'}, "
            f"ctx={self.context_length or '?'}, {self.tensor_count} tensors, {size_mb:.0f} MB)"
        )


class _Reader:
    """Bounded little- or big-endian reads from a binary stream."""

    def __init__(self, fh: BinaryIO, size: int, path: Path) -> None:
        self._fh = fh
        self._left = size
        self._path = path
        self.endian = "<"

    def take(self, n: int, what: str) -> bytes:
        if n > self._left:
            raise ModelError(
                f"{str(self._path)!r} is truncated: {what} needs {n} bytes, "
                f"only {self._left} left; re-download or re-install the model"
            )
        data = self._fh.read(n)
        if len(data) != n:
            raise ModelError(f"{str(self._path)!r} is truncated while reading {what}")
        self._left -= n
        return data

    def skip(self, n: int, what: str) -> None:
        if n > self._left:
            self.take(n, what)  # raises the truncation error
        self._fh.seek(n, os.SEEK_CUR)
        self._left -= n

    def scalar(self, fmt: str, what: str) -> int | float | bool:
        value: int | float | bool = struct.unpack(
            self.endian + fmt, self.take(struct.calcsize(fmt), what)
        )[0]
        return value

    def count(self, wide: bool, what: str) -> int:
        return int(self.scalar("Q" if wide else "I", what))

    def string(self, wide: bool, what: str) -> str:
        raw = self.take(self.count(wide, what), what)
        return raw.decode("utf-8", errors="replace")


def read_gguf_header(path: str | os.PathLike[str], *, max_array_items: int = 256) -> GGUFHeader:
    """Read and validate the header of a GGUF file.

    Args:
        path: The file to read.
        max_array_items: Arrays longer than this are skipped over and recorded as an
            :class:`ArraySummary` (a vocabulary has ~150k strings nobody wants to keep).

    Returns:
        The header: version, tensor count and metadata.

    Raises:
        ModelError: The file is missing, is not a GGUF file, or is truncated or corrupt.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            return _parse(_Reader(fh, size, p), p, size, max_array_items)
    except OSError as exc:
        raise ModelError(f"cannot read model file {str(p)!r}: {exc.strerror or exc}") from exc


def _parse(r: _Reader, path: Path, size: int, max_items: int) -> GGUFHeader:
    magic = r.take(4, "the magic number")
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{str(path)!r} is not a GGUF model file (starts with {magic!r}, expected "
            f"{GGUF_MAGIC!r}); Cambrian's local model needs a llama.cpp GGUF file"
        )
    raw_version = r.take(4, "the version")
    version = struct.unpack("<I", raw_version)[0]
    if version > 0xFFFF:
        # A big-endian GGUF (made for s390x) stores the version byte-swapped.
        r.endian = ">"
        version = struct.unpack(">I", raw_version)[0]
    if version not in (1, 2, 3):
        raise ModelError(f"{str(path)!r}: unsupported GGUF version {version} (known: 1, 2, 3)")
    wide = version >= 2  # version 1 used 32-bit counts and string lengths
    tensor_count = r.count(wide, "the tensor count")
    kv_count = r.count(wide, "the metadata count")
    # Each pair takes at least 12 bytes; a larger count is corruption, not a big model.
    if kv_count * 12 > size:
        raise ModelError(f"{str(path)!r} is corrupt: it claims {kv_count} metadata entries")
    metadata: dict[str, MetadataValue] = {}
    for i in range(kv_count):
        key = r.string(wide, f"metadata key #{i}")
        vtype = int(r.scalar("I", f"the type of {key!r}"))
        metadata[key] = _value(r, vtype, wide, key, max_items)
    return GGUFHeader(path, version, tensor_count, metadata, size)


def _value(r: _Reader, vtype: int, wide: bool, key: str, max_items: int) -> MetadataValue:
    if vtype in _SCALARS:
        return r.scalar(_SCALARS[vtype], f"the value of {key!r}")
    if vtype == _STRING:
        return r.string(wide, f"the value of {key!r}")
    if vtype == _ARRAY:
        item_type = int(r.scalar("I", f"the item type of {key!r}"))
        length = r.count(wide, f"the length of {key!r}")
        if item_type not in _TYPE_NAMES:
            raise ModelError(f"{key!r} has unknown GGUF item type {item_type}")
        if length <= max_items:
            return [_value(r, item_type, wide, key, max_items) for _ in range(length)]
        if item_type in _SCALARS:
            r.skip(length * struct.calcsize(_SCALARS[item_type]), f"the items of {key!r}")
        else:
            for _ in range(length):
                _value(r, item_type, wide, key, 0)
        return ArraySummary(_TYPE_NAMES[item_type], length)
    raise ModelError(
        f"{key!r} has unknown GGUF value type {vtype} (known: {sorted(_TYPE_NAMES)}); "
        "the file is corrupt or from a newer GGUF version"
    )
