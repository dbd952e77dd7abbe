"""Reading one GGUF file's header: metadata and tensor infos, never the tensor data.

The format's definitions (magic, versions, value types, tensor types and their block sizes) come from the
`gguf` package. The walk itself is done here with `struct` over a memory map, because
`gguf.GGUFReader` builds numpy views for every string: measured on this machine, 9.6 s for the 20b shape
twin's header and 36 s for a header with the published files' 201,088 tokens and 446,189 merges, where
this walk takes 0.1 s and 0.2 s.
Long arrays (the vocabulary, the merges) are skipped and kept only as their length; nothing Ossian reads
needs more of them.

Every way the file can be wrong ends in a `ModelFileError` that says which file and what to do. A file
may be hostile (any Hub repository can serve one with a correct hash): every count and length in the
header is bounded by the bytes the file has left before anything is allocated or looped over, and
nested arrays by a depth, so no header makes the reader grow or recurse without end.
"""

from __future__ import annotations

import functools
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from app.gguf.errors import ModelFileError

# The `gguf` package is imported where a header is read, not with this module: it imports numpy (with
# PyYAML, 0.2 s on the development machine), and the window imports this room on its way to the first
# frame, where no model file is read.

# Arrays longer than this are kept as ArraySummary: nothing Ossian reads is that long.
MAX_KEPT_ARRAY = 4096
# Arrays of arrays deeper than this are damage (or an attack on the reader's stack), not a model.
MAX_ARRAY_DEPTH = 8
# The fewest bytes one item can take in the file: every count read from the header is bounded by the bytes
# left, so no count makes the reader allocate or loop past what the file holds.
_MIN_KV_BYTES = 8 + 4  # an empty key, a value type (the value itself at least a byte, not counted)
_MIN_TENSOR_BYTES = 8 + 4 + 4 + 8  # an empty name, no dims, a type, an offset
_MIN_STRING_BYTES = 8
_MIN_ARRAY_BYTES = 4 + 8



class _ValueTypes(NamedTuple):
    """The metadata value types, as the `gguf` package numbers them."""

    scalars: dict[int, str]  # the struct format of each scalar type
    string: int
    array: int


@functools.cache
def _value_types() -> _ValueTypes:
    import gguf  # on the first header read (see the imports above)

    kind = gguf.GGUFValueType
    return _ValueTypes(
        scalars={kind.UINT8: "<B", kind.INT8: "<b", kind.UINT16: "<H", kind.INT16: "<h",
                 kind.UINT32: "<I", kind.INT32: "<i", kind.UINT64: "<Q", kind.INT64: "<q",
                 kind.FLOAT32: "<f", kind.FLOAT64: "<d", kind.BOOL: "<?"},
        string=int(kind.STRING), array=int(kind.ARRAY))


@dataclass(frozen=True)
class ArraySummary:
    """A long metadata array, kept only as its element type and length."""

    item_type: int
    length: int


@dataclass(frozen=True)
class TensorEntry:
    """One tensor info: dims in ggml order (the fastest-varying first), offset from the data start."""

    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int
    nbytes: int

    @property
    def type_name(self) -> str:
        import gguf  # a header was read, so this is only a lookup (see the imports above)

        return gguf.GGMLQuantizationType(self.ggml_type).name


@dataclass(frozen=True)
class GgufHeader:
    path: Path
    version: int
    metadata: dict[str, Any]
    tensors: tuple[TensorEntry, ...]
    data_offset: int  # where the tensor data starts, from the start of the file
    file_size: int

    @property
    def data_end(self) -> int:
        """The size the file must have at least: the end of its last tensor."""
        return self.data_offset + max((t.offset + t.nbytes for t in self.tensors), default=0)


class _Truncated(Exception):
    """The header runs past the end of the file."""


class _Cursor:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.size = len(buffer)
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        if self.pos + size > self.size:
            raise _Truncated
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def string(self) -> str:
        length = self.unpack("<Q")
        if self.pos + length > self.size:
            raise _Truncated
        raw = self.buffer[self.pos:self.pos + length]
        self.pos += length
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        buffer, pos, size, unpack_from = self.buffer, self.pos, self.size, struct.unpack_from
        for _ in range(count):
            if pos + 8 > size:
                raise _Truncated
            pos += 8 + unpack_from("<Q", buffer, pos)[0]
        if pos > size:
            raise _Truncated
        self.pos = pos

    def skip(self, nbytes: int) -> None:
        if self.pos + nbytes > self.size:
            raise _Truncated
        self.pos += nbytes

    def count(self, per_item: int) -> int:
        """A count from the header, which cannot exceed the items that fit in the bytes left."""
        value = self.unpack("<Q")
        if value * per_item > self.size - self.pos:
            raise _Truncated
        return value


def read_header(path: Path) -> GgufHeader:
    """Read the header of one GGUF file (one part of a split model)."""
    try:
        with open(path, "rb") as file:
            size = file.seek(0, 2)
            if size == 0:
                raise ModelFileError(path, "not_gguf", f"{path.name} is empty (0 bytes), not a model file. "
                                                       "Download or copy it again.")
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                return _parse(path, buffer, size)
    except ModelFileError:
        raise
    except IsADirectoryError:
        raise ModelFileError(path, "unreadable",
                             f"{path} is a folder; choose the .gguf file inside it.") from None
    except PermissionError:
        raise ModelFileError(path, "unreadable",
                             f"Ossian may not read {path}: check the file's permissions.") from None
    except FileNotFoundError:
        raise ModelFileError(path, "missing", f"There is no file at {path}.") from None
    except OSError as exc:
        raise ModelFileError(path, "unreadable",
                             f"{path} could not be read: {exc.strerror or exc}.") from None


