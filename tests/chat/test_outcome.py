"""One rule for how a turn ended (chat/outcome.py), without Qt: the recorded status wins, and a turn
without a record is judged from its stored messages with the turn loop's own answer rule."""

from __future__ import annotations

from app.chat.events import TurnStatus
from app.chat.outcome import answer_status, turn_outcome
from app.store import NewMessage, Store


def replies(store: Store, *messages: NewMessage):
    conversation = store.create_conversation(title="t")
    return [store.append_message(conversation.id, message) for message in messages]


def test_the_recorded_status_wins_over_the_messages(store: Store) -> None:
    stored = replies(store, NewMessage("assistant", "partial", channel="final", status="interrupted"))
    outcome = turn_outcome(stored, recorded="stopped")
    assert outcome.status is TurnStatus.STOPPED
    assert "You stopped it" in outcome.detail


def test_without_a_record_the_messages_decide(store: Store) -> None:
    final = replies(store, NewMessage("assistant", "musing", channel="analysis"),
                    NewMessage("assistant", "The answer.", channel="final"))
    assert turn_outcome(final).status is TurnStatus.COMPLETE
    assert answer_status(final) is TurnStatus.COMPLETE
    no_final = replies(store, NewMessage("assistant", "musing", channel="analysis"),
                       NewMessage("assistant", "Last words.", channel="commentary"))
    outcome = turn_outcome(no_final, recorded="return")  # an older version's finish reason: not a status
    assert (outcome.status, outcome.last_text) == (TurnStatus.NO_FINAL, "Last words.")
    cut = replies(store, NewMessage("assistant", "half", channel="final", status="interrupted"))
    assert turn_outcome(cut).status is TurnStatus.INTERRUPTED
    failed = replies(store, NewMessage("assistant", "", channel="final", status="error",
                                       error="The engine ran out of memory."))
    outcome = turn_outcome(failed)
    assert outcome.status is TurnStatus.FAILED and outcome.detail == "The engine ran out of memory."
    assert turn_outcome([]).status is TurnStatus.INTERRUPTED


def test_the_loops_message_is_kept_live(store: Store) -> None:
    outcome = turn_outcome([], recorded="failed", message="The engine process stopped unexpectedly.")
    assert outcome.detail == "The engine process stopped unexpectedly."
