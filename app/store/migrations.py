"""The database schema, as named forward migrations applied in order (the way simonw/llm does it).

Append-only: a migration that has shipped is never edited; a change is a new migration at the end.
Each one runs in its own write transaction together with its row in `schema_migrations` and the new
`PRAGMA user_version` (its 1-based index), so a failure leaves the previous version intact and a
second process that opens the file at the same time waits and then sees the work already done.
tests/store/schema_history/ freezes the schema each version produced; tests migrate from every one.

Times are integer Unix milliseconds (exact to round-trip through ISO 8601 text).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from app.store.connection import read_snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str


# What a message must be to be found by search: user text and the visible assistant text (answers and
# preambles), once it is no longer being generated. Reasoning, tool calls and tool output stay out of
# results: a snippet from hidden reasoning would point at text the conversation view does not show.
# Frozen with migration 003 like its SQL: a different rule needs a new migration, not an edit here.
_SEARCHABLE_NEW = (
    "new.status != 'streaming' AND (new.role = 'user' OR (new.role = 'assistant' "
    "AND new.recipient IS NULL AND coalesce(new.channel, '') != 'analysis'))"
)
_SEARCHABLE_OLD = _SEARCHABLE_NEW.replace("new.", "old.")
_SEARCHABLE_ROW = _SEARCHABLE_NEW.replace("new.", "")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "001_conversations_turns_messages",
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            title_source TEXT NOT NULL DEFAULT 'placeholder'
                CHECK (title_source IN ('placeholder', 'auto', 'user')),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            model TEXT,
            reasoning_effort TEXT NOT NULL DEFAULT 'medium'
                CHECK (reasoning_effort IN ('low', 'medium', 'high')),
            settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
            pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
            archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
        );
        CREATE INDEX conversations_sidebar ON conversations (archived, pinned, updated_at, id);

        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            started_at INTEGER NOT NULL,
            prompt_tokens INTEGER,
            reused_tokens INTEGER,
            generated_tokens INTEGER,
            time_to_first_token_s REAL,
            tokens_per_second REAL,
            finish_reason TEXT
        );
        CREATE INDEX turns_by_conversation ON turns (conversation_id);

        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            turn_id INTEGER REFERENCES turns (id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'developer', 'user', 'assistant', 'tool')),
            name TEXT,
            channel TEXT,
            recipient TEXT,
            content_type TEXT,
            content TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'complete'
                CHECK (status IN ('complete', 'streaming', 'interrupted', 'error')),
            error TEXT,
            created_at INTEGER NOT NULL,
            UNIQUE (conversation_id, position)
        );
        CREATE INDEX messages_by_turn ON messages (turn_id);
        -- Reopening after a crash looks for these; a partial index keeps that instant with millions of rows.
        CREATE INDEX messages_streaming ON messages (id) WHERE status = 'streaming';
        """,
    ),
    Migration(
        "002_tool_calls_attachments",
        """
        CREATE TABLE tool_calls (
            message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN
                ('waiting_approval', 'running', 'done', 'failed', 'denied', 'interrupted')),
            result_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            duration_s REAL,
            error TEXT
        );
        CREATE INDEX tool_calls_by_result ON tool_calls (result_message_id);
        CREATE INDEX tool_calls_unfinished ON tool_calls (message_id)
            WHERE state IN ('waiting_approval', 'running');

        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
            file_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            text TEXT NOT NULL,
            token_count INTEGER NOT NULL CHECK (token_count >= 0),
            page_count INTEGER,
            mode TEXT NOT NULL CHECK (mode IN ('inline', 'search')),
            created_at INTEGER NOT NULL
        );
        CREATE INDEX attachments_by_conversation ON attachments (conversation_id);
        CREATE INDEX attachments_by_message ON attachments (message_id);
        """,
    ),
    Migration(
        "003_full_text_search",
        f"""
        CREATE VIEW searchable_messages AS
            SELECT id, content FROM messages WHERE {_SEARCHABLE_ROW};
        CREATE VIRTUAL TABLE message_fts USING fts5 (
            content, content = 'searchable_messages', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
        -- One update trigger, delete before insert: FTS5 must forget the old text before it learns the new.
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN {_SEARCHABLE_NEW} BEGIN
            INSERT INTO message_fts (rowid, content) VALUES (new.id, new.content);
        END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN {_SEARCHABLE_OLD} BEGIN
            INSERT INTO message_fts (message_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER messages_fts_update
        AFTER UPDATE OF content, status, role, channel, recipient ON messages BEGIN
            INSERT INTO message_fts (message_fts, rowid, content)
                SELECT 'delete', old.id, old.content WHERE {_SEARCHABLE_OLD};
            INSERT INTO message_fts (rowid, content) SELECT new.id, new.content WHERE {_SEARCHABLE_NEW};
        END;
        INSERT INTO message_fts (message_fts) VALUES ('rebuild');

        CREATE VIRTUAL TABLE conversation_fts USING fts5 (
            title, content = 'conversations', content_rowid = 'id',
            tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
            INSERT INTO conversation_fts (rowid, title) VALUES (new.id, new.title);
        END;
        CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
            INSERT INTO conversation_fts (conversation_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
        END;
        CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations BEGIN
            INSERT INTO conversation_fts (conversation_fts, rowid, title)
                VALUES ('delete', old.id, old.title);
            INSERT INTO conversation_fts (rowid, title) VALUES (new.id, new.title);
        END;
        INSERT INTO conversation_fts (conversation_fts) VALUES ('rebuild');
        """,
    ),
    Migration(
        # One tool-call state list for every room (records.ToolCallState): a call the user stopped is
        # kept as cancelled, not as failed. SQLite cannot change a CHECK, so the table is rebuilt.
        "004_tool_call_cancelled",
        """
        CREATE TABLE tool_calls_004 (
            message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN
                ('waiting_approval', 'running', 'done', 'failed', 'denied', 'cancelled', 'interrupted')),
            result_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
            duration_s REAL,
            error TEXT
        );
        INSERT INTO tool_calls_004 (message_id, state, result_message_id, duration_s, error)
            SELECT message_id, state, result_message_id, duration_s, error FROM tool_calls;
        DROP TABLE tool_calls;
        ALTER TABLE tool_calls_004 RENAME TO tool_calls;
        CREATE INDEX tool_calls_by_result ON tool_calls (result_message_id);
        CREATE INDEX tool_calls_unfinished ON tool_calls (message_id)
            WHERE state IN ('waiting_approval', 'running');
        """,
    ),
)

