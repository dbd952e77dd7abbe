"""Reading a damaged SQLite file: a read-only connection, and every readable row of a table.

SQLite reports a damaged page only when a query reaches it, so one bad page does not spoil a table:
rows before and after it stay readable through the table's own b-tree. `TableReader` scans a table in
rowid order (never through an index, which may be the damaged part) and, where the scan breaks, looks
for the first rowid after the damage whose lookup works again and carries on from there. The rowids it
had to skip are kept as spans; the table's indexes, which often survive, then name the rows that existed
in those spans, each of which is tried once more on its own. What is left is what could not be read.

This module only reads: it never writes to the damaged file (the connection is read-only).
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.store.connection import connect_read_only
from app.store.errors import SQLITE_IOERR, is_corruption

log = logging.getLogger(__name__)

MIN_ROWID = -(2**63)
MAX_ROWID = 2**63 - 1


def open_read_only(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection that cannot change the file (nor its -wal, whose committed rows it still reads)."""
    conn = connect_read_only(path, busy_timeout_s)
    # Finds malformed cells as errors instead of reading past them into garbage.
    conn.execute("PRAGMA cell_size_check = ON")
    # With it, a damaged page of the schema costs only the tables described on that page: SQLite then
    # ignores schema entries it cannot read instead of refusing every query. Harmless here, as the
    # connection is read-only and nothing is ever written through it.
    conn.execute("PRAGMA writable_schema = ON")
    return conn


def quoted(name: str) -> str:
    """An identifier as SQL text: index names come from the damaged (possibly hostile) file itself."""
    return '"' + name.replace('"', '""') + '"'


def is_unreadable(exc: sqlite3.Error) -> bool:
    """Damage (or a read error of the disk under it): a reason to skip, not to stop."""
    code = getattr(exc, "sqlite_errorcode", None)
    return is_corruption(exc) or (code is not None and code & 0xFF == SQLITE_IOERR)


@dataclass
class TableReader:
    """The readable rows of one rowid table of a damaged database; see the module docstring.

    `rows()` and then `recheck_skipped()` yield tuples of `columns`; afterwards `lost_rowids` holds the
    rows that existed but could not be read, and `unknown_loss` says whether some skipped span had no
    readable index to say what it held.
    """

    conn: sqlite3.Connection
    table: str
    columns: Sequence[str]
    skipped: list[tuple[int, int]] = field(default_factory=list)  # inclusive rowid spans not read
    lost_rowids: list[int] = field(default_factory=list)
    unknown_loss: bool = False

    def rows(self) -> Iterator[tuple]:
        position = MIN_ROWID
        while position <= MAX_ROWID:
            # The fast path: one scan to the end. Python's sqlite3 may drop the row fetched just before
            # an error, so after a broken scan the next row is asked for on its own.
            last = None
            try:
                for row in self.conn.execute(self._scan_sql(), (position,)):
                    last = row[0]
                    yield row[1:]
                return
            except sqlite3.Error as exc:
                if not is_unreadable(exc):
                    raise
            if last is not None:
                position = last + 1
            found, row = self._first_from(position)
            if found:
                if row is None:
                    return
                yield row[1:]
                position = row[0] + 1
                continue
            end = self._end_of_damage(position)
            self.skipped.append((position, end - 1))
            position = end
        # Only reached when the last readable row has the largest possible rowid.

    def recheck_skipped(self) -> Iterator[tuple]:
        """Rows in the skipped spans that an index knows of and that can be read one by one.

        Call after `rows()` is exhausted; also fills `lost_rowids` and `unknown_loss`.
        """
        if not self.skipped:
            return
        known, complete = self._indexed_rowids_in_skipped()
        self.unknown_loss = not complete
        for rowid in sorted(known):
            try:
                row = self.conn.execute(self._select_sql("WHERE rowid = ?"), (rowid,)).fetchone()
            except sqlite3.Error as exc:
                if not is_unreadable(exc):
                    raise
                self.lost_rowids.append(rowid)
                continue
            if row is not None:  # a row the scan jumped over between two damaged spans
                yield row[1:]
            else:
                self.lost_rowids.append(rowid)  # the index names a row the table does not hold

    # ------------------------------------------------------------------------------------- helpers

    def _select_sql(self, where: str) -> str:
        # NOT INDEXED: rows come from the table's own b-tree, so a damaged index cannot hide them.
        return f"SELECT rowid, {', '.join(self.columns)} FROM {self.table} NOT INDEXED {where}"

    def _scan_sql(self) -> str:
        return self._select_sql("WHERE rowid >= ? ORDER BY rowid")

    def _first_from(self, position: int) -> tuple[bool, tuple | None]:
        """(True, the first row at or after `position`, or None at the end), or (False, None)."""
        try:
            return True, self.conn.execute(self._scan_sql() + " LIMIT 1", (position,)).fetchone()
        except sqlite3.Error as exc:
            if not is_unreadable(exc):
                raise
            return False, None

    def _lookup_works(self, position: int) -> bool:
        try:
            self.conn.execute(f"SELECT rowid FROM {self.table} NOT INDEXED WHERE rowid >= ? ORDER BY rowid "
                              "LIMIT 1", (position,)).fetchone()
        except sqlite3.Error as exc:
            if not is_unreadable(exc):
                raise
            return False
        return True

    def _end_of_damage(self, failing: int) -> int:
        """The first rowid after `failing` from which a lookup works (MAX_ROWID + 1 if none does).

        Galloping, then bisecting: about 2 * log2(span) lookups, so even a table whose root page is gone
        costs about 130 of them. A readable stretch between two damaged ones that the gallop jumps over
        is found again by `recheck_skipped`.
        """
        step, good = 1, None
        while good is None:
            probe = failing + step
            if probe > MAX_ROWID:
                if not self._lookup_works(MAX_ROWID):
                    return MAX_ROWID + 1
                good = MAX_ROWID
            elif self._lookup_works(probe):
                good = probe
            else:
                failing = probe
                step *= 2
        while good - failing > 1:  # failing's lookup fails, good's works
            middle = failing + (good - failing) // 2
            if self._lookup_works(middle):
                good = middle
            else:
                failing = middle
        return good

    def _indexed_rowids_in_skipped(self) -> tuple[set[int], bool]:
        """Rowids in the skipped spans according to the table's indexes; and whether one index was
        read whole (if none was, rows may have been lost that no index named)."""
        starts = [start for start, _ in self.skipped]
        known: set[int] = set()
        complete = False
        for index in self._index_names():
            try:
                for (rowid,) in self.conn.execute(
                        f"SELECT rowid FROM {self.table} INDEXED BY {quoted(index)}"):
                    slot = bisect.bisect_right(starts, rowid) - 1
                    if slot >= 0 and rowid <= self.skipped[slot][1]:
                        known.add(rowid)
            except sqlite3.Error as exc:  # a damaged index, or one the planner cannot use for this
                log.info("index %s of %s not usable for salvage: %s", index, self.table, exc)
                continue
            complete = complete or not self._is_partial(index)
        return known, complete

    def _index_names(self) -> list[str]:
        try:
            return [row[0] for row in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name",
                (self.table,))]
        except sqlite3.Error as exc:
            if not is_unreadable(exc):
                raise
            return []

    def _is_partial(self, index: str) -> bool:
        try:
            return any(row[4] for row in self.conn.execute("PRAGMA index_list(" + self.table + ")")
                       if row[1] == index)
        except sqlite3.Error:
            return True
