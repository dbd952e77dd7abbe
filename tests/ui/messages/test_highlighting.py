"""HighlightPump: jobs advance in slices when the loop is free; one request per owner."""

from __future__ import annotations

from PySide6.QtCore import QObject

from app.ui.messages.highlighting import HighlightPump
from app.ui.render.highlight import CodeHighlighter

CODE = "\n".join(f"x_{i} = [{i}, {i + 1}]  # comment {i}" for i in range(300))


def test_a_long_job_finishes_in_slices_with_the_whole_result(qtbot) -> None:
    pump = HighlightPump(slice_ms=1)
    highlighter = CodeHighlighter("default")
    owner = QObject()
    results = []
    slices = []
    original = pump._step
    pump._step = lambda budget: slices.append(budget) or original(budget)  # type: ignore[method-assign]
    pump.submit(owner, highlighter, CODE, "python", lambda job: results.append(job.html))
    qtbot.waitUntil(lambda: bool(results), timeout=20_000)
    assert results == [highlighter.highlight(CODE, "python")]
    assert len(slices) > 3, "a 300-line block takes several 1 ms slices"
    assert not pump.is_busy()


def test_a_new_request_replaces_the_old_one(qtbot) -> None:
    pump = HighlightPump()
    highlighter = CodeHighlighter("default")
    owner = QObject()
    results = []
    pump.submit(owner, highlighter, "a = 1", "python", lambda job: results.append(job.code))
    pump.submit(owner, highlighter, "a = 2", "python", lambda job: results.append(job.code))
    pump.run_all()
    assert results == ["a = 2"]


def test_a_deleted_owner_gets_no_callback(qtbot) -> None:
    pump = HighlightPump()
    owner = QObject()
    results = []
    pump.submit(owner, CodeHighlighter("default"), CODE, "python", lambda job: results.append(job))
    owner.deleteLater()
    qtbot.waitUntil(lambda: not pump.is_busy(), timeout=5_000)
    assert results == []
