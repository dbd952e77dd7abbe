"""Download progress for widgets: the manager's listener callbacks, on the main thread, at a calm pace.

`DownloadManager` calls its listeners on the download thread, as often as its `progress_interval`
allows (tests set 0: every 16 kB block). `DownloadFeed` keeps only the newest snapshot of each
download and hands them over through an `EventBridge`, at most once per `interval_ms` while bytes
flow; a change of state (paused, verifying, failed, done) goes out at once, so buttons answer a click
without waiting for the next tick. A snapshot is never older than one already delivered.

The listener side never blocks and never touches a widget: it stores the snapshot under a lock and,
only when nothing is waiting already, posts one wake-up to the main thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.models import DownloadManager, DownloadProgress, DownloadState
from app.ui.bridge import EventBridge

DEFAULT_INTERVAL_MS = 150


class _Inbox:
    """The newest snapshot per download, filled on the download thread and emptied on the main thread."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._wake = wake
        self._pending: dict[str, DownloadProgress] = {}
        self._states: dict[str, DownloadState] = {}
        self._newest: dict[str, int] = {}
        self._woken = False
        self._urgent = False
        self._closed = False

    def put(self, progress: DownloadProgress) -> None:
        with self._lock:
            if self._closed or progress.sequence <= self._newest.get(progress.id, 0):
                return
            self._newest[progress.id] = progress.sequence
            self._pending[progress.id] = progress
            changed = self._states.get(progress.id) != progress.state
            self._states[progress.id] = progress.state
            if changed or not self._woken:
                self._urgent = self._urgent or changed
                self._woken = True
                # Posting under the lock: close() cannot slip in between, so nothing is posted to a
                # bridge that is being destroyed. The post is a queued signal, it returns at once.
                self._wake()

    def take(self) -> list[DownloadProgress]:
        with self._lock:
            taken = list(self._pending.values())
            self._pending.clear()
            self._woken = self._urgent = False
            return taken

    @property
    def urgent(self) -> bool:
        with self._lock:
            return self._urgent

    @property
    def waiting(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()


class DownloadFeed(QObject):
    """Progress of every download of one manager, for widgets on the main thread.

    Signals:
        progressed(object): the newest `DownloadProgress` of one download. While bytes arrive, each
            download's snapshot comes at most once per `interval_ms`; state changes come at once.
    """

    progressed = Signal(object)

    def __init__(self, manager: DownloadManager, interval_ms: int = DEFAULT_INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = EventBridge(self)
        # Queued even when the manager calls from the main thread (pause, cancel): the listener must
        # return before any widget work happens, and it holds the inbox lock while posting.
        self._bridge.received.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._inbox = _Inbox(lambda: self._bridge.post(None))
        self._cooldown = QTimer(self)
        self._cooldown.setSingleShot(True)
        self._cooldown.setInterval(interval_ms)
        self._cooldown.timeout.connect(self._on_cooldown)
        inbox = self._inbox
        remove = manager.add_listener(inbox.put)

        detached = threading.Event()

        def detach() -> None:
            if not detached.is_set():
                detached.set()
                inbox.close()
                remove()

        self._detach = detach
        # destroyed fires before the children (the bridge) go: from then on nothing is posted.
        self.destroyed.connect(detach)

    def close(self) -> None:
        """Stop listening (also done when the feed is destroyed)."""
        self._detach()
        self._cooldown.stop()

    def _on_wake(self, _: object = None) -> None:
        if self._inbox.urgent or not self._cooldown.isActive():
            self._flush()
        # else: the cooldown's end delivers what arrived meanwhile

    def _on_cooldown(self) -> None:
        if self._inbox.waiting:
            self._flush()

    def _flush(self) -> None:
        snapshots = self._inbox.take()
        if not snapshots:
            return
        self._cooldown.start()
        for snapshot in snapshots:
            self.progressed.emit(snapshot)
