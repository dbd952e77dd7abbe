"""The engine contract (tests/engine/contract.py), kept by the local worker on the tiny model and by the
scripted engine that UI tests and benchmarks use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import Engine, LoadPlan, SamplingSettings
from app.engine.testing import ScriptedEngine, text_reply
from tests.engine.conftest import ANALYSIS_THEN_FINAL, NO_STOPS, harmony_prompt, tiny_plan
from tests.engine.contract import EngineContract, Length, Subject

PROMPT = harmony_prompt("Tell me about the north wind.")
# What ANALYSIS_THEN_FINAL lets the tiny model write, specials as their text, then the end it samples.
GRAMMAR_TEXT = re.compile(r"<\|channel\|>analysis<\|message\|>[a-z ]{3,20}<\|end\|><\|start\|>assistant"
                          r"<\|channel\|>final<\|message\|>[a-z ]{3,20}<\|return\|>")


def worker_sampling(engine: Engine, length: Length) -> SamplingSettings:
    if length == "short":
        return SamplingSettings(seed=1, max_tokens=5)
    return SamplingSettings(seed=1, suppress_specials=NO_STOPS)  # runs until the context is full


def scripted_reply(engine: Engine, length: Length) -> SamplingSettings:
    assert isinstance(engine, ScriptedEngine)
    # At 2,000 tokens a second: 5 tokens take milliseconds, 40,000 take 20 s unless cancelled.
    engine.queue(text_reply("a b c d e" if length == "short" else "word " * 40_000))
    return SamplingSettings()


class TestWorkerEngine(EngineContract):
    @pytest.fixture(scope="class")
    @classmethod
    def subject(cls, tiny_model_path: Path) -> Subject:
        sampling = SamplingSettings(seed=11, suppress_specials=("<|call|>", "<|endoftext|>"))
        return Subject(make=WorkerEngine, plan=tiny_plan(tiny_model_path), prompt=PROMPT,
                       prepare=worker_sampling, grammar=(ANALYSIS_THEN_FINAL, GRAMMAR_TEXT, sampling))


class TestScriptedEngine(EngineContract):
    @pytest.fixture(scope="class")
    @classmethod
    def subject(cls) -> Subject:
        return Subject(make=lambda: ScriptedEngine(tokens_per_second=2000),
                       plan=LoadPlan("scripted.gguf", n_ctx=4096), prompt=PROMPT, prepare=scripted_reply)
