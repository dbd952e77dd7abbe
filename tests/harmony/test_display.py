"""Where parsed messages show in the chat, and what a turn without `final` shows."""

from __future__ import annotations

import pytest

from app.harmony import DisplayKind, Message, SystemContent, display_kind, turn_answer

A = "assistant"


@pytest.mark.parametrize(("message", "kind"), [
    (Message(A, "4", channel="final"), DisplayKind.ANSWER),
    (Message(A, "I must refuse"), DisplayKind.ANSWER),
    (Message(A, "Let me look that up.", channel="commentary"), DisplayKind.PREAMBLE),
    (Message(A, "User asks...", channel="analysis"), DisplayKind.THINKING),
    (Message(A, "hmm", channel="scratch"), DisplayKind.THINKING),
    (Message(A, "{}", channel="commentary", recipient="functions.f"), DisplayKind.TOOL_CALL),
    (Message(A, "print(1)", channel="analysis", recipient="python"), DisplayKind.TOOL_CALL),
    (Message("tool", "1", name="python", channel="analysis", recipient="assistant"), DisplayKind.TOOL_RESULT),
    (Message("user", "hi"), DisplayKind.USER),
    (Message("system", SystemContent()), DisplayKind.HIDDEN),
])
def test_display_kind(message: Message, kind: DisplayKind) -> None:
    assert display_kind(message) == kind


def test_turn_answer_prefers_final() -> None:
    turn = [Message(A, "think", channel="analysis"), Message(A, "Paris.", channel="final"),
            Message(A, "trailing thought", channel="analysis")]
    answer = turn_answer(turn)
    assert answer is not None and (answer.text, answer.flagged) == ("Paris.", False)


def test_turn_without_final_shows_the_last_text_flagged() -> None:
    turn = [Message(A, "first idea", channel="analysis"), Message(A, "The answer is 4", channel="analysis"),
            Message(A, "{}", channel="commentary", recipient="functions.f"),
            Message(A, "  ", channel="analysis")]
    answer = turn_answer(turn)
    assert answer is not None
    assert (answer.text, answer.flagged, answer.channel) == ("The answer is 4", True, "analysis")
    assert turn_answer([Message(A, "{}", recipient="functions.f")]) is None
    assert turn_answer([]) is None
