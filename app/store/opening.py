"""Opening the database file: health check, salvaging a damaged file, WAL, migrations, crash recovery.

A damaged file is salvaged into a new database and kept under another name (`damaged_file`); the
`OpenReport` carries the sentence the UI shows: what was recovered, what was lost, where the damaged
file is. "Damaged" means what SQLite itself calls corruption (SQLITE_CORRUPT, SQLITE_NOTADB, or a
failed integrity check); a locked file, a full disk or a read-only folder is the environment's problem
and raises instead, leaving the file alone, as does a newer Ossian's database.

Every open reads the header and the schema, which finds a truncated or overwritten file at once. A full
`PRAGMA integrity_check` reads the whole file (about 90 ms for 28 MB here, seconds for a long history),
so it runs only when a session met corruption while reading: the store then leaves a marker file
(`<name>.needs-check`, see `mark_for_check`) and the next open checks everything before using the file.

Messages still marked 'streaming' were being generated when the app or the engine died: they become
'interrupted' (the UI offers "continue" and "regenerate"), and so do tool calls that never finished.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from app.store import migrations
from app.store.connection import connect, connect_read_only, read_snapshot, write_transaction
from app.store.damaged_file import DamagedDatabase, replace_damaged
from app.store.errors import DatabaseUnavailable, IncompatibleDatabase, is_corruption, translate

log = logging.getLogger(__name__)

CHECK_MARKER_SUFFIX = ".needs-check"
INTERRUPTED_TOOL_CALL_ERROR = "Ossian stopped before this tool call finished."


@dataclass(frozen=True)
class OpenReport:
    """What opening found and did; `notices` are the sentences for the user (empty on a normal start)."""

    path: Path
    schema_version: int
    migrated_from: int  # the version the file had; equal to schema_version when nothing was migrated
    journal_mode: str  # "wal" unless the file system cannot do WAL
    damaged: DamagedDatabase | None = None
    interrupted_message_ids: tuple[int, ...] = ()
    interrupted_tool_call_ids: tuple[int, ...] = ()

    @property
    def notices(self) -> tuple[str, ...]:
        return (self.damaged.message,) if self.damaged else ()

    @property
    def kept_file(self) -> Path | None:
        """The damaged file set aside by this open, for the UI to point at; None on a normal start."""
        return self.damaged.moved_to if self.damaged else None


def open_database(path: Path, busy_timeout_s: float, now_ms: int) -> tuple[sqlite3.Connection, OpenReport]:
    """Open (creating or repairing as needed) and migrate; returns the connection and what happened."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"The folder for the conversation database, {path.parent}, cannot be created ({exc}). Check that "
            "its parent exists and that you may write to it.", path) from exc
    damaged = None
    marker = check_marker(path)
    conn, problem = _open_checked(path, busy_timeout_s, thorough=marker.exists())
    while True:
        if conn is None:
            damaged = replace_damaged(path, problem, busy_timeout_s, now_ms)
            conn = _connect(path, busy_timeout_s)
        with contextlib.suppress(OSError):  # if it cannot go, the next start checks once more: harmless
            marker.unlink(missing_ok=True)
        try:
            journal_mode, migrated_from, (message_ids, tool_call_ids) = _prepare(conn, path, now_ms)
            break
        except sqlite3.Error as exc:
            conn.close()
            if is_corruption(exc) and damaged is None:
                # The quick check passed but the first reads met damage: salvage now, not next start.
                conn, problem = None, str(exc)
                continue
            if is_corruption(exc):
                mark_for_check(path, str(exc))
            raise translate(exc, path) from exc
        except BaseException:
            conn.close()
            raise
    if message_ids or tool_call_ids:
        log.warning("marked %d message(s) and %d tool call(s) as interrupted after an unclean exit",
                    len(message_ids), len(tool_call_ids))
    report = OpenReport(
        path=path,
        schema_version=migrations.LATEST_VERSION,
        migrated_from=migrated_from,
        journal_mode=journal_mode,
        damaged=damaged,
        interrupted_message_ids=message_ids,
        interrupted_tool_call_ids=tool_call_ids,
    )
    return conn, report


