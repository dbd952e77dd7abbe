"""Full garbage collections wait while an answer streams, and one runs when it ends."""

from __future__ import annotations

import gc

from PySide6.QtCore import Qt

from app.ui.gc_policy import DEFERRED_FULL_THRESHOLD, StreamingCollector
from tests.fixtures.scripted_engine import harmony_reply
from tests.ui.conftest import WAIT_MS


def full_collections(callback_log: list[int]):
    def on_gc(phase: str, info: dict) -> None:
        if phase == "stop":
            callback_log.append(info["generation"])
    return on_gc


def test_full_collections_are_deferred_then_one_runs(qtbot) -> None:
    before = gc.get_threshold()
    collector = StreamingCollector()
    collector.stream_started()
    assert gc.get_threshold() == (before[0], before[1], DEFERRED_FULL_THRESHOLD)
    generations: list[int] = []
    hook = full_collections(generations)
    gc.callbacks.append(hook)
    kept = []
    try:
        # Objects that survive, as a long answer's widgets and strings do: with the default thresholds
        # this loop sets off several full collections (measured: 4).
        for _ in range(200):
            kept.append([[object()] for _ in range(2000)])
        assert 2 not in generations
        collector.stream_finished()
        assert gc.get_threshold() == before
        qtbot.waitUntil(lambda: 2 in generations, timeout=2_000)
    finally:
        gc.callbacks.remove(hook)
        gc.set_threshold(*before)
        kept.clear()


def test_without_deferring_the_same_work_sets_off_full_collections() -> None:
    """The control for the test above: the loop is enough to start a full collection."""
    generations: list[int] = []
    hook = full_collections(generations)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults, whatever an earlier test left
    gc.collect()
    gc.callbacks.append(hook)
    kept = []
    try:
        for _ in range(200):
            kept.append([[object()] for _ in range(2000)])
    finally:
        gc.callbacks.remove(hook)
        gc.set_threshold(*before)
        kept.clear()
    assert 2 in generations


def test_the_window_defers_them_exactly_while_a_turn_runs(qtbot, make_window, engine) -> None:
    window = make_window()
    collector = window.controller.collector
    assert not collector.is_deferring()
    engine.tokens_per_second = 200
    engine.queue(harmony_reply([("final", "A slow answer. " * 40)]))
    window.composer.set_text("Go")
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.controller.busy, timeout=WAIT_MS)
    assert collector.is_deferring() and gc.get_threshold()[2] == DEFERRED_FULL_THRESHOLD
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=WAIT_MS)
    assert not collector.is_deferring() and gc.get_threshold()[2] != DEFERRED_FULL_THRESHOLD
