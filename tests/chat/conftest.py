"""Chat tests run the real thing: llama.cpp on the tiny model in a worker process, a real SQLite file.

Random weights write random text, so a GBNF grammar forces the Harmony structure a test needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat.events import ChatEvent, ToolCallChanged, TurnFinished
from app.chat.session import ChatSession, SessionOptions
from app.chat.turn import TurnOptions
from app.engine.client import WorkerEngine
from app.engine.interface import LoadPlan, SamplingSettings
from app.store import Store, open_store
from app.tools import ToolSession

ANALYSIS_THEN_FINAL = (
    'root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
    '<|start|> "assistant" <|channel|> "final" <|message|> [a-z ]{3,20}')


def function_call_grammar(name: str, arguments: str = "{}") -> str:
    escaped = arguments.replace("\\", "\\\\").replace('"', '\\"')
    return ('root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
            f'<|start|> "assistant" <|channel|> "commentary to=functions.{name} " <|constrain|> "json" '
            f'<|message|> "{escaped}"')


def python_call_grammar(code: str) -> str:
    escaped = code.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return ('root ::= <|channel|> "analysis" <|message|> [a-z ]{3,20} <|end|> '
            f'<|start|> "assistant" <|channel|> "analysis to=python" <|message|> "{escaped}"')


class Recorder:
    """Collects chat events; lets a test wait for the end of a turn or for a tool card state."""

    def __init__(self) -> None:
        self.events: list[ChatEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: ChatEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type) -> list:
        with self._changed:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, predicate, timeout: float = 60.0):
        with self._changed:
            ok = self._changed.wait_for(lambda: any(predicate(e) for e in self.events), timeout)
            assert ok, f"timed out; events so far: {self.events[-5:]}"
            return next(e for e in self.events if predicate(e))

    def finished(self, timeout: float = 60.0) -> TurnFinished:
        return self.wait_for(lambda e: isinstance(e, TurnFinished), timeout)

    def tool_state(self, state: str, timeout: float = 60.0) -> ToolCallChanged:
        return self.wait_for(lambda e: isinstance(e, ToolCallChanged) and e.state == state, timeout)

    def clear(self) -> None:
        with self._changed:
            self.events.clear()


@pytest.fixture(scope="module")
def chat_engine(tiny_model_path: Path) -> Iterator[WorkerEngine]:
    engine = WorkerEngine()
    engine.load(LoadPlan(model_path=str(tiny_model_path), n_ctx=4096, n_threads=1)).result(timeout=120)
    yield engine
    engine.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "conversations.sqlite3")
    yield store
    store.close()


@pytest.fixture
def make_session(store: Store, chat_engine: WorkerEngine):
    """A session on a new conversation: make_session(grammar=..., tools=...) -> (session, recorder)."""
    sessions: list[ChatSession] = []

    def make(grammar=ANALYSIS_THEN_FINAL, tools: ToolSession | None = None, max_tool_steps: int = 8,
             max_tokens: int | None = 200, engine=None) -> tuple[ChatSession, Recorder]:
        recorder = Recorder()
        conversation = store.create_conversation(model="tiny")
        options = SessionOptions(turn=TurnOptions(sampling=SamplingSettings(seed=7, max_tokens=max_tokens),
                                                  grammar=grammar, max_tool_steps=max_tool_steps))
        session = ChatSession(store=store, engine=engine or chat_engine, conversation_id=conversation.id,
                              listener=recorder, tools=tools, options=options)
        sessions.append(session)
        return session, recorder

    yield make
    for session in sessions:
        session.stop()
        session.wait(30)
