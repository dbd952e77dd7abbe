"""The worker protocol: every message survives the trip, and nothing else is accepted."""

from __future__ import annotations

import io
import os
import pickle
import struct

import pytest

from app.engine import protocol
from app.engine.interface import (
    BufferSize,
    Done,
    EngineError,
    GenerateRequest,
    LoadPlan,
    ModelInfo,
    SamplingSettings,
)
from app.harmony.segments import Special, Text

PLAN = LoadPlan("/models/m.gguf", n_ctx=16384, cpu_expert_blocks=(0, 1, 2), kv_type="q8_0", flash_attn=True)
MESSAGES = [
    protocol.Load(1, PLAN),
    protocol.Unload(2),
    protocol.Generate(3, GenerateRequest((Special("<|start|>"), Text("user <|end|> é")),
                                         SamplingSettings(seed=5, suppress_specials=("<|return|>",)),
                                         grammar='root ::= "x"')),
    protocol.Cancel(3),
    protocol.Tokenize(4, texts=("a", "b")),
    protocol.Tokenize(5, segments=(Text("x"),)),
    protocol.Shutdown(),
    protocol.Ready(protocol.PROTOCOL_VERSION, 1234, "0.3.36"),
    protocol.Loaded(1, ModelInfo("/m.gguf", PLAN, 16384, 131072, 201088, "gpt-oss", {"<|start|>": 200006},
                                 (BufferSize("kv", "CPU", 1024, "SWA"),), 1.5, "desc")),
    protocol.Unloaded(2),
    protocol.Tokens(3, (1, 2), (b"\xe2", b"\x82\xac")),
    protocol.Finished(3, Done("return", 10, 4, 6, 2, 0.1, 0.05, 20.0)),
    protocol.Tokenized(4, (1, 1)),
    protocol.Failed(6, EngineError("model", "bad file", "detail")),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_a_pipe(message: object) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer_stream:
        protocol.MessageWriter(writer_stream).write(message, message)
        writer_stream.close()
        assert protocol.read_message(reader) == message
        assert protocol.read_message(reader) == message
        assert protocol.read_message(reader) is None


def test_a_frame_cut_short_reads_as_the_end_of_the_stream() -> None:
    frame = protocol.encode(protocol.Cancel(7))
    assert protocol.read_message(io.BytesIO(frame[:-3])) is None
    assert protocol.read_message(io.BytesIO(frame[:2])) is None


def test_objects_from_other_modules_are_refused() -> None:
    class_elsewhere = pickle.dumps(os.stat_result((0,) * 10))
    smuggled = pickle.dumps(print)  # a global function: unpickling it would hand over a callable
    for payload in (class_elsewhere, smuggled):
        with pytest.raises(protocol.ProtocolError, match="refused"):
            protocol.read_message(io.BytesIO(struct.pack("<I", len(payload)) + payload))


def test_garbage_and_oversized_frames_are_protocol_errors() -> None:
    with pytest.raises(protocol.ProtocolError, match="unreadable"):
        protocol.read_message(io.BytesIO(struct.pack("<I", 5) + b"hello"))
    with pytest.raises(protocol.ProtocolError, match="larger"):
        protocol.read_message(io.BytesIO(struct.pack("<I", protocol.MAX_FRAME_BYTES + 1)))
