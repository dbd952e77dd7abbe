"""Work that waits for the window's first frame.

Start-up builds the whole window before anything is on screen. Background work begun while it is built
takes the GIL and a CPU core from it: reading the machine starts the llama.cpp probe (a second Python
process), and on the 2-core development machine the welcome page's advice, started in its constructor,
delayed the first paint by about 0.15 s (bench/startup.py; docs/performance.md, Start-up).

`after_first_paint(widget, callback)` calls back on the main thread once the widget's window has
painted. A window that is already on screen, or that is not shown by the time the event loop first
runs (a page built and never shown, as in tests), gets the call on that first turn; one shown but not
painted within `FALLBACK_MS` (started minimised) gets it then, so nothing waits on a frame that never
comes. The call is dropped with the widget.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

FALLBACK_MS = 2000


def after_first_paint(widget: QWidget, callback: Callable[[], None]) -> None:
    """Call `callback()` once, after the first paint of `widget`'s window (see the module's note)."""
    _AfterFirstPaint(widget, callback)


class _AfterFirstPaint(QObject):
    """A child of the widget that watches its window's paint events and calls back once.

    Its timers are its own children (not `QTimer.singleShot` with a context): deleted with it, whatever
    order Qt tears a window down in, so no timer can fire into a widget that is gone.
    """

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)  # its child: deleted with it, timers and all
        self._callback = callback
        self._window: QWidget | None = None
        self._done = False
        already_shown = widget.window().isVisible()
        self._soon = self._timer(0, self._fire if already_shown else self._first_turn)
        self._fallback = self._timer(FALLBACK_MS, self._fire)

    def _timer(self, interval_ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    def _first_turn(self) -> None:
        widget = self.parent()
        assert isinstance(widget, QWidget)
        window = widget.window()
        if not window.isVisible():  # nothing will be painted: no frame to wait for
            self._fire()
            return
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.Paint, QEvent.Type.Hide, QEvent.Type.Close) and not self._done:
            # Off the window at once: a Python filter still on a window that Qt tears down is called
            # with the half-destroyed window, and PySide crashes wrapping it. After the first paint, or a
            # hide or close before it (no frame is coming), nothing here needs the window's events.
            self._stop_watching()
            self._soon.timeout.disconnect()
            self._soon.timeout.connect(self._fire)
            self._soon.start()  # once this frame is out
        return False

    def _stop_watching(self) -> None:
        if self._window is not None and shiboken6.isValid(self._window):
            self._window.removeEventFilter(self)
        self._window = None

    def _fire(self) -> None:
        if self._done or not shiboken6.isValid(self):
            return
        self._done = True
        self._soon.stop()
        self._fallback.stop()
        self._stop_watching()
        self.deleteLater()
        self._callback()
