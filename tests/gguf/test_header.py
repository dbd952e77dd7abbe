"""The header reader against gguf's own GGUFReader, and on hand-made headers that are wrong in one way."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np
import pytest

from app.gguf import ModelFileError
from app.gguf.header import MAX_KEPT_ARRAY, ArraySummary, read_header


@pytest.mark.parametrize("which", ["tiny", "120b part 2"])
def test_agrees_with_gguf_reader(which: str, tiny_model: Path, twin_120b: Path) -> None:
    path = tiny_model if which == "tiny" else twin_120b.with_name("gpt-oss-120b-mxfp4-00002-of-00003.gguf")
    ours = read_header(path)
    reader = gguf.GGUFReader(path)
    assert ours.data_offset == reader.data_offset
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        value = ours.metadata[name]
        if isinstance(value, ArraySummary):
            assert value.length == len(field.data) > MAX_KEPT_ARRAY
        elif isinstance(value, float):
            assert value == pytest.approx(field.contents())
        else:
            assert value == field.contents(), name
    assert len(ours.metadata) == len(reader.fields) - 3
    assert [(t.name, t.dims, t.ggml_type, t.nbytes, ours.data_offset + t.offset) for t in ours.tensors] == [
        (t.name, tuple(int(d) for d in t.shape), int(t.tensor_type), int(t.n_bytes), t.data_offset)
        for t in reader.tensors]


def test_long_arrays_are_summarized(twin_20b: Path) -> None:
    header = read_header(twin_20b)
    tokens = header.metadata["tokenizer.ggml.tokens"]
    assert tokens == ArraySummary(int(gguf.GGUFValueType.STRING), 201088)
    # the real tokenizer's merges: one per multi-byte o200k_base token (every token but the 256 bytes)
    assert header.metadata["tokenizer.ggml.merges"] == ArraySummary(int(gguf.GGUFValueType.STRING), 199_742)
    assert header.data_end == header.file_size


def test_all_value_types_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "kinds.gguf"
    writer = gguf.GGUFWriter(path, "gpt-oss")
    writer.add_uint8("k.u8", 200)
    writer.add_int8("k.i8", -5)
    writer.add_uint16("k.u16", 60000)
    writer.add_int16("k.i16", -300)
    writer.add_uint32("k.u32", 4_000_000_000)
    writer.add_int32("k.i32", -70000)
    writer.add_uint64("k.u64", 2**40)
    writer.add_int64("k.i64", -(2**40))
    writer.add_float32("k.f32", 0.5)
    writer.add_float64("k.f64", 0.25)
    writer.add_bool("k.bool", True)
    writer.add_string("k.str", "héllo")
    writer.add_array("k.ints", [1, 2, 3])
    writer.add_array("k.long", list(range(MAX_KEPT_ARRAY + 1)))
    writer.add_tensor("t", np.zeros((2, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    meta = read_header(path).metadata
    assert {k: v for k, v in meta.items() if k.startswith("k.")} == {
        "k.u8": 200, "k.i8": -5, "k.u16": 60000, "k.i16": -300, "k.u32": 4_000_000_000, "k.i32": -70000,
        "k.u64": 2**40, "k.i64": -(2**40), "k.f32": 0.5, "k.f64": 0.25, "k.bool": True, "k.str": "héllo",
        "k.ints": [1, 2, 3], "k.long": ArraySummary(int(gguf.GGUFValueType.INT32), MAX_KEPT_ARRAY + 1),
    }


# ---- hand-made headers ----

def gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def raw_gguf(version: int = 3, tensor_type: int = 0, value_type: int = 8, alignment: int | None = None,
             byteorder: str = "<") -> bytes:
    kvs = [gguf_string("general.architecture") + struct.pack("<I", value_type) + gguf_string("gpt-oss")]
    if alignment is not None:
        kvs.append(gguf_string("general.alignment") + struct.pack("<II", 4, alignment))
    tensor = gguf_string("blk.0.x.weight") + struct.pack("<I", 1) + struct.pack("<Q", 32) \
        + struct.pack("<I", tensor_type) + struct.pack("<Q", 0)
    head = struct.pack("<I", gguf.GGUF_MAGIC) + struct.pack(f"{byteorder}I", version) \
        + struct.pack("<QQ", 1, len(kvs))
    return head + b"".join(kvs) + tensor + bytes(256)


@pytest.mark.parametrize(("kwargs", "problem", "words"), [
    ({"version": 4}, "unsupported", "GGUF version 4"),
    ({"byteorder": ">"}, "unsupported", "big-endian"),
    ({"tensor_type": 250}, "unsupported", "type 250"),
    ({"value_type": 77}, "damaged", "unknown type 77"),
    ({"alignment": 48}, "damaged", "not a power of two"),
])
def test_wrong_headers(tmp_path: Path, kwargs: dict, problem: str, words: str) -> None:
    path = tmp_path / "odd.gguf"
    path.write_bytes(raw_gguf(**kwargs))
    with pytest.raises(ModelFileError) as caught:
        read_header(path)
    assert caught.value.problem == problem
    assert words in str(caught.value)
    assert caught.value.path == path


def test_a_good_hand_made_header_reads(tmp_path: Path) -> None:
    path = tmp_path / "ok.gguf"
    path.write_bytes(raw_gguf())
    header = read_header(path)
    assert header.metadata == {"general.architecture": "gpt-oss"}
    assert header.tensors[0].name == "blk.0.x.weight"
    assert header.tensors[0].nbytes == 32 * 4
