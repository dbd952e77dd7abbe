"""The store's error tree, and the one place where sqlite3's exceptions are mapped into it.

Errors are split the way qutebrowser splits them: `StoreEnvironmentError` is the environment's fault
(another program holds the lock, the disk is full, the folder is read-only, the file is damaged) and
carries a sentence the UI can show as is; `StoreInternalError` is our bug. Bad arguments raise
`InvalidInput` and unknown ids `NotFound`, both before any SQL runs where that is possible.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.errors import OssianError

# Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in the low byte.
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_PERM = 3
SQLITE_NOLFS = 22
SQLITE_NOTADB = 26

CORRUPTION_CODES = frozenset({SQLITE_CORRUPT, SQLITE_NOTADB})


class StoreError(OssianError):
    """Base of everything the store raises; `str(error)` is a sentence a person can act on."""


class StoreEnvironmentError(StoreError):
    """Not Ossian's fault: the disk, the file system or another program. Nothing saved was lost."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class DatabaseBusy(StoreEnvironmentError):
    """Another connection held the write lock for longer than the busy timeout."""


class DiskFull(StoreEnvironmentError):
    """The disk (or the database's size limit) is full; the write was rolled back."""


class DatabaseUnavailable(StoreEnvironmentError):
    """The file cannot be opened or written: permissions, a read-only disk, an I/O error."""


class DatabaseCorrupt(StoreEnvironmentError):
    """Damage found while the store was open; the next start salvages the file (see `damaged_file`)."""


class IncompatibleDatabase(StoreEnvironmentError):
    """A newer Ossian's database, or some other program's SQLite file: left untouched."""


class StoreInternalError(StoreError):
    """An SQLite error that valid input should never cause: a bug in Ossian."""


class NotFound(StoreError, LookupError):
    """A conversation, message or attachment id that does not exist (any more)."""


class InvalidInput(StoreError, ValueError):
    """An argument the store cannot accept; the message names the argument and what is allowed."""


class ConversationFileError(StoreError, ValueError):
    """An imported conversation file that is not valid; the message says where and what is wrong."""


def is_corruption(exc: sqlite3.Error) -> bool:
    return _primary_code(exc) in CORRUPTION_CODES


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate(exc: sqlite3.Error, path: Path) -> StoreError:
    """The most specific store error for an sqlite3 exception (raise it `from exc`)."""
    code = _primary_code(exc)
    detail = str(exc)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return DatabaseBusy(
            f"The conversation database {path} is busy: another program (or a second Ossian window) is "
            "writing to it. Try again in a moment; if this keeps happening, close other Ossian windows.",
            path,
        )
    if code == SQLITE_FULL:
        return DiskFull(
            f"The disk holding {path} is full, so the change was not saved. Free some disk space and try "
            "again; everything saved before is intact.",
            path,
        )
    if code in CORRUPTION_CODES:
        return DatabaseCorrupt(
            f"The conversation database {path} is damaged ({detail}). Restart Ossian: it will save what "
            "can still be read into a new database and keep the damaged file under another name.",
            path,
        )
    if code in (SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_IOERR, SQLITE_PERM, SQLITE_NOLFS):
        return DatabaseUnavailable(
            f"The conversation database {path} cannot be opened or written ({detail}). Check that its "
            "folder exists, that you may write to it and that the disk is connected.",
            path,
        )
    if "no such module: fts5" in detail:
        return DatabaseUnavailable(
            f"This Python's SQLite library was built without full-text search (FTS5), which Ossian needs "
            f"for {path}. Install Ossian's own build or a Python whose sqlite3 has FTS5.",
            path,
        )
    return StoreInternalError(f"Unexpected database error in {path} (a bug in Ossian): {detail}")
