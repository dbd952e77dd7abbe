"""The frame clock: text deltas arrive up to ~500 per second, the view renders at most once per frame.

Widgets call `request(owner, flush)` on every delta (cheap: a dict write); one single-shot timer runs
every pending flush once per frame. If a frame's rendering took long, the next frame waits longer
(twice the render time), so rendering can never take more than about a third of the event loop and
input always gets through.

30 frames a second by default: on the 20,000-token benchmark (docs/performance.md) 60 took 37% of the
GUI thread and 30 took 28%, both flat over the answer; at 500 tokens a second a frame then adds about
17 tokens, which still reads as a continuous stream.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

FRAME_INTERVAL_MS = 33
MAX_DELAY_MS = 200


class FrameClock(QObject):
    """Coalesces render requests to the display rate.

    Signals:
        frameStarting(): a frame is about to render (the previous one has been painted by now).
        frameRendered(float): seconds one frame's flushes took (for benchmarks and diagnostics).
    """

    frameStarting = Signal()
    frameRendered = Signal(float)

    def __init__(self, interval_ms: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms if interval_ms is not None else FRAME_INTERVAL_MS
        self._delay_ms = self.interval_ms
        self._pending: dict[int, Callable[[], None]] = {}
        self._watched: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def request(self, owner: QObject, flush: Callable[[], None]) -> None:
        """Run flush() at the next frame (once, however often it is requested before then)."""
        key = id(owner)
        if key not in self._watched:
            self._watched.add(key)
            # A widget deleted before its frame must not be flushed afterwards.
            owner.destroyed.connect(functools.partial(self._forget, key))
        self._pending[key] = flush
        if not self._timer.isActive():
            self._timer.start(self._delay_ms)

    def flush_now(self) -> None:
        """Render everything pending at once (end of a turn, tests)."""
        self._timer.stop()
        self._tick()

    def has_pending(self) -> bool:
        return bool(self._pending)

    def _forget(self, key: int, *_: object) -> None:
        self._pending.pop(key, None)
        self._watched.discard(key)

    def _tick(self) -> None:
        if not self._pending:
            return
        self.frameStarting.emit()
        start = time.perf_counter()
        pending, self._pending = self._pending, {}
        for flush in pending.values():
            flush()
        spent = time.perf_counter() - start
        self._delay_ms = max(self.interval_ms, min(MAX_DELAY_MS, round(spent * 2000)))
        self.frameRendered.emit(spent)
        if self._pending and not self._timer.isActive():
            self._timer.start(self._delay_ms)
