"""Each way a server fails ends in an error a person can act on, and what arrived before it is kept."""

from __future__ import annotations

import socket
import time

import pytest

from app import harmony
from app.chat.completion import CompletionRequest, complete, prompt_settings
from app.engine.client import WorkerEngine
from app.engine.interface import EngineFailure, LoadPlan, SamplingSettings
from app.engine.remote import ServerAddress, ServerFailure, connect
from fixtures.remote_servers import ChatReplayShape, Knobs, LlamaServerShape, chat_chunk
from tests.engine.conftest import NO_STOPS
from tests.engine.remote.conftest import connected


def ask(text: str = "Hello", **sampling: object) -> CompletionRequest:
    return CompletionRequest((harmony.Message(harmony.USER, text),), prompt_settings(),
                             SamplingSettings(**sampling))  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_says_to_check_the_server() -> None:
    with pytest.raises(ServerFailure) as failed:
        connect(ServerAddress(f"http://127.0.0.1:{free_port()}"))
    assert failed.value.error.kind == "connection"
    assert "Could not connect to 127.0.0.1:" in failed.value.error.message
    assert "is the server running" in failed.value.error.message


def test_a_wrong_key_is_an_auth_error_that_points_to_settings(llama_server: LlamaServerShape) -> None:
    llama_server.knobs.api_key = "right-key"
    engine = connected(llama_server.base_url, api_key="wrong-key")
    result = complete(engine, ask(max_tokens=3)).result()
    assert result.error is not None and result.error.kind == "auth"
    assert "refused the API key (401)" in result.error.message and "Settings" in result.error.message
    engine.close()
    right = connected(llama_server.base_url, api_key="right-key")
    assert complete(right, ask(max_tokens=3, seed=1)).result().error is None
    right.close()


def test_an_unknown_model_names_the_ones_there_are(llama_server: LlamaServerShape) -> None:
    engine = connect(ServerAddress(llama_server.base_url))
    with pytest.raises(EngineFailure) as failed:
        engine.load(LoadPlan("gpt-oss-120b")).result(timeout=30)
    assert failed.value.error.kind == "model"
    assert "no model named 'gpt-oss-120b'" in failed.value.error.message
    assert "gpt-oss-tiny.gguf" in failed.value.error.message
    engine.close()


def test_the_servers_context_refusal_becomes_too_long() -> None:
    shape = ChatReplayShape("ollama", Knobs(status=400, status_body={"error": {
        "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error"}})).start()
    try:
        engine = connected(shape.base_url)
        result = complete(engine, ask()).result()
        assert result.error is not None and result.error.kind == "too_long"
        assert "longer than the context" in result.error.message and "exceeds" in result.error.message
        engine.close()
    finally:
        shape.stop()


def test_a_stream_cut_mid_answer_keeps_what_arrived(local: WorkerEngine) -> None:
    shape = LlamaServerShape(local, Knobs(cut_after=12)).start()
    try:
        engine = connected(shape.base_url)
        completion = complete(engine, ask(seed=4, suppress_specials=NO_STOPS, max_tokens=200))
        result = completion.result()
        assert result.error is not None and result.error.kind == "connection"
        assert "broke off mid-answer" in result.error.message and "kept" in result.error.message
        assert result.finish_reason == "error"
        assert result.usage.completion_tokens == 12  # every token that arrived was read
        assert result.partial is not None or result.messages
        engine.close()
    finally:
        shape.stop()


def test_a_cut_chat_stream_keeps_the_partial_answer(chat_server: ChatReplayShape) -> None:
    chat_server.knobs.cut_after = 3
    chat_server.queue(chat_chunk({"reasoning_content": "Think."}), chat_chunk({"content": "The answer is"}),
                      chat_chunk({"content": " forty"}), chat_chunk({"content": "-two."}),
                      chat_chunk(finish="stop"))
    engine = connected(chat_server.base_url)
    result = complete(engine, ask()).result()
    assert result.error is not None and result.error.kind == "connection"
    assert result.partial is not None and result.partial.text == "The answer is forty"
    assert [m.text for m in result.messages] == ["Think."]
    engine.close()


def test_malformed_harmony_from_the_server_is_recovered_and_nothing_is_lost(
        chat_server: ChatReplayShape) -> None:
    """Written specials out of order: the parser recovers and every character of text is kept."""
    chat_server.queue(chat_chunk({"content": "<|message|>stray text<|end|><|channel|>final<|message|>ok"}),
                      chat_chunk(finish="stop"))
    engine = connected(chat_server.base_url)
    result = complete(engine, ask()).result()
    assert result.error is None
    text = "".join(m.text for m in result.all_messages)
    assert "stray text" in text and text.endswith("ok")
    engine.close()


def test_a_line_that_is_not_json_is_a_protocol_error_and_keeps_the_text(chat_server: ChatReplayShape) -> None:
    chat_server.queue(chat_chunk({"content": "Partial"}), {"not": "a chunk"}, "<html>502 Bad Gateway",
                      chat_chunk({"content": " never read"}))
    engine = connected(chat_server.base_url)
    result = complete(engine, ask()).result()
    assert result.error is not None and result.error.kind == "protocol"
    assert "not JSON" in result.error.message and "502 Bad Gateway" in result.error.detail
    assert result.answer == "Partial"  # an object that is no chunk is skipped, the text before kept
    engine.close()


def test_cancel_stops_the_stream_and_the_server_stops_generating(llama_server: LlamaServerShape,
                                                                 local: WorkerEngine) -> None:
    engine = connected(llama_server.base_url)
    completion = complete(engine, ask(seed=2, suppress_specials=NO_STOPS, max_tokens=3000))
    events = iter(completion)
    next(events)
    started = time.monotonic()
    completion.cancel()
    for _ in events:
        pass
    assert completion.result().finish_reason == "cancelled" and time.monotonic() - started < 2
    # The server let go of its generation: the next request runs at once.
    assert complete(engine, ask(seed=2, max_tokens=2)).result().error is None
    engine.close()
