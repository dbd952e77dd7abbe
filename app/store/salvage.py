"""Salvage: copying what can still be read from a damaged database into a new one.

SQLite's own recovery (`.recover` of the sqlite3 shell, the sqlite3_recover extension) is not in
Python's sqlite3, so this works through ordinary queries: the damaged file is opened read-only, a new
file gets the same schema version through Ossian's migrations, and each table is copied row by row with
`damaged_reading.TableReader`, which steps over unreadable pages. Indexes are not copied but made anew
from the rows (the search indexes by a rebuild at the end), so damage confined to an index loses
nothing.

Rows keep their ids, so everything that refers to them still fits. Where a row refers to one that was
lost, the decision is:
- a message whose conversation row was lost keeps its place: the conversation is rebuilt under the same
  id, titled from its first user message (its settings are back to the defaults), and counted as rebuilt;
- a message whose turn was lost gets the turn back, without its statistics;
- a tool call state or an attachment whose message was lost is dropped (the app shows them only with
  their message) and counted as lost; a tool call whose result message was lost keeps its state;
- a turn with neither a conversation nor a message left is dropped.
Rows that SQLite reads but the schema rejects (a CHECK that garbage fails) are counted as lost.

The new database is written with the journal in memory and without syncing (it is thrown away if
anything fails), then synced once before the caller puts it in place of the damaged one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from app.store import migrations
from app.store.connection import connect
from app.store.damaged_reading import TableReader, is_unreadable, open_read_only, quoted
from app.store.salvage_report import SalvageReport, TableSalvage
from app.store.titles import auto_title

log = logging.getLogger(__name__)

# Every table that holds the user's data, parents before children. Search tables are rebuilt instead;
# tests/store/test_salvage.py fails when a migration adds a table that is in neither group.
SALVAGED_TABLES = ("conversations", "turns", "messages", "tool_calls", "attachments")
REBUILT_CONVERSATION_TITLE = "Recovered conversation"


@dataclass
class _Copied:
    """One table's counts while the copy runs."""

    found: bool = False  # the table's schema entry could be read
    read: int = 0
    rejected: int = 0
    lost_rowids: set[int] = field(default_factory=set)
    unknown_loss: bool = False


def salvage(damaged: Path, target: Path, busy_timeout_s: float, now_ms: int) -> SalvageReport:
    """Copy what can be read from `damaged` into a new database at `target` (which must not exist).

    `damaged` is only read. If nothing can be read (not a database, the header or the whole schema
    gone, a newer Ossian's schema), no file is made and the report says why. Errors writing `target`
    are raised: the caller removes it and leaves the damaged file where it is.
    """
    started = time.monotonic()
    try:
        reader = open_read_only(damaged, busy_timeout_s)
    except sqlite3.Error as exc:
        if is_unreadable(exc):
            return SalvageReport(unreadable=str(exc), seconds=time.monotonic() - started)
        raise
    try:
        version, problem = _schema_version(reader)
        if problem is not None:
            return SalvageReport(unreadable=problem, seconds=time.monotonic() - started)
        tables = _copy_all(reader, target, version, busy_timeout_s, now_ms)
    finally:
        reader.close()
    if tables is None:
        target.unlink()
        return SalvageReport(unreadable="none of its tables could be read",
                             seconds=time.monotonic() - started)
    _sync(target)
    report = SalvageReport(tables=tables, seconds=time.monotonic() - started)
    log.info("salvaged %s in %.2f s: %s", damaged, report.seconds, report.tables)
    return report


def _schema_version(reader: sqlite3.Connection) -> tuple[int, str | None]:
    """The damaged file's schema version, or a reason why it cannot be salvaged."""
    try:  # the header; the schema is read table by table later, as part of it may be gone
        version = reader.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        if is_unreadable(exc):
            return 0, str(exc)
        raise
    if version > migrations.LATEST_VERSION:
        return 0, (f"it was written by a newer version of Ossian (schema {version}; this one knows up to "
                   f"{migrations.LATEST_VERSION})")
    if version < 1:
        return 0, "it holds no conversations this version of Ossian knows how to read"
    try:
        migrations.check_history(reader)
    except migrations.SchemaMismatch as exc:
        return 0, f"its schema is not one this version of Ossian wrote ({exc})"
    except sqlite3.Error as exc:  # the history's own page is gone: the version in the header will do
        if not is_unreadable(exc):
            raise
    return version, None


