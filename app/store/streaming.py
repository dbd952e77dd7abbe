"""`MessageStream`: the text of the message being generated, written to the store as it grows.

The turn loop appends each decoded delta; the stream writes the whole text (one UPDATE) when a second
has passed since the last write, and once more at the end with the final status. So a crash loses at
most the last second of an answer, and a fast generation costs about one small write per second, not
one per token. If a write fails (disk full, database busy) the error is raised to the caller, the text
stays here in memory, and the next write, a second later, tries again with all of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.store.records import MessageStatus

if TYPE_CHECKING:
    from app.store.store import Store

FLUSH_INTERVAL_S = 1.0


class MessageStream:
    """Paces the writes of one streaming message (a message appended with status "streaming")."""

    def __init__(self, store: Store, message_id: int, initial: str = "", *,
                 interval_s: float = FLUSH_INTERVAL_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self.message_id = message_id
        self._parts: list[str] = [initial] if initial else []
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._last_write = monotonic()
        self._unwritten = False
        self.writes = 0  # successful writes so far

    @property
    def content(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def unwritten(self) -> bool:
        """True while the store holds less text than this stream."""
        return self._unwritten

    def append(self, delta: str) -> bool:
        """Add text; write it out if the last write is a second old. Returns True if it wrote."""
        if delta:
            self._parts.append(delta)
            self._unwritten = True
        if self._unwritten and self._monotonic() - self._last_write >= self._interval_s:
            self._write("streaming", None)
            return True
        return False

    def flush(self) -> None:
        """Write now if anything is unwritten (e.g. from a timer while no tokens arrive)."""
        if self._unwritten:
            self._write("streaming", None)

    def finish(self, status: MessageStatus = "complete", error: str | None = None) -> None:
        """The last write: the whole text with its final status ("complete", "interrupted", "error")."""
        self._write(status, error)

    def _write(self, status: MessageStatus, error: str | None) -> None:
        # Restart the clock even if the write fails, so a full disk is retried once a second, not per token.
        self._last_write = self._monotonic()
        self._store.update_message_content(self.message_id, self.content, status, error)
        self._unwritten = False
        self.writes += 1
