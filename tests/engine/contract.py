"""The contract every `Engine` keeps, as tests any engine's test module inherits.

`EngineContract` holds the interface's promises: calls return at once; a generation is tokens, then
exactly one `Done` or `EngineError`; cancel ends it as cancelled and leaves the engine usable; a request
that cannot run is an error event, never an exception out of `generate` or its iteration; and
`capabilities` tell the truth (what is declared works, what is not is refused as "unsupported").

A test module subclasses it as `Test<Engine>` and gives a `Subject` through a class-scoped `subject`
fixture, a classmethod (tests/engine/test_contract.py does it for the local worker and the scripted
engine; a remote engine's tests do the same).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import pytest

from app.engine.interface import (
    Done,
    DoneReason,
    Engine,
    EngineError,
    EngineFailure,
    GenerateRequest,
    LoadPlan,
    SamplingSettings,
    TokenEvent,
)
from app.harmony.parser import REQUIRED_SPECIALS
from app.harmony.segments import Segment, Special

AT_ONCE_S = 0.5  # "returns at once": the local worker starts its process in the background
END_TIMEOUT_S = 60.0
CANCEL_BOUND_S = 2.0  # cancel is meant to take 100 ms; a busy machine may stall any process a while

Length = Literal["short", "long"]


@dataclass(frozen=True)
class Subject:
    """One engine under test: how to make it, what to load, what to ask.

    `prepare(engine, length)` readies the engine's next reply and returns the sampling settings to ask
    for it with: "short" ends by itself within a few tokens, "long" runs for seconds unless cancelled.
    `grammar` is (GBNF, the pattern the decoded reply must match, sampling settings) for an engine that
    declares grammars."""

    make: Callable[[], Engine]
    plan: LoadPlan
    prompt: tuple[Segment, ...]
    prepare: Callable[[Engine, Length], SamplingSettings]
    grammar: tuple[str, re.Pattern[str], SamplingSettings] | None = None


def read_to_end(events: Iterator, deadline_s: float = END_TIMEOUT_S) -> tuple[list[TokenEvent],
                                                                             Done | EngineError]:
    """Tokens up to the end event; nothing may follow the end, and it must come."""
    tokens: list[TokenEvent] = []
    started = time.perf_counter()
    for event in events:
        assert time.perf_counter() - started < deadline_s, "the generation did not end in time"
        if isinstance(event, TokenEvent):
            tokens.append(event)
            continue
        assert isinstance(event, Done | EngineError), event
        assert next(events, None) is None, "nothing may follow the end of a generation"
        return tokens, event
    raise AssertionError("the generation ended without Done or EngineError")


def generate(engine: Engine, request: GenerateRequest) -> tuple[list[TokenEvent], Done | EngineError]:
    started = time.perf_counter()
    generation = engine.generate(request)
    assert time.perf_counter() - started < AT_ONCE_S, "generate must return at once"
    return read_to_end(iter(generation))


def only_error(engine: Engine, request: GenerateRequest) -> EngineError:
    tokens, end = generate(engine, request)
    assert not tokens and isinstance(end, EngineError), (tokens, end)
    return end


class EngineContract:
    """Tests every engine passes. Subclasses provide a class-scoped `subject` fixture."""

    @pytest.fixture(scope="class")
    @classmethod
    def loaded(cls, subject: Subject) -> Iterator[Engine]:
        """One engine with its model loaded, shared by the tests that leave it working."""
        engine = subject.make()
        engine.load(subject.plan).result(timeout=END_TIMEOUT_S)
        yield engine
        engine.close()

    def request(self, subject: Subject, engine: Engine, length: Length = "short") -> GenerateRequest:
        return GenerateRequest(subject.prompt, subject.prepare(engine, length))

    def test_load_returns_at_once_and_unload_forgets_the_model(self, subject: Subject) -> None:
        engine = subject.make()
        try:
            assert engine.model is None
            started = time.perf_counter()
            future = engine.load(subject.plan)
            assert time.perf_counter() - started < AT_ONCE_S, "load must return a future at once"
            info = future.result(timeout=END_TIMEOUT_S)
            assert engine.model == info
            assert Path(info.model_path).name == Path(subject.plan.model_path).name
            assert info.n_ctx > 0
            # A remote server may not say its vocabulary's size (vLLM; a chat server has none to say).
            assert info.n_vocab > 0 or not engine.capabilities.load_plans
            engine.unload().result(timeout=END_TIMEOUT_S)
            assert engine.model is None
        finally:
            engine.close()

    def test_a_generation_is_tokens_then_one_done(self, subject: Subject, loaded: Engine) -> None:
        tokens, end = generate(loaded, self.request(subject, loaded))
        assert isinstance(end, Done), end
        assert end.reason in get_args(DoneReason)
        assert tokens and end.generated_tokens == len(tokens)
        assert all(isinstance(token.piece, bytes) for token in tokens)

    def test_cancel_ends_the_stream_as_cancelled_and_the_engine_goes_on(self, subject: Subject,
                                                                        loaded: Engine) -> None:
        generation = loaded.generate(self.request(subject, loaded, "long"))
        events = iter(generation)
        first = next(events)
        assert isinstance(first, TokenEvent), first
        started = time.perf_counter()
        generation.cancel()
        _, end = read_to_end(events)
        assert time.perf_counter() - started < CANCEL_BOUND_S
        assert isinstance(end, Done) and end.reason == "cancelled", end
        generation.cancel()  # a second cancel is harmless
        _, after = generate(loaded, self.request(subject, loaded))
        assert isinstance(after, Done), after

    def test_cancel_before_reading_ends_it_as_cancelled(self, subject: Subject, loaded: Engine) -> None:
        generation = loaded.generate(self.request(subject, loaded, "long"))
        generation.cancel()
        _, end = read_to_end(iter(generation))
        assert isinstance(end, Done) and end.reason == "cancelled", end
        _, after = generate(loaded, self.request(subject, loaded))
        assert isinstance(after, Done), after

    def test_a_second_generation_while_one_runs_is_a_busy_event(self, subject: Subject,
                                                                 loaded: Engine) -> None:
        running = loaded.generate(self.request(subject, loaded, "long"))
        try:
            # no reply prepared for it: it must be refused before it would need one
            refused = only_error(loaded, GenerateRequest(subject.prompt))
            assert refused.kind == "busy" and refused.message
        finally:
            running.cancel()
            read_to_end(iter(running))

    def test_failures_are_events_not_exceptions(self, subject: Subject) -> None:
        engine = subject.make()
        try:
            assert only_error(engine, GenerateRequest(subject.prompt)).kind == "not_loaded"
        finally:
            engine.close()
        assert only_error(engine, GenerateRequest(subject.prompt)).message  # closed: still an event

    def test_tokenize_works_where_declared_and_is_refused_elsewhere(self, subject: Subject,
                                                                   loaded: Engine) -> None:
        future = loaded.tokenize(subject.prompt)
        if not loaded.capabilities.tokenize:
            with pytest.raises(EngineFailure) as refused:
                future.result(timeout=END_TIMEOUT_S)
            assert refused.value.error.kind == "unsupported" and refused.value.error.message
            return
        ids = future.result(timeout=END_TIMEOUT_S)
        assert ids and all(isinstance(i, int) for i in ids)
        model = loaded.model
        assert model is not None
        specials = [model.special_ids[s.token] for s in subject.prompt if isinstance(s, Special)]
        assert [i for i in ids if i in set(model.special_ids.values())] == specials

    def test_grammar_is_followed_where_declared_and_refused_elsewhere(self, subject: Subject,
                                                                     loaded: Engine) -> None:
        if not loaded.capabilities.grammar:
            refused = only_error(loaded, GenerateRequest(subject.prompt, grammar='root ::= "x"'))
            assert refused.kind == "unsupported" and refused.message
            return
        assert subject.grammar is not None, "an engine that declares grammars needs a grammar case"
        grammar, pattern, sampling = subject.grammar
        tokens, end = generate(loaded, GenerateRequest(subject.prompt, sampling, grammar=grammar))
        assert isinstance(end, Done), end
        text = b"".join(token.piece for token in tokens).decode("utf-8", errors="replace")
        assert pattern.fullmatch(text), text

    def test_the_stream_carries_what_it_declares(self, subject: Subject, loaded: Engine) -> None:
        model = loaded.model
        assert model is not None
        tokens, end = generate(loaded, self.request(subject, loaded))
        assert isinstance(end, Done), end
        if loaded.capabilities.stream == "token_ids":
            # the token-level Harmony parser finds the specials by these ids
            assert set(REQUIRED_SPECIALS) <= model.special_ids.keys()
            if loaded.capabilities.renders == "harmony" and model.n_vocab:
                assert all(0 <= token.id < model.n_vocab for token in tokens)
            else:  # the engine's own numbering: only the specials' ids mean anything, and they are distinct
                assert len(set(model.special_ids.values())) == len(model.special_ids)

    def test_a_plan_is_applied_as_given_where_declared(self, subject: Subject, loaded: Engine) -> None:
        model = loaded.model
        assert model is not None
        if loaded.capabilities.load_plans:
            assert model.plan == subject.plan and model.n_ctx == subject.plan.n_ctx

    def test_count_tokens_counts_each_text(self, loaded: Engine) -> None:
        counts = loaded.count_tokens(["hello world", "", "a longer text of several words"]).result(
            timeout=END_TIMEOUT_S)
        assert len(counts) == 3 and counts[1] == 0 and 0 < counts[0] <= counts[2]