def _prepare(conn: sqlite3.Connection, path: Path,
             now_ms: int) -> tuple[str, int, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Compatibility, WAL, migrations, unfinished work: (journal mode, version before, interrupted)."""
    _check_compatible(conn, path)  # before anything is written: a newer Ossian's file stays as it is
    journal_mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if journal_mode != "wal":
        log.warning("the file system of %s cannot use WAL; journal mode is %s", path, journal_mode)
    migrated_from = migrations.migrate(conn, now_ms)
    return journal_mode, migrated_from, _mark_interrupted(conn)


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    try:
        return connect(path, busy_timeout_s)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc


def check_marker(path: Path) -> Path:
    return Path(f"{path}{CHECK_MARKER_SUFFIX}")


def mark_for_check(path: Path, reason: str) -> None:
    """Ask the next open for a full integrity check (called when a read meets corruption)."""
    try:
        check_marker(path).write_text(reason + "\n", encoding="utf-8")
    except OSError as exc:  # the error being reported matters more; the next read will find it again
        log.warning("could not leave the check marker next to %s: %s", path, exc)


def _open_checked(path: Path, busy_timeout_s: float,
                  thorough: bool) -> tuple[sqlite3.Connection, None] | tuple[None, str]:
    """A connection to a file SQLite finds nothing wrong with, or None and what is wrong with it.

    Errors other than damage (locked, unreadable) are raised: they are no reason to set the file aside.
    """
    checked, problem = _check_read_only(path, busy_timeout_s, thorough)
    if problem is not None:
        return None, problem
    conn = None
    try:
        conn = connect(path, busy_timeout_s)  # its PRAGMAs already read the header
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        problems = _integrity_problems(conn) if thorough and not checked else ["ok"]
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        if is_corruption(exc):
            return None, str(exc)
        raise translate(exc, path) from exc
    if problems != ["ok"]:
        conn.close()
        return None, "; ".join(problems)
    return conn, None


def _check_read_only(path: Path, busy_timeout_s: float, thorough: bool) -> tuple[bool, str | None]:
    """(whether the check could run, what is wrong or None), on a read-only connection: closing a
    read-write one would checkpoint the -wal into a damaged file before it is kept, changing it.

    Where a read-only connection cannot look (no file yet, a lock, a hot rollback journal that only a
    writer may roll back), the read-write connection of `_open_checked` checks as before.
    """
    if not path.exists():
        return False, None
    conn = None
    try:
        conn = connect_read_only(path, busy_timeout_s)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        problems = _integrity_problems(conn) if thorough else ["ok"]
    except sqlite3.Error as exc:
        return (True, str(exc)) if is_corruption(exc) else (False, None)
    finally:
        if conn is not None:
            conn.close()
    return True, None if problems == ["ok"] else "; ".join(problems)


def _integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """SQLite's first few findings, one line each (without its "*** in database main ***" heading)."""
    lines = [line for row in conn.execute("PRAGMA integrity_check(3)") for line in str(row[0]).splitlines()]
    return [line for line in lines if not line.startswith("*** ")] or lines


def _check_compatible(conn: sqlite3.Connection, path: Path) -> None:
    # One snapshot: another process may finish a migration between two autocommit reads, and a version
    # read before it with tables read after it would look like some other program's file.
    try:
        with read_snapshot(conn):
            version = migrations.check_history(conn)
            names = [row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 5")]
    except migrations.SchemaMismatch as exc:
        raise IncompatibleDatabase(
            f"The conversation database {path} was written by a newer or different version of Ossian "
            f"({exc}). It was left untouched: update Ossian to open it, or move the file elsewhere to start "
            "a new one.", path) from exc
    if version == 0 and names:
        raise IncompatibleDatabase(
            f"{path} is an SQLite database, but not Ossian's (it holds {', '.join(names)}). It was left "
            "untouched: move it elsewhere and Ossian will start a new conversation database there.", path)


def _mark_interrupted(conn: sqlite3.Connection) -> tuple[tuple[int, ...], tuple[int, ...]]:
    unfinished = "SELECT message_id FROM tool_calls WHERE state IN ('waiting_approval', 'running')"
    # Look first without the write lock: on a clean start there is nothing to do.
    if not conn.execute("SELECT 1 FROM messages WHERE status = 'streaming' LIMIT 1").fetchone() and \
            not conn.execute(unfinished + " LIMIT 1").fetchone():
        return (), ()
    with write_transaction(conn):
        message_ids = tuple(row[0] for row in conn.execute(
            "SELECT id FROM messages WHERE status = 'streaming' ORDER BY id"))
        conn.execute("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
        tool_call_ids = tuple(row[0] for row in conn.execute(unfinished + " ORDER BY message_id"))
        conn.execute(
            "UPDATE tool_calls SET state = 'interrupted', error = coalesce(error, ?) "
            "WHERE state IN ('waiting_approval', 'running')", (INTERRUPTED_TOOL_CALL_ERROR,))
    return message_ids, tool_call_ids
