"""ToolCallCard: arguments in full before anything runs, approval only while waiting, result and time."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.ui.messages.tool_call import STATE_LABELS, ToolCallCard
from tests.ui.messages.conftest import settle


def card(qtbot, context, **kwargs) -> ToolCallCard:
    call_id, tool_name = kwargs.pop("call_id", "call-7"), kwargs.pop("tool_name", "python")
    widget = ToolCallCard(context, call_id, tool_name, **kwargs)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_waiting_card_asks_and_reports_each_answer_with_the_call_id(qtbot, context) -> None:
    widget = card(qtbot, context, arguments="print('hi')", state="waiting_approval")
    assert widget.is_approval_visible()
    assert widget.state_text() == "Needs approval"
    for button, signal in ((widget.approve_button, widget.approveRequested),
                           (widget.deny_button, widget.denyRequested),
                           (widget.always_button, widget.alwaysAllowRequested)):
        with qtbot.waitSignal(signal) as answered:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert answered.args == ["call-7"]


@pytest.mark.parametrize("state", ["pending", "running", "done", "failed", "denied"])
def test_buttons_exist_only_while_waiting(qtbot, context, state) -> None:
    widget = card(qtbot, context, state=state)
    assert not widget.is_approval_visible()
    assert widget.state_text() == STATE_LABELS[state]
    widget.set_state("waiting_approval")
    assert widget.is_approval_visible()
    widget.set_state(state)
    assert not widget.is_approval_visible()


def test_json_arguments_are_shown_whole_and_pretty(qtbot, context) -> None:
    arguments = {"query": "weather in Oslo", "sources": [f"site-{i}.example" for i in range(40)]}
    widget = card(qtbot, context, tool_name="browser.search", arguments=json.dumps(arguments),
                  state="waiting_approval")
    shown = widget.shown_arguments()
    assert json.loads(shown) == arguments
    assert "site-39.example" in widget._arguments_view.code_text_widget().toPlainText()
    assert shown.count("\n") > 40


def test_python_arguments_stream_in_raw(qtbot, context) -> None:
    widget = card(qtbot, context)
    for part in ("import math\n", "print(math", ".pi)"):
        widget.append_arguments(part)
    assert widget.shown_arguments() == "import math\nprint(math.pi)"
    widget.set_state("running")
    settle(context)
    assert widget._arguments_view.language() == "python"
    assert widget.shown_arguments() == "import math\nprint(math.pi)"


def test_result_is_collapsed_until_asked_and_open_on_failure(qtbot, context) -> None:
    widget = card(qtbot, context, state="running")
    widget.set_state("done")
    widget.set_result('{"temperature": 21}')
    widget.set_duration(1.25)
    assert widget.duration_text() == "1.2 s"
    assert not widget.is_result_expanded()
    qtbot.mouseClick(widget._result_toggle, Qt.MouseButton.LeftButton)
    assert widget.is_result_expanded()
    assert widget._result_view.toPlainText() == '{\n  "temperature": 21\n}'
    failing = card(qtbot, context, call_id="call-8", state="running")
    failing.set_state("failed")
    failing.set_result("Traceback: ZeroDivisionError")
    assert failing.is_result_expanded()


def test_unknown_state_is_refused(qtbot, context) -> None:
    widget = card(qtbot, context)
    with pytest.raises(ValueError):
        widget.set_state("exploded")  # type: ignore[arg-type]
