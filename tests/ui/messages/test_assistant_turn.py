"""AssistantTurnWidget: a scripted engine's stream lands in the right widgets, in order; endings show."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.ui.messages.assistant_turn import AssistantTurnWidget
from app.ui.messages.code_block import CodeBlockWidget
from app.ui.messages.markdown_view import MarkdownView, ProseLabel
from app.ui.messages.reasoning import ReasoningPane
from app.ui.messages.tool_call import ToolCallCard
from tests.ui.messages.conftest import settle
from tests.ui.streaming import stream_text

REASONING = "Need the weather. Call `get_weather` for Oslo, then answer with a table."
PREAMBLE = "Let me look that up."
ARGUMENTS = '{"city": "Oslo", "days": 2}'
ANSWER = (
    "## Oslo, next two days\n\n| Day | High |\n|---|---|\n| Mon | 14 °C |\n| Tue | 17 °C |\n\n"
    "Pack a jacket:\n\n```python\nprint('☂')\n```\n"
)


def turn(qtbot, context) -> AssistantTurnWidget:
    widget = AssistantTurnWidget(context)
    qtbot.addWidget(widget)
    widget.resize(700, 600)
    widget.show()
    return widget


def test_a_streamed_turn_renders_reasoning_a_tool_card_and_the_answer(qtbot, context) -> None:
    widget = turn(qtbot, context)
    assert widget.is_waiting()
    stream_text(qtbot, widget.append_reasoning, REASONING)
    widget.finish_reasoning(4.2)
    stream_text(qtbot, widget.append_preamble, PREAMBLE)
    widget.add_tool_call("call-1", "functions.get_weather", state="pending")
    stream_text(qtbot, lambda text: widget.append_tool_arguments("call-1", text), ARGUMENTS)
    widget.update_tool_call("call-1", state="running")
    widget.update_tool_call("call-1", state="done", result='{"ok": true}', duration=0.8)
    stream_text(qtbot, widget.append_answer, ANSWER)
    widget.finish()
    settle(context)

    reasoning, preamble, card, answer = widget.items()
    assert isinstance(reasoning, ReasoningPane) and reasoning.text() == REASONING
    assert reasoning.header_text() == "Thought for 4.2 s" and not reasoning.is_expanded()
    assert isinstance(preamble, MarkdownView) and preamble.text() == PREAMBLE
    assert isinstance(card, ToolCallCard) and card.state() == "done" and card.arguments() == ARGUMENTS
    assert card.shown_arguments() == '{\n  "city": "Oslo",\n  "days": 2\n}'
    assert card.duration_text() == "0.8 s"
    assert answer is widget.answer_view() and widget.answer_text() == ANSWER
    prose, code = answer.piece_widgets()
    assert isinstance(prose, ProseLabel) and isinstance(code, CodeBlockWidget)
    assert "<h2>Oslo, next two days</h2>" in prose.html and "<td>14 °C</td>" in prose.html
    assert code.code() == "print('☂')\n"
    assert not widget.is_waiting() and widget.status() == "complete" and widget.notice_text() == ""


def test_copy_sends_the_answer_markdown_and_regenerate_asks(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.append_answer("**Yes.**")
    widget.finish()
    with qtbot.waitSignal(widget.copyRequested) as copied:
        qtbot.mouseClick(widget.copy_button, Qt.MouseButton.LeftButton)
    assert copied.args == ["**Yes.**"]
    with qtbot.waitSignal(widget.regenerateRequested):
        qtbot.mouseClick(widget.regenerate_button, Qt.MouseButton.LeftButton)


def test_actions_appear_only_when_the_turn_is_over(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.append_answer("partial")
    assert not widget.copy_button.isVisible()
    widget.finish()
    assert widget.copy_button.isVisible() and widget.regenerate_button.isVisible()
    widget.set_regenerate_enabled(False)
    assert not widget.regenerate_button.isVisible()


def test_interrupted_turn_keeps_its_text_and_says_so(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.append_reasoning("still thinking")
    widget.append_answer("Half an ans")
    widget.finish("interrupted")
    settle(context)
    assert widget.answer_text() == "Half an ans"
    assert widget.notice_text().startswith("Stopped")
    assert isinstance(widget.items()[-1], QLabel)
    pane = widget.items()[0]
    assert isinstance(pane, ReasoningPane) and not pane.is_streaming()


def test_failed_turn_shows_the_engine_message(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.finish("failed", detail="Not enough memory for this context size.")
    assert widget.notice_text() == ("The model failed before finishing. "
                                    "Not enough memory for this context size.")
    assert not widget.copy_button.isEnabled()


def test_turn_without_a_final_answer_shows_the_last_text(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.append_reasoning("I should answer 42.")
    widget.finish("no_answer", last_text="I should answer 42.")
    settle(context)
    notice = widget.items()[1]
    assert isinstance(notice, QLabel) and "without a final answer" in notice.text()
    assert widget.items()[2] is widget.answer_view()
    assert widget.answer_text() == "I should answer 42."


def test_tool_card_signals_come_out_of_the_turn(qtbot, context) -> None:
    widget = turn(qtbot, context)
    card = widget.add_tool_call("c9", "python", "1+1", "waiting_approval")
    with qtbot.waitSignal(widget.approveRequested) as approved:
        qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    assert approved.args == ["c9"]


def test_reasoning_can_be_hidden_and_clear_starts_over(qtbot, context) -> None:
    widget = turn(qtbot, context)
    widget.append_reasoning("hidden thoughts")
    widget.set_reasoning_visible(False)
    assert not widget.items()[0].isVisible()
    widget.append_reasoning(" more")
    widget.clear()
    assert widget.items() == [] and widget.is_waiting() and widget.answer_text() == ""
    widget.append_reasoning("new")
    assert not widget.items()[0].isVisible(), "the setting holds for new panes"
