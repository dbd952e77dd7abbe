"""Engine test helpers: plans for the tiny model, Harmony prompts, grammars, and collecting a stream.

Plans pin one thread: on a two-core CI machine two llama.cpp threads fight the test process for the CPU
and every decode gets slower, not faster.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import Done, EngineError, Generation, LoadPlan, TokenEvent
from app.harmony import SYSTEM, USER, Message, SystemContent, render_conversation
from app.harmony.segments import Segment

# Structurally valid Harmony out of random weights: analysis, then final (the end token follows by itself).
ANALYSIS_THEN_FINAL = (
    'root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
    '<|start|> "assistant" <|channel|> "final" <|message|> [a-z ]{3,20}')
# A tool call: after the arguments only an end token may come; suppressing the others leaves <|call|>.
TOOL_CALL = (
    'root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
    '<|start|> "assistant" <|channel|> "commentary to=functions.get_time " <|constrain|> "json" '
    '<|message|> "{}"')
NO_STOPS = ("<|return|>", "<|call|>", "<|endoftext|>")  # suppress every end: generate until max_tokens


def tiny_plan(path: Path, **changes: object) -> LoadPlan:
    fields: dict[str, object] = {"model_path": str(path), "n_ctx": 4096, "n_threads": 1}
    fields.update(changes)
    return LoadPlan(**fields)  # type: ignore[arg-type]


def harmony_prompt(*user_texts: str) -> tuple[Segment, ...]:
    messages = [Message(SYSTEM, SystemContent(conversation_start_date="2025-01-01"))]
    messages += [Message(USER, text) for text in user_texts]
    return tuple(render_conversation(messages))


@dataclass
class Collected:
    tokens: list[TokenEvent]
    end: Done | EngineError

    @property
    def ids(self) -> list[int]:
        return [t.id for t in self.tokens]

    @property
    def done(self) -> Done:
        assert isinstance(self.end, Done), self.end
        return self.end


def collect(generation: Generation) -> Collected:
    tokens: list[TokenEvent] = []
    events: Iterator = iter(generation)
    for event in events:
        if isinstance(event, TokenEvent):
            tokens.append(event)
        else:
            assert next(events, None) is None, "nothing may follow the end of a generation"
            return Collected(tokens, event)
    raise AssertionError("the generation ended without Done or EngineError")


@pytest.fixture
def engine() -> Iterator[WorkerEngine]:
    """A fresh engine for tests that break it (kills, stops); closed afterwards."""
    engine = WorkerEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def loaded_engine(tiny_model_path: Path) -> Iterator[WorkerEngine]:
    """One engine with the tiny model, shared by the tests of a module that leave it working."""
    engine = WorkerEngine()
    engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    yield engine
    engine.close()
