"""The GGUF header reader, on synthetic headers built here byte by byte."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from cambrian._exceptions import ModelError
from cambrian.models._gguf import ArraySummary, read_gguf_header

# GGUF value type ids (see cambrian/models/_gguf.py).
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
_FMT = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?"}
_FMT |= {U64: "Q", I64: "q", F64: "d"}


def _typed(value: Any) -> tuple[int, Any]:
    """Infer a GGUF type for a plain Python value; (type, value) tuples pass through."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        return U32, value
    if isinstance(value, float):
        return F32, value
    if isinstance(value, str):
        return STR, value
    raise TypeError(value)


def _enc(vtype: int, value: Any, e: str, count: str) -> bytes:
    if vtype == STR:
        raw = value.encode()
        return struct.pack(e + count, len(raw)) + raw
    if vtype == ARR:
        item_type, items = value
        out = struct.pack(e + "I", item_type) + struct.pack(e + count, len(items))
        return out + b"".join(_enc(item_type, item, e, count) for item in items)
    return struct.pack(e + _FMT[vtype], value)


def build_gguf(
    metadata: dict[str, Any],
    *,
    version: int = 3,
    tensor_count: int = 7,
    big_endian: bool = False,
    payload: bytes = b"\x00" * 64,
) -> bytes:
    """A GGUF header with ``metadata``, followed by ``payload`` standing in for tensors.

    Values are plain str/int/float/bool or ``(type, value)``; arrays are
    ``(ARR, (item_type, [items]))``.
    """
    e = ">" if big_endian else "<"
    count = "Q" if version >= 2 else "I"
    out = b"GGUF" + struct.pack(e + "I", version)
    out += struct.pack(e + count, tensor_count) + struct.pack(e + count, len(metadata))
    for key, raw_value in metadata.items():
        vtype, value = _typed(raw_value)
        out += _enc(STR, key, e, count) + struct.pack(e + "I", vtype) + _enc(vtype, value, e, count)
    return out + payload


QWEN_META: dict[str, Any] = {
    "general.architecture": "qwen2",
    "general.name": "Tiny Qwen",
    "qwen2.context_length": 32768,
    "qwen2.rope.freq_base": (F32, 1_000_000.0),
    "general.file_type": (U32, 15),
    "tokenizer.ggml.add_bos_token": False,
    "tokenizer.ggml.tokens": (ARR, (STR, [f"tok{i}" for i in range(40)])),
    "tokenizer.ggml.token_type": (ARR, (I32, list(range(40)))),
    "tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
    "general.quantization_version": (U32, 2),
}


