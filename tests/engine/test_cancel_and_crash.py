"""Stopping a generation, and surviving a worker that dies: the app gets events, never a crash.

Cancel is meant to take effect within 100 ms. The assertions allow more (a loaded CI machine can stall
any process for a while); `bench/engine_overhead.py` prints the measured latencies.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import Done, EngineError, GenerateRequest, SamplingSettings, TokenEvent
from app.harmony.segments import Text
from tests.engine.conftest import NO_STOPS, collect, harmony_prompt, tiny_plan

ENDLESS = SamplingSettings(seed=1, suppress_specials=NO_STOPS)  # runs until the context is full
LATENCY_BOUND_S = 1.0


def first_tokens_then(generation, count: int, action) -> tuple[list[TokenEvent], Done | EngineError, float]:
    """Read `count` tokens, run `action`, then read to the end; returns the seconds the end took."""
    tokens: list[TokenEvent] = []
    events = iter(generation)
    for event in events:
        assert isinstance(event, TokenEvent), event
        tokens.append(event)
        if len(tokens) == count:
            break
    started = time.perf_counter()
    action()
    rest = list(events)
    return tokens + [e for e in rest if isinstance(e, TokenEvent)], rest[-1], time.perf_counter() - started


@pytest.fixture
def patient_engine() -> WorkerEngine:
    """Waits seconds, not milliseconds, before killing a worker that does not stop: so that the tests
    of the abort path see the abort path even on a busy machine."""
    engine = WorkerEngine(cancel_deadline_s=5.0)
    yield engine
    engine.close()


def test_cancel_mid_generation(patient_engine: WorkerEngine, tiny_model_path: Path) -> None:
    patient_engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    pid = patient_engine.worker_pid
    generation = patient_engine.generate(GenerateRequest(harmony_prompt("go on"), ENDLESS))
    tokens, end, seconds = first_tokens_then(generation, 20, generation.cancel)
    assert isinstance(end, Done) and end.reason == "cancelled"
    assert 20 <= end.generated_tokens == len(tokens) < 4000
    assert seconds < LATENCY_BOUND_S
    assert patient_engine.worker_pid == pid  # stopped, not killed
    generation.cancel()  # a second cancel is harmless
    after = collect(patient_engine.generate(GenerateRequest(harmony_prompt("again"),
                                                            SamplingSettings(max_tokens=5))))
    assert isinstance(after.end, Done)


def test_cancel_during_prompt_evaluation_keeps_the_model_and_what_was_evaluated(
        patient_engine: WorkerEngine, tiny_model_path: Path) -> None:
    patient_engine.load(tiny_plan(tiny_model_path, n_ctx=32768)).result(timeout=60)
    pid = patient_engine.worker_pid
    sentence = "the weather in the north is cold and windy. "
    prompt = (Text(sentence * 700),)  # about 31,000 tokens: seconds of evaluation
    generation = patient_engine.generate(GenerateRequest(prompt, SamplingSettings(max_tokens=1)))
    time.sleep(0.5)  # tokenized and well into evaluation (which takes seconds)
    started = time.perf_counter()
    generation.cancel()
    result = collect(generation)
    seconds = time.perf_counter() - started
    assert result.done.reason == "cancelled" and result.done.generated_tokens == 0
    assert result.done.evaluated_tokens < result.done.prompt_tokens
    assert seconds < LATENCY_BOUND_S
    assert patient_engine.worker_pid == pid

    # llama.cpp dropped the aborted batch; the worker re-read what stays, and reuses exactly that (asked
    # with a shorter prompt that starts the same way, so that little is left to evaluate)
    kept = result.done.reused_tokens + result.done.evaluated_tokens
    (per_sentence,) = patient_engine.count_tokens([sentence]).result()
    shorter = (Text(sentence * (kept // per_sentence + 3)),)
    again = collect(patient_engine.generate(GenerateRequest(shorter, SamplingSettings(max_tokens=1))))
    assert again.done.reused_tokens == kept
    assert again.done.evaluated_tokens == again.done.prompt_tokens - kept


def freeze_and_cancel(engine: WorkerEngine, thaw_after: float | None) -> tuple[Done | EngineError, float]:
    """Stop the worker (as if llama.cpp were stuck in one long GPU call), cancel, maybe let it go on."""
    pid = engine.worker_pid
    assert pid is not None
    generation = engine.generate(GenerateRequest(harmony_prompt("go on"), ENDLESS))

    def freeze() -> None:
        os.kill(pid, signal.SIGSTOP)
        generation.cancel()
        if thaw_after is not None:
            threading.Timer(thaw_after, os.kill, args=(pid, signal.SIGCONT)).start()

    _, end, seconds = first_tokens_then(generation, 5, freeze)
    return end, seconds


def test_a_worker_late_to_stop_releases_the_consumer_at_once_and_keeps_its_model(
        tiny_model_path: Path) -> None:
    engine = WorkerEngine(kill_deadline_s=10.0)
    try:
        engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
        pid = engine.worker_pid
        end, seconds = freeze_and_cancel(engine, thaw_after=0.5)
        assert isinstance(end, Done) and end.reason == "cancelled"
        assert seconds < LATENCY_BOUND_S
        again = GenerateRequest(harmony_prompt("again"), SamplingSettings(max_tokens=3))
        after = collect(engine.generate(again))
        assert isinstance(after.end, Done)
        assert engine.worker_pid == pid  # it stopped by itself once it could: not killed
    finally:
        engine.close()


def test_a_worker_that_never_stops_is_killed_and_replaced(tiny_model_path: Path) -> None:
    engine = WorkerEngine(kill_deadline_s=0.5)
    try:
        engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
        pid = engine.worker_pid
        end, seconds = freeze_and_cancel(engine, thaw_after=None)
        assert isinstance(end, Done) and end.reason == "cancelled"
        assert seconds < LATENCY_BOUND_S
        again = GenerateRequest(harmony_prompt("again"), SamplingSettings(max_tokens=3))
        after = collect(engine.generate(again))
        assert isinstance(after.end, Done)  # a new worker, with the model loaded again
        assert engine.worker_pid not in (None, pid)
    finally:
        engine.close()


def test_sigkill_mid_stream_is_an_error_event_and_the_next_request_works(engine: WorkerEngine,
                                                                         tiny_model_path: Path) -> None:
    info = engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    pid = engine.worker_pid
    generation = engine.generate(GenerateRequest(harmony_prompt("go on"), ENDLESS))
    _, end, _ = first_tokens_then(generation, 10, lambda: os.kill(pid, signal.SIGKILL))
    assert isinstance(end, EngineError) and end.kind == "crashed"
    assert "SIGKILL" in end.message and "next request" in end.message
    assert engine.model == info  # still the model the app wants; it comes back on the next request

    counts = engine.count_tokens(["hello"]).result(timeout=60)
    assert counts == [5]
    assert engine.worker_pid not in (None, pid)
    # no end token allowed: random weights end a 3-token answer early now and then (seen: 2 of 3 tokens)
    three = SamplingSettings(max_tokens=3, suppress_specials=NO_STOPS)
    after = collect(engine.generate(GenerateRequest(harmony_prompt("again"), three)))
    assert isinstance(after.end, Done) and after.done.generated_tokens == 3


def test_llama_cpp_aborting_the_worker_is_reported(engine: WorkerEngine, tiny_model_path: Path) -> None:
    """A grammar that puts an end-of-generation token inside makes llama.cpp abort its process."""
    engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    result = collect(engine.generate(GenerateRequest(harmony_prompt("x"), grammar='root ::= "a" <|return|>')))
    assert isinstance(result.end, EngineError) and result.end.kind == "crashed"
    assert "stopped unexpectedly" in result.end.message
    after = collect(engine.generate(GenerateRequest(harmony_prompt("y"), SamplingSettings(max_tokens=2))))
    assert isinstance(after.end, Done)


def test_cancel_before_the_request_reached_the_worker(engine: WorkerEngine, tiny_model_path: Path) -> None:
    engine.load(tiny_plan(tiny_model_path))  # the worker is still starting
    generation = engine.generate(GenerateRequest(harmony_prompt("x"), ENDLESS))
    generation.cancel()
    assert collect(generation).done == Done("cancelled")
    after = collect(engine.generate(GenerateRequest(harmony_prompt("y"), SamplingSettings(max_tokens=2))))
    assert isinstance(after.end, Done) and after.done.generated_tokens == 2


def test_cancel_from_another_thread(patient_engine: WorkerEngine, tiny_model_path: Path) -> None:
    patient_engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    generation = patient_engine.generate(GenerateRequest(harmony_prompt("go on"), ENDLESS))
    events = iter(generation)
    first = next(events)  # a token: it is generating (a fixed delay raced a slow prompt on a busy machine)
    assert isinstance(first, TokenEvent), first
    canceller = threading.Thread(target=generation.cancel)
    canceller.start()
    rest = list(events)
    canceller.join()
    done = rest[-1]
    assert isinstance(done, Done) and done.reason == "cancelled" and done.generated_tokens > 0
