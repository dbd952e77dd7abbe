"""Full garbage collections wait while an answer streams, and one runs when it ends."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import Qt

from app.engine.testing import harmony_reply
from app.ui.gc_policy import DEFERRED_FULL_THRESHOLD, StreamingCollector
from tests.ui.conftest import WAIT_MS

# Run in a fresh interpreter: whether CPython starts a full collection depends on how many objects
# already live (a full pass waits until the survivors since the last one are a quarter of them), which
# in the test process depends on every test before.
SURVIVORS_SCRIPT = textwrap.dedent("""
    import gc
    from app.ui.gc_policy import StreamingCollector

    def full_collections_while(work):
        seen = []
        hook = lambda phase, info: seen.append(info["generation"]) if phase == "stop" else None
        gc.collect()
        gc.callbacks.append(hook)
        kept = work()
        gc.callbacks.remove(hook)
        del kept
        return seen.count(2)

    def survivors():  # what a long answer leaves alive: many small containers
        return [[[object()] for _ in range(2000)] for _ in range(200)]

    collector = StreamingCollector()
    collector.stream_started()
    deferred = full_collections_while(survivors)
    collector.stream_finished()
    plain = full_collections_while(survivors)
    print(deferred, plain)
""")


def test_while_streaming_no_full_collection_runs_that_otherwise_would() -> None:
    result = subprocess.run([sys.executable, "-c", SURVIVORS_SCRIPT], capture_output=True, text=True,
                            timeout=120, check=True, cwd=Path(__file__).resolve().parents[2])
    deferred, plain = (int(n) for n in result.stdout.split())
    assert plain > 0, "the control: the same work sets off full collections with the default thresholds"
    assert deferred == 0


def test_thresholds_are_restored_and_one_full_collection_follows(qtbot) -> None:
    before = gc.get_threshold()
    collector = StreamingCollector()
    collector.stream_started()
    assert gc.get_threshold() == (before[0], before[1], DEFERRED_FULL_THRESHOLD)
    generations: list[int] = []

    def hook(phase: str, info: dict) -> None:
        if phase == "stop":
            generations.append(info["generation"])

    gc.callbacks.append(hook)
    try:
        collector.stream_finished()
        assert gc.get_threshold() == before
        assert 2 not in generations, "not at once: after the last frame"
        qtbot.waitUntil(lambda: 2 in generations, timeout=2_000)
    finally:
        gc.callbacks.remove(hook)
        gc.set_threshold(*before)


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
