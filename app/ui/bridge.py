"""Hand-over points between background threads and the Qt main thread.

`EventBridge` turns a plain-Python listener callback (the chat, downloads and tool sessions call theirs
from their own threads) into a Qt signal received on the main thread. `run_in_background` runs a
blocking call (loading a model, extracting a document) on a worker thread and delivers its result or
its exception to callbacks on the main thread. Widgets never touch a background thread themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)


class EventBridge(QObject):
    """Call `bridge.post(event)` from any thread; `received(event)` fires on the bridge's thread."""

    received = Signal(object)

    def post(self, event: object) -> None:
        # Emitting from another thread queues the call for the receiver's thread: Qt does the hand-over.
        self.received.emit(event)


_ACTIVE: set[BackgroundCall] = set()


class _Delivery(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class BackgroundCall(QObject):
    """One blocking call on a daemon thread; `on_done(result)` or `on_error(exc)` on the main thread."""

    def __init__(self, call: Callable[[], Any], on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], None] | None, parent: QObject | None = None,
                 name: str = "background") -> None:
        super().__init__(parent)
        self._call = call
        self._delivery = _Delivery()
        self._delivery.moveToThread(self.thread())
        if on_done is not None:
            self._delivery.succeeded.connect(on_done, Qt.ConnectionType.QueuedConnection)
        if on_error is not None:
            self._delivery.failed.connect(on_error, Qt.ConnectionType.QueuedConnection)
        self._delivery.succeeded.connect(self._finished, Qt.ConnectionType.QueuedConnection)
        self._delivery.failed.connect(self._finished, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.done = False

    def start(self) -> BackgroundCall:
        _ACTIVE.add(self)  # kept alive until its result is delivered, whoever holds it
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self._call()
        except BaseException as exc:  # delivered to the main thread, which decides what the user sees
            log.debug("background call failed", exc_info=True)
            self._delivery.failed.emit(exc)
        else:
            self._delivery.succeeded.emit(result)

    @Slot(object)
    def _finished(self, _: object) -> None:
        self.done = True
        _ACTIVE.discard(self)


def run_in_background(call: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
                      on_error: Callable[[BaseException], None] | None = None,
                      parent: QObject | None = None, name: str = "background") -> BackgroundCall:
    return BackgroundCall(call, on_done, on_error, parent, name).start()
