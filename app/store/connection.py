"""SQLite connections for the store: one per thread, all set up alike, and the transaction helpers.

The UI reads from the Qt main thread while the turn loop writes from a worker thread. WAL lets a reader
and a writer work at the same time, but only on separate connections, so each thread gets its own and
no thread ever waits on a Python lock held by another thread's query. Connections run in autocommit
(`isolation_level=None`) and every multi-statement write takes `BEGIN IMMEDIATE`: a deferred transaction
that later needs to write can fail with "database is locked" at once, whatever the busy timeout.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from app.store.errors import StoreError

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 10.0  # how long closing waits for store calls other threads are running


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    # check_same_thread=False only so that close_all() may close another thread's connection at shutdown;
    # each connection is otherwise used by the thread that made it.
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys = ON")
    # NORMAL in WAL mode: a commit survives the app being killed; only a power cut can lose the last ones.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def connect_read_only(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A connection that never writes the file nor its -wal (it still reads the -wal's commits).

    Closing the last read-write connection checkpoints the -wal into the file; a read-only one leaves
    both as they are, which is what looking at a possibly damaged file needs.
    """
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s,
                           isolation_level=None, check_same_thread=False)


class ThreadConnections:
    """Hands each thread its own connection to one database file; closes them all at the end."""

    def __init__(self, path: Path, busy_timeout_s: float) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._by_thread: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False
        # Store calls running now, on any thread: close_all() waits for them, since closing a connection
        # under a query another thread is running frees what SQLite is still reading (a crash, not an error).
        self._active = 0
        self._idle = threading.Condition()
        self._shut = False  # the connections are closed (after the calls in progress ended)

    @property
    def closed(self) -> bool:
        return self._closed

    def adopt(self, conn: sqlite3.Connection) -> None:
        """Make an already open connection the calling thread's (the one that opened the store)."""
        self._register(conn)

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """Around every store call: refused once closing began; closing waits until the call is done."""
        with self._idle:
            if self._closed:
                raise StoreError("The conversation store was closed; open it again to use it.")
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                if not self._active:
                    self._idle.notify_all()

    def get(self) -> sqlite3.Connection:
        # Refused only once the connections are gone: a call that began before closing finishes.
        conn = getattr(self._local, "conn", None)
        if conn is not None and not self._shut:
            return conn
        if self._shut:
            raise StoreError("The conversation store was closed; open it again to use it.")
        conn = connect(self._path, self._busy_timeout_s)
        self._register(conn)
        return conn

    def _register(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            # Threads come and go (thread pools); close what dead ones left behind.
            for thread in [t for t in self._by_thread if not t.is_alive()]:
                self._by_thread.pop(thread).close()
            self._by_thread[threading.current_thread()] = conn
        self._local.conn = conn

    def close_all(self, wait_s: float = CLOSE_WAIT_S) -> None:
        with self._idle:
            self._closed = True  # no new call starts from here on
            if not self._idle.wait_for(lambda: self._active == 0, timeout=wait_s):
                log.warning("closing the store while %d call(s) still run after %.0f s", self._active, wait_s)
        with self._lock:
            self._shut = True
            connections = list(self._by_thread.values())
            self._by_thread.clear()
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error as exc:
                log.warning("closing a store connection failed: %s", exc)


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (COMMIT itself can fail when the disk is full)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


@contextlib.contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Several SELECTs that must see the same state (WAL gives a reader a snapshot until it ends)."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        _rollback(conn)


def _rollback(conn: sqlite3.Connection) -> None:
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:  # the original error matters more than this one
        log.warning("rollback failed: %s", exc)
