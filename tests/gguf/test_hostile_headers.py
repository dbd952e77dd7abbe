"""Hostile GGUF headers (issue "Hostile input", item 6): any Hub repository can serve a file with a correct
hash whose header lies. Each case was first reproduced against the old reader (growth without end, a
ZeroDivisionError, a RecursionError, llama.cpp aborting on no expert used); each now ends at once in a
ModelFileError that names the file and says what to do."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import gguf
import pytest

from app.gguf import ModelFileError, read_profile
from app.gguf.header import MAX_ARRAY_DEPTH, read_header
from tests.gguf.test_header import gguf_string, raw_gguf


def patched(source: Path, destination: Path, key: str, value: int) -> Path:
    """A copy of `source` whose integer metadata `key` says `value` (same size, same type)."""
    data = bytearray(source.read_bytes())
    at = data.index(gguf_string(key)) + len(gguf_string(key))
    value_type = struct.unpack_from("<I", data, at)[0]
    fmt = {int(gguf.GGUFValueType.UINT32): "<I", int(gguf.GGUFValueType.INT32): "<i",
           int(gguf.GGUFValueType.UINT64): "<Q"}[value_type]
    struct.pack_into(fmt, data, at + 4, value)
    destination.write_bytes(bytes(data))
    return destination


@pytest.mark.parametrize(("key", "value", "words"), [
    ("gpt-oss.block_count", 4_000_000_000, "4,000,000,000 blocks"),
    ("gpt-oss.block_count", 0, "not a positive count"),
    ("gpt-oss.attention.head_count", 0, "attention.head_count setting is 0"),
    ("gpt-oss.attention.head_count_kv", 0, "head_count_kv setting is 0"),
    ("gpt-oss.attention.head_count_kv", 3, "cannot share 3 key/value heads"),
    ("gpt-oss.expert_used_count", 0, "expert_used_count setting is 0"),
    ("gpt-oss.expert_used_count", 99, "uses 99 of only"),
    ("gpt-oss.embedding_length", 0, "embedding_length setting is 0"),
])
def test_lying_hyperparameters_are_refused_at_once(tmp_path: Path, tiny_model: Path, key: str,
                                                   value: int, words: str) -> None:
    path = patched(tiny_model, tmp_path / "lying.gguf", key, value)
    started = time.perf_counter()
    with pytest.raises(ModelFileError) as caught:
        read_profile(path)
    assert time.perf_counter() - started < 2  # no growth, no loop: it reads a few hundred KB
    assert caught.value.problem == "damaged" and words in str(caught.value)
    assert "lying.gguf" in str(caught.value)


def nested_array(depth: int) -> bytes:
    """A metadata value: an array holding one array holding one array ... `depth` deep."""
    array = int(gguf.GGUFValueType.ARRAY)
    innermost = struct.pack("<IQ", int(gguf.GGUFValueType.UINT8), 1) + b"\x01"
    return struct.pack("<I", array) + struct.pack("<IQ", array, 1) * (depth - 1) + innermost


def header_with(kv: bytes, n_kv: int = 2, n_tensors: int = 0) -> bytes:
    head = struct.pack("<I", gguf.GGUF_MAGIC) + struct.pack("<I", 3) + struct.pack("<QQ", n_tensors, n_kv)
    architecture = gguf_string("general.architecture") + struct.pack("<I", 8) + gguf_string("gpt-oss")
    return head + architecture + kv + bytes(64)


def test_deeply_nested_arrays_are_damage_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "nested.gguf"
    path.write_bytes(header_with(gguf_string("evil") + nested_array(200_000)))
    with pytest.raises(ModelFileError, match=f"nests arrays more than {MAX_ARRAY_DEPTH} deep"):
        read_header(path)
    shallow = tmp_path / "shallow.gguf"
    shallow.write_bytes(header_with(gguf_string("fine") + nested_array(3)))
    assert read_header(shallow).metadata["fine"] == [[[1]]]


@pytest.mark.parametrize(("n_kv", "n_tensors"), [(2**62, 0), (1, 2**40)])
def test_counts_larger_than_the_file_are_cut_short_at_once(tmp_path: Path, n_kv: int,
                                                           n_tensors: int) -> None:
    path = tmp_path / "counts.gguf"
    path.write_bytes(header_with(b"", n_kv=n_kv, n_tensors=n_tensors))
    started = time.perf_counter()
    with pytest.raises(ModelFileError) as caught:
        read_header(path)
    assert time.perf_counter() - started < 1 and caught.value.problem == "truncated"


def test_an_array_longer_than_the_file_is_cut_short(tmp_path: Path) -> None:
    array, uint32 = int(gguf.GGUFValueType.ARRAY), int(gguf.GGUFValueType.UINT32)
    huge = struct.pack("<I", array) + struct.pack("<IQ", uint32, 2**50)
    path = tmp_path / "array.gguf"
    path.write_bytes(header_with(gguf_string("long") + huge))
    with pytest.raises(ModelFileError) as caught:
        read_header(path)
    assert caught.value.problem == "truncated"


def test_a_good_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.gguf"
    path.write_bytes(raw_gguf())
    assert read_header(path).metadata == {"general.architecture": "gpt-oss"}
