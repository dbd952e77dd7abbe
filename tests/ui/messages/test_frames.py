"""FrameClock: one flush per frame however many requests, slower frames when rendering is slow."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject

from app.ui.messages.frames import MAX_DELAY_MS, FrameClock


def test_many_requests_make_one_flush(qtbot) -> None:
    clock = FrameClock(interval_ms=10)
    owner = QObject()
    flushes = []
    for _ in range(100):
        clock.request(owner, lambda: flushes.append(1))
    with qtbot.waitSignal(clock.frameRendered, timeout=2_000):
        pass
    assert flushes == [1]
    assert not clock.has_pending()


def test_slow_frames_space_the_next_ones_out(qtbot) -> None:
    clock = FrameClock(interval_ms=10)
    owner = QObject()
    clock.request(owner, lambda: time.sleep(0.03))
    clock.flush_now()
    assert clock._delay_ms >= 50  # twice the 30 ms it took
    clock.request(owner, lambda: time.sleep(0.5))
    clock.flush_now()
    assert clock._delay_ms == MAX_DELAY_MS
    clock.request(owner, lambda: None)
    clock.flush_now()
    assert clock._delay_ms == 10


def test_a_deleted_owner_is_never_flushed(qtbot) -> None:
    clock = FrameClock(interval_ms=10)
    owner = QObject()
    flushes = []
    clock.request(owner, lambda: flushes.append(1))
    owner.deleteLater()
    qtbot.waitUntil(lambda: not clock.has_pending(), timeout=2_000)
    clock.flush_now()
    assert flushes == []


def test_frame_starting_comes_before_the_flushes(qtbot) -> None:
    clock = FrameClock(interval_ms=10)
    owner = QObject()
    order = []
    clock.frameStarting.connect(lambda: order.append("start"))
    clock.request(owner, lambda: order.append("flush"))
    clock.flush_now()
    assert order == ["start", "flush"]
