"""The messages between the app and its engine worker, and how they travel over a pipe.

Both sides run the same code (the worker is this app started with a flag), so a message is a frozen
dataclass from this module or `interface`, pickled, behind a 4-byte length. Unpickling is restricted to
those classes: a stray or damaged frame can never run code. The worker announces itself with `Ready`
carrying `PROTOCOL_VERSION`; the client refuses a worker that speaks another version.

Requests carry an id chosen by the client; every reply names the id it answers. Token events travel in
batches (`Tokens`): when the worker is faster than the pipe, several tokens share one frame.
"""

from __future__ import annotations

import io
import pickle
import struct
import threading
from dataclasses import dataclass
from typing import BinaryIO

from app.engine.interface import Done, EngineError, GenerateRequest, LoadPlan, ModelInfo
from app.errors import OssianError
from app.harmony.segments import Segment

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 512 * 2**20  # a prompt of a million tokens is far below this; a bigger length is garbage
_LENGTH = struct.Struct("<I")
_ALLOWED_MODULES = frozenset({"app.engine.protocol", "app.engine.interface", "app.harmony.segments"})


# Requests: app -> worker


@dataclass(frozen=True)
class Load:
    request_id: int
    plan: LoadPlan


@dataclass(frozen=True)
class Unload:
    request_id: int


@dataclass(frozen=True)
class Generate:
    request_id: int
    request: GenerateRequest


@dataclass(frozen=True)
class Cancel:
    """Stop generation `request_id`, whether it is running or still waiting its turn."""

    request_id: int


@dataclass(frozen=True)
class Tokenize:
    """Token counts of plain texts, or (with `segments`) the prompt's token ids exactly as generated."""

    request_id: int
    texts: tuple[str, ...] = ()
    segments: tuple[Segment, ...] | None = None


@dataclass(frozen=True)
class Shutdown:
    pass


# Events: worker -> app


@dataclass(frozen=True)
class Ready:
    protocol_version: int
    pid: int
    llama_cpp_version: str = ""
    error: str | None = None  # llama.cpp could not be imported; the worker exits after saying so


@dataclass(frozen=True)
class Loaded:
    request_id: int
    info: ModelInfo


@dataclass(frozen=True)
class Unloaded:
    request_id: int


@dataclass(frozen=True)
class Tokens:
    request_id: int
    ids: tuple[int, ...]
    pieces: tuple[bytes, ...]


@dataclass(frozen=True)
class Finished:
    request_id: int
    done: Done


@dataclass(frozen=True)
class Tokenized:
    request_id: int
    result: tuple[int, ...]  # counts per text, or the prompt's ids


@dataclass(frozen=True)
class Failed:
    request_id: int
    error: EngineError


Request = Load | Unload | Generate | Cancel | Tokenize | Shutdown
Event = Ready | Loaded | Unloaded | Tokens | Finished | Tokenized | Failed


class ProtocolError(OssianError):
    """A frame that is not a message of this protocol (a bug, or something else on the pipe); mapped into
    an `EngineError` of kind "protocol" on both sides."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if module not in _ALLOWED_MODULES:
            raise ProtocolError(f"refused to unpickle {module}.{name}")
        return super().find_class(module, name)


def encode(message: Request | Event) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


def decode(payload: bytes) -> Request | Event:
    try:
        return _RestrictedUnpickler(io.BytesIO(payload)).load()
    except ProtocolError:
        raise
    except Exception as exc:  # any unpickling failure means the frame is damaged
        raise ProtocolError(f"unreadable message: {exc}") from exc


class MessageWriter:
    """Writes frames to a binary stream; safe to share between threads."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, *messages: Request | Event) -> None:
        data = b"".join(encode(m) for m in messages)
        with self._lock:
            self._stream.write(data)
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            try:
                self._stream.close()
            except OSError:
                pass


def read_message(stream: BinaryIO) -> Request | Event | None:
    """The next message, or None when the other side closed the pipe (cleanly or by dying)."""
    header = _read_exactly(stream, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {length} bytes is larger than the protocol allows")
    payload = _read_exactly(stream, length)
    if payload is None:
        return None
    return decode(payload)


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