LATEST_VERSION = len(MIGRATIONS)

_HISTORY_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at INTEGER NOT NULL
)
"""


class SchemaMismatch(Exception):
    """The file's recorded migrations are not a prefix of ours (a newer or a foreign schema)."""


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def applied_names(conn: sqlite3.Connection) -> list[str]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    if not exists:
        return []
    return [row[0] for row in conn.execute("SELECT name FROM schema_migrations ORDER BY rowid")]


def check_history(conn: sqlite3.Connection) -> int:
    """The file's version, after checking that what it recorded is the start of our list."""
    version = schema_version(conn)
    names = applied_names(conn)
    if version > LATEST_VERSION:
        raise SchemaMismatch(f"schema version {version}; this version of Ossian knows up to {LATEST_VERSION}")
    expected = [m.name for m in MIGRATIONS[:version]]
    if names != expected:
        raise SchemaMismatch(f"recorded migrations {names} do not match the expected {expected}")
    return version


def migrate(conn: sqlite3.Connection, now_ms: int, target: int = LATEST_VERSION) -> int:
    """Bring the database up to `target`; returns the version it had before. `conn` is in autocommit."""
    with read_snapshot(conn):  # the version and the history as one consistent read
        start = check_history(conn)
    for index in range(start, target):
        migration = MIGRATIONS[index]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock: look again inside it.
            if schema_version(conn) > index:
                conn.execute("COMMIT")
                continue
            conn.execute(_HISTORY_TABLE)
            # executescript() would COMMIT first; run the statements one by one inside our transaction.
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                         (migration.name, now_ms))
            conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("database migrated to version %d (%s)", index + 1, migration.name)
    return start


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (trigger bodies hold semicolons of their own)."""
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:80]}")
    return statements
