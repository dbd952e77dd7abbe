"""Fixtures for the store tests: a real database file in the test's private OSSIAN_HOME, and a clock.

The clock is the only thing replaced: tests set the time so that "newest first" and exported times are
exact. Everything else is the real store on a real SQLite file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.paths import app_paths
from app.store import NewMessage, Store, open_store

START_TIME = 1_754_400_000.0  # 2025-08-05 13:20 UTC, the day gpt-oss came out


class Clock:
    """Unix seconds that move only when a test says so."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path() -> Path:
    return app_paths().ensure().database_file


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[Store]:
    with open_store(db_path, clock=clock) as opened:
        yield opened


def fill_turn(store: Store, conversation_id: int, question: str, answer: str) -> tuple[int, int]:
    """A complete user turn (question, reasoning, answer); returns (user message id, answer id)."""
    turn = store.add_user_turn(conversation_id, question)
    store.append_message(conversation_id, NewMessage("assistant", f"Thinking about: {question}",
                                                     channel="analysis"), turn_id=turn.turn.id)
    reply = store.append_message(conversation_id, NewMessage("assistant", answer, channel="final"),
                                 turn_id=turn.turn.id)
    return turn.message.id, reply.id


def integrity(path: Path) -> tuple[str, str]:
    """SQLite's integrity_check and FTS5's own check of both search indexes, on a fresh connection."""
    conn = sqlite3.connect(path)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        for table in ("message_fts", "conversation_fts"):
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        return check, "fts ok"
    finally:
        conn.close()