def _copy_all(reader: sqlite3.Connection, target: Path, version: int, busy_timeout_s: float,
              now_ms: int) -> tuple[TableSalvage, ...] | None:
    """The new database at `target` and what went into it; None if no table could be read at all."""
    writer = connect(target, busy_timeout_s)
    try:
        # Nothing here needs to survive a crash: a salvage cut short is started again from the damaged file.
        writer.execute("PRAGMA journal_mode = MEMORY")
        writer.execute("PRAGMA synchronous = OFF")
        migrations.migrate(writer, now_ms, target=version)
        # Rows arrive before or without the rows they refer to; references are repaired before COMMIT.
        writer.execute("PRAGMA foreign_keys = OFF")
        present = {row[0] for row in writer.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        writer.execute("BEGIN IMMEDIATE")
        with _triggers_off(writer):
            copied = {table: _copy_table(reader, writer, table)
                      for table in SALVAGED_TABLES if table in present}
            dropped, rebuilt = _repair_references(writer, present, now_ms)
        writer.execute("COMMIT")
    finally:
        writer.close()
    if not any(counts.found for counts in copied.values()):
        return None
    tables = []
    for table, counts in copied.items():
        remade = rebuilt.get(table, set())
        tables.append(TableSalvage(
            table=table,
            recovered=counts.read - counts.rejected - dropped[table],
            rebuilt=len(remade),
            lost=len(counts.lost_rowids - remade) + counts.rejected + dropped[table],
            unknown_loss=counts.unknown_loss,
        ))
    return tuple(tables)


@contextlib.contextmanager
def _triggers_off(conn: sqlite3.Connection) -> Iterator[None]:
    """Copy rows as they are, then rebuild the search indexes in one go.

    The triggers keep the search indexes in step with single writes; firing row by row they made the
    salvage of 90,000 messages take 13 s instead of 5 s. Rows copied verbatim should not fire what a
    trigger does on a new write anyway: what triggers derive is rebuilt whole instead. Each trigger
    comes back with its own SQL text, so the schema ends up as the migrations made it. No `finally`:
    after an error the whole new file is thrown away, so there is nothing to put back.
    """
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY rowid").fetchall()
    search = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5%'")]
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {quoted(name)}")
    yield
    for _, sql in triggers:
        conn.execute(sql)
    for name in search:
        conn.execute(f"INSERT INTO {quoted(name)} ({quoted(name)}) VALUES ('rebuild')")


def _copy_table(reader: sqlite3.Connection, writer: sqlite3.Connection, table: str) -> _Copied:
    columns = [row[1] for row in writer.execute(f"PRAGMA table_info({table})")]
    counts = _Copied()
    try:  # its schema entry may be on a lost page: then none of it can be read
        reader.execute(f"SELECT {', '.join(columns)} FROM {table} LIMIT 0")
    except sqlite3.Error as exc:
        log.warning("salvage: table %s unreadable: %s", table, exc)
        counts.unknown_loss = True
        return counts
    counts.found = True
    rows = TableReader(reader, table, columns)
    insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for row in _chained(rows):
        counts.read += 1
        try:
            writer.execute(insert, row)
        except sqlite3.IntegrityError as exc:  # read, but not what the schema allows: garbage
            log.info("salvage: %s row %s rejected: %s", table, row[0], exc)
            counts.rejected += 1
    counts.lost_rowids = set(rows.lost_rowids)
    counts.unknown_loss = rows.unknown_loss
    if rows.skipped:
        log.warning("salvage: %s: rowid spans %s unreadable, %d known rows lost", table, rows.skipped,
                    len(counts.lost_rowids))
    return counts


def _chained(rows: TableReader) -> Iterator[tuple]:
    return chain(rows.rows(), rows.recheck_skipped())  # the recheck runs after the scan, as it must


def _repair_references(conn: sqlite3.Connection, present: set[str],
                       now_ms: int) -> tuple[Counter[str], dict[str, set[int]]]:
    """Make every reference point at a row again (see the module docstring); returns the rows dropped
    per table and the ids rebuilt per table."""
    dropped: Counter[str] = Counter()
    rebuilt: dict[str, set[int]] = {}
    messages = "SELECT id FROM messages"
    if "tool_calls" in present:
        dropped["tool_calls"] += conn.execute(
            f"DELETE FROM tool_calls WHERE message_id NOT IN ({messages})").rowcount
        conn.execute("UPDATE tool_calls SET result_message_id = NULL "
                     f"WHERE result_message_id NOT IN ({messages})")
    if "attachments" in present:
        dropped["attachments"] += conn.execute(
            f"DELETE FROM attachments WHERE message_id NOT IN ({messages})").rowcount
    lost_turns = "turn_id IS NOT NULL AND turn_id NOT IN (SELECT id FROM turns)"
    rebuilt["turns"] = {row[0] for row in conn.execute(
        f"SELECT DISTINCT turn_id FROM messages WHERE {lost_turns}")}
    conn.execute("INSERT INTO turns (id, conversation_id, started_at) "
                 "SELECT turn_id, min(conversation_id), min(created_at) "
                 f"FROM messages WHERE {lost_turns} GROUP BY turn_id")
    dropped["turns"] += conn.execute(
        "DELETE FROM turns WHERE conversation_id NOT IN (SELECT id FROM conversations) "
        "AND id NOT IN (SELECT turn_id FROM messages WHERE turn_id IS NOT NULL)").rowcount
    rebuilt["conversations"] = _rebuild_conversations(conn, present, now_ms)
    # Anything the rules above did not foresee (a row read from a damaged page that points nowhere) goes:
    # the app must never meet a broken reference.
    while offenders := conn.execute("PRAGMA foreign_key_check").fetchall():
        for table, rowid, parent, _ in offenders:
            log.warning("salvage: %s row %s refers to a missing %s row; dropped", table, rowid, parent)
            dropped[table] += conn.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,)).rowcount
    return dropped, rebuilt


