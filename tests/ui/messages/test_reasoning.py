"""ReasoningPane: open while it streams, then one line saying how long it took; the user can reopen it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.messages.reasoning import THINKING, ReasoningPane
from tests.ui.messages.conftest import settle
from tests.ui.streaming import stream_text


def test_streams_open_then_collapses_to_its_duration(qtbot, context) -> None:
    pane = ReasoningPane(context)
    qtbot.addWidget(pane)
    pane.show()
    stream_text(qtbot, pane.append_text, "The user wants **two** things. Check the docs first.")
    settle(context)
    assert pane.is_streaming() and pane.is_expanded()
    assert pane.header_text() == THINKING
    assert "<strong>two</strong>" in pane.view().piece_widgets()[0].html
    pane.finish(12.3)
    assert not pane.is_streaming() and not pane.is_expanded()
    assert pane.header_text() == "Thought for 12 s"
    assert pane.text() == "The user wants **two** things. Check the docs first."


def test_header_click_toggles(qtbot, context) -> None:
    pane = ReasoningPane(context)
    qtbot.addWidget(pane)
    pane.show()
    pane.append_text("thinking")
    pane.finish(1.5)
    qtbot.mouseClick(pane._header, Qt.MouseButton.LeftButton)
    assert pane.is_expanded()
    qtbot.mouseClick(pane._header, Qt.MouseButton.LeftButton)
    assert not pane.is_expanded()


def test_reasoning_text_is_muted(qtbot, context) -> None:
    pane = ReasoningPane(context)
    qtbot.addWidget(pane)
    pane.append_text("quiet text")
    settle(context)
    label = pane.view().piece_widgets()[0]
    assert label.property("muted") is True


def test_a_collapsed_pane_renders_only_when_opened(qtbot, context) -> None:
    pane = ReasoningPane(context)
    qtbot.addWidget(pane)
    pane.show()
    pane.append_text("Loaded from history: **long** reasoning.")
    pane.finish(3.0)
    settle(context)
    assert pane.view().piece_widgets() == [], "nothing is rendered behind a closed pane"
    pane.set_expanded(True)
    assert "<strong>long</strong>" in pane.view().piece_widgets()[0].html