def _parse(path: Path, buffer: mmap.mmap, size: int) -> GgufHeader:
    import gguf  # the format's definitions, on the first header read (see the imports above)

    cursor = _Cursor(buffer)
    try:
        magic = buffer[:4]
        if len(magic) < 4 or struct.unpack("<I", magic)[0] != gguf.GGUF_MAGIC:
            raise ModelFileError(path, "not_gguf", _not_gguf_message(path, bytes(buffer[:64])))
        cursor.skip(4)
        version = cursor.unpack("<I")
        if version & 0xFFFF == 0:
            raise ModelFileError(path, "unsupported", f"{path.name} is a big-endian GGUF file; Ossian reads "
                                                      "little-endian GGUF files (the usual kind) only.")
        if version not in (2, 3):
            raise ModelFileError(path, "unsupported", f"{path.name} is GGUF version {version}; this "
                                                      "Ossian reads versions 2 and 3. Update Ossian.")
        n_tensors = cursor.unpack("<Q")
        n_kv = cursor.count(_MIN_KV_BYTES)
        if n_tensors * _MIN_TENSOR_BYTES > size:
            raise _Truncated
        metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            key = cursor.string()
            metadata[key] = _value(cursor, cursor.unpack("<I"), path)
        infos = []
        for _ in range(n_tensors):
            name = cursor.string()
            n_dims = cursor.unpack("<I")
            if n_dims > 8:
                raise ModelFileError(path, "damaged", f"{path.name} is damaged: tensor {name} claims "
                                                      f"{n_dims} dimensions. Download it again.")
            dims = tuple(cursor.unpack("<Q") for _ in range(n_dims))
            infos.append((name, dims, cursor.unpack("<I"), cursor.unpack("<Q")))
    except _Truncated:
        raise ModelFileError(path, "truncated", f"{path.name} ends inside its header ({size:,} bytes): "
                                                "the download or copy was cut short. Download it "
                                                "again.") from None
    alignment = metadata.get(gguf.Keys.General.ALIGNMENT, gguf.GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: its alignment ({alignment}) is not a "
                                              "power of two. Download it again.")
    data_offset = -(-cursor.pos // alignment) * alignment
    tensors = tuple(_tensor(path, *info) for info in infos)
    return GgufHeader(path=path, version=version, metadata=metadata, tensors=tensors,
                      data_offset=data_offset, file_size=size)


def _value(cursor: _Cursor, value_type: int, path: Path, depth: int = 0) -> Any:
    types = _value_types()
    if value_type == types.string:
        return cursor.string()
    scalar = types.scalars.get(value_type)
    if scalar is not None:
        return cursor.unpack(scalar)
    if value_type == types.array:
        if depth >= MAX_ARRAY_DEPTH:
            raise ModelFileError(path, "damaged", f"{path.name} is damaged: its metadata nests arrays more "
                                                  f"than {MAX_ARRAY_DEPTH} deep. Download it again.")
        item_type = cursor.unpack("<I")
        item_bytes = (struct.calcsize(types.scalars[item_type]) if item_type in types.scalars
                      else _MIN_STRING_BYTES if item_type == types.string else _MIN_ARRAY_BYTES)
        length = cursor.count(item_bytes)
        if length <= MAX_KEPT_ARRAY:
            return [_value(cursor, item_type, path, depth + 1) for _ in range(length)]
        if item_type == types.string:
            cursor.skip_strings(length)
        elif item_type in types.scalars:
            cursor.skip(length * struct.calcsize(types.scalars[item_type]))
        else:  # arrays of arrays: no model Ossian runs has long ones; walk them
            for _ in range(length):
                _value(cursor, item_type, path, depth + 1)
        return ArraySummary(item_type, length)
    raise ModelFileError(path, "damaged", f"{path.name} is damaged: a metadata value has unknown type "
                                          f"{value_type}. Download it again.")


def _tensor(path: Path, name: str, dims: tuple[int, ...], ggml_type: int, offset: int) -> TensorEntry:
    import gguf  # already imported by _parse: a lookup (see the imports above)

    try:
        block, type_size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ggml_type)]
    except (ValueError, KeyError):
        raise ModelFileError(path, "unsupported", f"{path.name} stores tensor {name} in type {ggml_type}, "
                                                  "which this version of Ossian does not know. Update "
                                                  "Ossian or use another quantization.") from None
    n_elements = 1
    for dim in dims:
        n_elements *= dim
    if dims and dims[0] % block:
        raise ModelFileError(path, "damaged", f"{path.name} is damaged: tensor {name} has rows of {dims[0]} "
                                              f"values, not a multiple of its type's block of {block}.")
    return TensorEntry(name=name, dims=dims, ggml_type=ggml_type, offset=offset,
                       nbytes=n_elements // block * type_size)


def _not_gguf_message(path: Path, start: bytes) -> str:
    head = start.lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml")):
        hint = "it is a web page: a download probably saved an error page instead of the model"
    elif head.startswith(b"{"):
        hint = "it is JSON text, perhaps a configuration file or an error message from a server"
    elif head.startswith(b"version https://git-lfs"):
        hint = "it is a Git LFS pointer, not the model itself: fetch the real file with `git lfs pull`"
    elif len(start) >= 9 and start[8:9] == b"{":
        hint = "it looks like a safetensors file; Ossian needs the GGUF conversion"
    else:
        hint = "it does not start with the GGUF signature"
    return f"{path.name} is not a GGUF model file: {hint}. Choose a .gguf file of gpt-oss."
