"""ChatView: turns in a column, every action out as one signal with its id, following the bottom."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QPalette

from app.ui.messages.attachment_chip import AttachmentChipData
from app.ui.messages.chat_view import ChatView
from app.ui.messages.reasoning import ReasoningPane
from app.ui.theme import DARK, Theme


def view(qtbot, theme) -> ChatView:
    widget = ChatView(theme, frame_interval_ms=16)
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_turns_are_added_found_and_removed(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    first = chat.add_turn("t1", "first", [AttachmentChipData("a.pdf", pages=2)])
    chat.add_turn("t2", "second")
    chat.add_turn("t3", "third")
    assert chat.turn("t1") is first and first.user.text() == "first"
    assert [t.turn_id for t in chat.turns()] == ["t1", "t2", "t3"]
    chat.remove_turns_from("t2")
    assert [t.turn_id for t in chat.turns()] == ["t1"] and chat.turn("t3") is None
    chat.clear()
    assert chat.turns() == []


def test_every_action_comes_out_with_its_id(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    turn = chat.add_turn("t1", "hello")
    card = turn.assistant.add_tool_call("call-1", "python", "1", "waiting_approval")
    turn.assistant.append_answer("ok")
    turn.assistant.finish()
    def click(button):
        return lambda: qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    cases = [
        (chat.editRequested, click(turn.user.edit_button), ["t1"]),
        (chat.regenerateRequested, click(turn.assistant.regenerate_button), ["t1"]),
        (chat.copyRequested, click(turn.user.copy_button), ["hello"]),
        (chat.approveRequested, click(card.approve_button), ["call-1"]),
        (chat.denyRequested, click(card.deny_button), ["call-1"]),
        (chat.alwaysAllowRequested, click(card.always_button), ["call-1"]),
        (chat.linkClicked, lambda: turn.assistant.answer_view().linkClicked.emit(QUrl("https://a.example")),
         [QUrl("https://a.example")]),
    ]
    for signal, act, expected in cases:
        with qtbot.waitSignal(signal) as caught:
            act()
        assert caught.args == expected


def test_follows_the_bottom_until_the_user_scrolls_up(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    assistant = chat.add_turn("t1", "write a lot").assistant
    bar = chat.verticalScrollBar()
    for index in range(40):
        assistant.append_answer(f"Paragraph {index} of a long answer that keeps on going.\n\n")
    qtbot.waitUntil(lambda: bar.maximum() > 300 and bar.value() == bar.maximum(), timeout=5_000)
    assert chat.is_following() and not chat._jump.isVisible()

    bar.setValue(bar.maximum() - 200)  # the user scrolls up to read
    assert not chat.is_following()
    assert chat._jump.isVisible()
    value = bar.value()
    for index in range(10):
        assistant.append_answer(f"More text {index} arriving while the user reads.\n\n")
    old_maximum = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > old_maximum, timeout=5_000)
    qtbot.wait(100)
    assert bar.value() == value, "the view stays where the user put it"

    qtbot.mouseClick(chat._jump, Qt.MouseButton.LeftButton)
    assert chat.is_following() and bar.value() == bar.maximum()
    assistant.append_answer("And the end.\n")
    old_maximum = bar.maximum()
    qtbot.waitUntil(lambda: bar.maximum() > old_maximum and bar.value() == bar.maximum(), timeout=5_000)


def test_theme_change_restyles_and_rerenders(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    turn = chat.add_turn("t1", "hi")
    turn.assistant.append_answer("Some `code`.")
    turn.assistant.finish()
    dark = Theme(DARK, theme.font_px, theme.font_family, theme.mono_family)
    chat.set_theme(dark)
    assert chat.widget().palette().color(QPalette.ColorRole.Window).name() == DARK.window
    assert DARK.code_background in chat.styleSheet()
    label = turn.assistant.answer_view().piece_widgets()[0]
    assert DARK.inline_code_background in label.text()


def test_reasoning_visibility_applies_to_all_turns(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    chat.add_turn("t1", "a").assistant.append_reasoning("thought one")
    chat.set_reasoning_visible(False)
    chat.add_turn("t2", "b").assistant.append_reasoning("thought two")
    panes = chat.findChildren(ReasoningPane)
    assert len(panes) == 2 and not any(pane.isVisible() for pane in panes)


def test_only_the_latest_interrupted_answer_offers_continue(qtbot, theme) -> None:
    chat = view(qtbot, theme)
    first = chat.add_turn("t1", "first")
    first.assistant.append_answer("cut short")
    first.assistant.finish("interrupted")
    assert not first.assistant.continue_button.isHidden()
    with qtbot.waitSignal(chat.continueRequested) as asked:
        first.assistant.continue_button.click()
    assert asked.args == ["t1"]

    chat.add_turn("t2", "second")
    assert first.assistant.continue_button.isHidden()

    finished = chat.turn("t2").assistant
    finished.append_answer("done")
    finished.finish("complete")
    assert finished.continue_button.isHidden()