def _rebuild_conversations(conn: sqlite3.Connection, present: set[str], now_ms: int) -> set[int]:
    """Conversation rows for the messages (and turns, attachments) whose conversation row was lost."""
    referring = ["SELECT conversation_id FROM messages", "SELECT conversation_id FROM turns"]
    if "attachments" in present:
        referring.append("SELECT conversation_id FROM attachments")
    missing = [row[0] for row in conn.execute(
        f"SELECT DISTINCT conversation_id FROM ({' UNION '.join(referring)}) "
        "WHERE conversation_id NOT IN (SELECT id FROM conversations) ORDER BY conversation_id")]
    for conversation_id in missing:
        first, last = conn.execute(
            "SELECT min(created_at), max(created_at) FROM messages WHERE conversation_id = ?",
            (conversation_id,)).fetchone()
        question = conn.execute("SELECT content FROM messages WHERE conversation_id = ? AND role = 'user' "
                                "ORDER BY position LIMIT 1", (conversation_id,)).fetchone()
        title = (auto_title(question[0]) if question and isinstance(question[0], str) else None) \
            or REBUILT_CONVERSATION_TITLE
        conn.execute("INSERT INTO conversations (id, title, title_source, created_at, updated_at) "
                     "VALUES (?, ?, 'auto', ?, ?)",
                     (conversation_id, title, first if first is not None else now_ms,
                      last if last is not None else now_ms))
    return set(missing)


def _sync(target: Path) -> None:
    if not target.exists():
        return
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())
    # A leftover journal would be none of ours (the journal was in memory); better gone before the rename.
    with contextlib.suppress(FileNotFoundError):
        Path(f"{target}-journal").unlink()
