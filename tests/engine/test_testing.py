"""The scripted engine (`app.engine.testing`) behaves like an Engine where the UI can tell."""

from __future__ import annotations

import time

from app.engine.interface import Done, EngineError, GenerateRequest, LoadPlan, TokenEvent
from app.engine.testing import (
    SPECIAL_IDS,
    ScriptedEngine,
    harmony_reply,
    split_text,
    text_reply,
)
from app.harmony.segments import SPECIAL_TOKENS, Special, Text

REQUEST = GenerateRequest(segments=())


def loaded(*replies, rate=None) -> ScriptedEngine:
    engine = ScriptedEngine(list(replies), tokens_per_second=rate)
    engine.load(LoadPlan("scripted.gguf", n_ctx=4096)).result()
    return engine


def test_load_reports_a_model_with_made_up_special_ids() -> None:
    engine = ScriptedEngine()
    assert engine.model is None
    info = engine.load(LoadPlan("x.gguf", n_ctx=2048)).result()
    assert info.n_ctx == 2048 and info.architecture == "gpt-oss"
    assert set(info.special_ids) == set(SPECIAL_TOKENS)
    assert info.special_ids["<|return|>"] != 200002, "not gpt-oss's ids"
    engine.unload().result()
    assert engine.model is None


def test_tokens_replay_at_the_rate_and_end_with_done() -> None:
    reply = text_reply("one two three four five six seven eight nine ten " * 5)
    engine = loaded(reply, rate=500)
    start = time.perf_counter()
    events = list(engine.generate(REQUEST))
    elapsed = time.perf_counter() - start
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert len(tokens) == len(reply.tokens) and isinstance(events[-1], Done)
    assert events[-1].reason == "return" and events[-1].generated_tokens == len(tokens)
    assert elapsed >= (len(tokens) - 1) / 500 * 0.9


def test_cancel_ends_the_stream_early() -> None:
    engine = loaded(text_reply("word " * 200), rate=1000)
    generation = engine.generate(REQUEST)
    events = []
    for event in generation:
        events.append(event)
        if len(events) == 5:
            generation.cancel()
    assert isinstance(events[-1], Done) and events[-1].reason == "cancelled"
    assert len(events) < 20


def test_one_generation_at_a_time_and_errors_as_events() -> None:
    engine = loaded(text_reply("a"), text_reply("b"))
    first = engine.generate(REQUEST)
    busy = list(engine.generate(REQUEST))
    assert isinstance(busy[0], EngineError) and busy[0].kind == "busy"
    list(first)
    assert isinstance(list(engine.generate(REQUEST))[-1], Done)
    empty = list(engine.generate(REQUEST))
    assert isinstance(empty[0], EngineError) and empty[0].kind == "internal"
    unloaded = next(iter(ScriptedEngine([text_reply("x")]).generate(REQUEST)))
    assert isinstance(unloaded, EngineError) and unloaded.kind == "not_loaded"


def test_multibyte_characters_are_split_across_tokens_like_a_real_vocabulary() -> None:
    text = "Zürich ☂ 東京 🌦️ done"
    pieces = split_text(text)
    assert b"".join(pieces).decode() == text
    assert any(not _decodes(piece) for piece in pieces), "some token ends inside a character"
    assert text_reply(text).text == text


def test_harmony_reply_writes_the_format_with_special_ids() -> None:
    reply = harmony_reply([("analysis", "Need weather."),
                           ("commentary to=functions.get_weather <|constrain|>json", '{"city": "Oslo"}')])
    assert reply.text == ("<|channel|>analysis<|message|>Need weather.<|end|>"
                          "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
                          '<|message|>{"city": "Oslo"}<|call|>')
    assert reply.done == "call"
    specials = [t for t in reply.tokens if t.id in SPECIAL_IDS.values()]
    assert [t.piece.decode() for t in specials] == [
        "<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|channel|>", "<|constrain|>", "<|message|>",
        "<|call|>"]
    final = harmony_reply([("final", "Hi.")])
    assert final.text.endswith("<|return|>") and final.done == "return"


def test_count_tokens_uses_the_same_tokenizer() -> None:
    engine = loaded()
    assert engine.count_tokens(["hello world", ""]).result() == [len(split_text("hello world")), 0]


def _decodes(piece: bytes) -> bool:
    try:
        piece.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_done_reports_the_prompt_as_the_toy_tokenizer_counts_it() -> None:
    engine = loaded(text_reply("ok"))
    request = GenerateRequest(segments=(Special("<|start|>"), Text("user"), Special("<|message|>"),
                                        Text("How are you today?")))
    done = next(e for e in engine.generate(request) if isinstance(e, Done))
    assert done.prompt_tokens == 2 + len(split_text("user")) + len(split_text("How are you today?"))
    assert done.generated_tokens == len(split_text("ok"))
