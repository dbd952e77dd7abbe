"""A turn shows the same status, notice and answer while it streams and after its conversation is
reopened: one rule (`chat.outcome.turn_outcome`) decides both."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.engine.testing import harmony_reply
from app.store.errors import StoreError
from tests.ui.conftest import WAIT_MS
from tests.ui.test_main_window import send, wait_idle


def shown(window) -> list[tuple[str | None, str, str]]:
    return [(turn.assistant.status(), turn.assistant.notice_text(), turn.assistant.answer_text())
            for turn in window.chat_view.turns()]


def test_every_ending_looks_the_same_live_and_reopened(qtbot, make_window, engine) -> None:
    window = make_window()
    engine.queue(harmony_reply([("analysis", "Think."), ("final", "A proper answer.")]))
    send(qtbot, window, "complete")
    wait_idle(qtbot, window)
    engine.queue(harmony_reply([("analysis", "Only musing, then the end."),
                                ("commentary", "I will say this much.")]))
    send(qtbot, window, "no final answer")
    wait_idle(qtbot, window)
    engine.tokens_per_second = 200
    engine.queue(harmony_reply([("final", "word " * 400)]))
    send(qtbot, window, "stopped")
    assistant = window.chat_view.turns()[-1].assistant
    qtbot.waitUntil(lambda: len(assistant.answer_text()) > 20, timeout=WAIT_MS)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    wait_idle(qtbot, window)
    live = shown(window)
    assert [status for status, _, _ in live] == ["complete", "no_answer", "interrupted"]
    assert "You stopped it" in live[2][1]
    assert live[1][2] == "I will say this much."

    conversation = window.controller.conversation_id
    window.new_chat()
    window.open_conversation(conversation) if hasattr(window, "open_conversation") else \
        window.controller.open_conversation(conversation)
    qtbot.waitUntil(lambda: len(window.chat_view.turns()) == 3, timeout=WAIT_MS)
    assert shown(window) == live


def test_a_no_final_notice_points_where_the_text_is(qtbot, make_window, engine) -> None:
    window = make_window()
    engine.queue(harmony_reply([("commentary", "Some words before stopping.")]))
    send(qtbot, window, "say something")
    wait_idle(qtbot, window)
    assistant = window.chat_view.turns()[-1].assistant
    items = assistant.items()
    notice = next(i for i, item in enumerate(items) if item.objectName() == "turnNotice")
    answer = items.index(assistant.answer_view())
    assert ("above" in assistant.notice_text()) == (answer < notice)
    assert ("below" in assistant.notice_text()) == (answer > notice)


def test_closing_the_window_mid_answer_leaves_queued_events_unread(qtbot, make_window, engine) -> None:
    """A stopped turn's last events are queued for the Qt thread; they arrive after the store closed."""
    window = make_window()
    engine.tokens_per_second = 200
    engine.queue(harmony_reply([("final", "word " * 400)]))
    send(qtbot, window, "a long answer")
    assistant = window.chat_view.turns()[-1].assistant
    qtbot.waitUntil(lambda: len(assistant.answer_text()) > 20, timeout=WAIT_MS)
    window.close()
    with pytest.raises(StoreError):  # the store is closed, as at the end of a run
        window.workspace.store.list_conversations()
    qtbot.wait(200)  # the queued TurnFinished is delivered here; reading the closed store would raise