def write(tmp_path: Path, data: bytes, name: str = "m.gguf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_reads_valid_header(tmp_path: Path) -> None:
    data = build_gguf(QWEN_META, tensor_count=339)
    header = read_gguf_header(write(tmp_path, data))
    assert header.version == 3
    assert header.tensor_count == 339
    assert header.architecture == "qwen2"
    assert header.name == "Tiny Qwen"
    assert header.context_length == 32768
    assert header.has_chat_template
    assert header.metadata["qwen2.rope.freq_base"] == pytest.approx(1e6)
    assert header.metadata["tokenizer.ggml.add_bos_token"] is False
    assert header.metadata["tokenizer.ggml.token_type"] == list(range(40))
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert isinstance(tokens, list) and tokens[:2] == ["tok0", "tok1"]
    assert header.file_size == len(data)
    assert "Tiny Qwen" in header.summary() and "qwen2" in header.summary()


def test_long_arrays_are_summarised_and_following_keys_still_parse(tmp_path: Path) -> None:
    header = read_gguf_header(write(tmp_path, build_gguf(QWEN_META)), max_array_items=10)
    assert header.metadata["tokenizer.ggml.tokens"] == ArraySummary("string", 40)
    assert header.metadata["tokenizer.ggml.token_type"] == ArraySummary("int32", 40)
    # The keys after the skipped arrays are read from the right offsets.
    assert header.has_chat_template
    assert header.metadata["general.quantization_version"] == 2


def test_every_value_type_and_nested_arrays(tmp_path: Path) -> None:
    meta = {
        "u8": (U8, 255),
        "i8": (I8, -128),
        "u16": (U16, 65535),
        "i16": (I16, -32768),
        "i32": (I32, -5),
        "u64": (U64, 2**40),
        "i64": (I64, -(2**40)),
        "f64": (F64, 0.125),
        "empty": (ARR, (U8, [])),
        "nested": (ARR, (ARR, [(U16, [1, 2]), (U16, [3])])),
        "utf8": "héllo ✓",
    }
    md = read_gguf_header(write(tmp_path, build_gguf(meta))).metadata
    assert [md[k] for k in ("u8", "i8", "u16", "i16", "i32", "u64", "i64", "f64")] == [
        255,
        -128,
        65535,
        -32768,
        -5,
        2**40,
        -(2**40),
        0.125,
    ]
    assert md["empty"] == []
    assert md["nested"] == [[1, 2], [3]]
    assert md["utf8"] == "héllo ✓"


def test_version_1_uses_32_bit_counts(tmp_path: Path) -> None:
    header = read_gguf_header(write(tmp_path, build_gguf(QWEN_META, version=1, tensor_count=3)))
    assert (header.version, header.tensor_count, header.architecture) == (1, 3, "qwen2")


def test_big_endian_file(tmp_path: Path) -> None:
    header = read_gguf_header(write(tmp_path, build_gguf(QWEN_META, big_endian=True)))
    assert header.version == 3
    assert header.context_length == 32768


def test_context_length_missing_when_architecture_key_absent(tmp_path: Path) -> None:
    header = read_gguf_header(write(tmp_path, build_gguf({"general.architecture": "llama"})))
    assert header.context_length is None
    assert header.name is None
    assert not header.has_chat_template


@pytest.mark.parametrize("cut", [0, 3, 6, 10, 20, 30, 60, 200, -70])
def test_truncated_header_is_a_clear_error(tmp_path: Path, cut: int) -> None:
    data = build_gguf(QWEN_META, payload=b"")
    path = write(tmp_path, data[:cut])
    with pytest.raises(ModelError, match="truncated"):
        read_gguf_header(path)


def test_wrong_magic(tmp_path: Path) -> None:
    path = write(tmp_path, b"PK\x03\x04" + b"\x00" * 100, "model.zip")
    with pytest.raises(ModelError, match=r"not a GGUF model file \(starts with b'PK"):
        read_gguf_header(path)


def test_unsupported_version(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="unsupported GGUF version 9"):
        read_gguf_header(write(tmp_path, build_gguf(QWEN_META, version=3)[:4] + b"\x09\0\0\0"))


def test_unknown_value_type(tmp_path: Path) -> None:
    data = build_gguf({"general.architecture": "x"})
    # Patch the value type of the only key (right after its name) to 42.
    at = data.index(b"general.architecture") + len("general.architecture")
    data = data[:at] + struct.pack("<I", 42) + data[at + 4 :]
    with pytest.raises(ModelError, match="unknown GGUF value type 42"):
        read_gguf_header(write(tmp_path, data))


def test_absurd_string_length_fails_without_allocating(tmp_path: Path) -> None:
    data = build_gguf({"general.name": "abc"})
    at = data.index(b"general.name") + len("general.name") + 4  # the value's length field
    data = data[:at] + struct.pack("<Q", 2**62) + data[at + 8 :]
    with pytest.raises(ModelError, match="truncated"):
        read_gguf_header(write(tmp_path, data))


def test_absurd_metadata_count_is_corruption(tmp_path: Path) -> None:
    data = bytearray(build_gguf({"general.name": "abc"}))
    data[16:24] = struct.pack("<Q", 2**50)
    with pytest.raises(ModelError, match="corrupt"):
        read_gguf_header(write(tmp_path, bytes(data)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read model file"):
        read_gguf_header(tmp_path / "nope.gguf")
