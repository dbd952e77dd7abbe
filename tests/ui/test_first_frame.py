"""Work that waits for the window's first frame runs after it, and never waits for a frame that is not
coming."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.ui.first_frame import after_first_paint
from tests.ui.conftest import WAIT_MS


class PaintLog(QObject):
    """Writes "paint" into `log` for each paint of `window`."""

    def __init__(self, window: QWidget, log: list[str]) -> None:
        super().__init__()
        self._window = window
        self._log = log

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._log.append("paint")
        return False


def test_a_window_shown_at_start_paints_before_the_work_starts(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    page = QLabel("page", window)
    QVBoxLayout(window).addWidget(page)
    log: list[str] = []
    paints = PaintLog(window, log)
    # On the window itself, not the application: an application-wide Python filter also sees events of
    # objects that earlier tests left half-destroyed, and PySide crashes wrapping them.
    window.installEventFilter(paints)
    try:
        after_first_paint(page, lambda: log.append("work"))  # asked while the window is being built
        window.show()
        qtbot.waitUntil(lambda: "work" in log, timeout=WAIT_MS)
    finally:
        window.removeEventFilter(paints)
    assert log[0] == "paint" and log.count("work") == 1


def test_a_widget_that_is_never_shown_gets_the_call_on_the_first_turn_of_the_loop(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    calls: list[str] = []
    after_first_paint(widget, lambda: calls.append("work"))
    assert calls == []  # never during the call itself
    qtbot.waitUntil(lambda: calls == ["work"], timeout=1000)  # well before the fallback (2 s)


def test_a_window_already_on_screen_gets_the_call_on_the_next_turn(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    calls: list[str] = []
    after_first_paint(window, lambda: calls.append("work"))
    qtbot.waitUntil(lambda: calls == ["work"], timeout=1000)


def test_the_call_is_dropped_with_the_widget(qtbot) -> None:
    widget = QWidget()
    calls: list[str] = []
    after_first_paint(widget, lambda: calls.append("work"))
    shiboken6.delete(widget)
    qtbot.wait(100)
    assert calls == []
