"""How a turn ended, by one rule: the turn loop decides it live, and a reopened conversation reads the same
decision back, so a turn never shows one status while streaming and another after reopening.

The turn loop records its `TurnStatus` with the turn's figures (`TurnFigures.finish_reason`). Reading a
stored turn takes that record when there is one; only a turn with no record (the app died mid-turn, or
an older version wrote it) is judged from its messages, with the loop's own answer rule
(`harmony.turn_answer`: a final message, or else flagged last text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app import harmony
from app.chat.events import TurnStatus
from app.chat.prompt import to_harmony
from app.store import MessageRecord, Store

# A sentence for each way of ending that needs one, beside whatever the turn loop said.
_DETAILS = {
    TurnStatus.STOPPED: "You stopped it; Continue picks up where it left off.",
    TurnStatus.INTERRUPTED: "The app or the engine stopped mid-answer; Continue picks it up.",
}


@dataclass(frozen=True)
class TurnOutcome:
    """A finished turn as it is shown: its status, a sentence for the user, and for a turn without a final
    answer its last text (shown in the answer's place, flagged)."""

    status: TurnStatus
    detail: str = ""
    last_text: str | None = None


def turn_replies(store: Store, conversation_id: int, turn_id: int) -> list[MessageRecord]:
    """A turn's replies as stored: every message of that turn but the user's."""
    return [message for message in store.list_messages(conversation_id)
            if message.turn_id == turn_id and message.role != harmony.USER]


def answer_status(replies: Sequence[MessageRecord]) -> TurnStatus:
    """COMPLETE when the turn's replies hold a final answer, else NO_FINAL (the turn loop's rule)."""
    answer = harmony.turn_answer([to_harmony(m) for m in replies if m.role != harmony.USER])
    return TurnStatus.COMPLETE if answer is not None and not answer.flagged else TurnStatus.NO_FINAL


def turn_outcome(replies: Sequence[MessageRecord], recorded: str | None = None,
                 message: str = "") -> TurnOutcome:
    """The outcome of one turn from its replies (every message but the user's), the status the turn loop
    recorded (None when it recorded none) and the loop's own message for the user, if any."""
    status = _recorded(recorded) or _judged(replies)
    errors = [m.error for m in replies if m.status == "error" and m.error]
    said = message or (errors[0] if status is TurnStatus.FAILED and errors else "")
    parts = [said, _DETAILS.get(status, "")]
    last_text = None
    if status in (TurnStatus.NO_FINAL, TurnStatus.MAX_STEPS):
        answer = harmony.turn_answer([to_harmony(m) for m in replies if m.role != harmony.USER])
        last_text = answer.text if answer is not None else None
    return TurnOutcome(status, " ".join(part for part in parts if part), last_text)


def _recorded(value: str | None) -> TurnStatus | None:
    try:
        return TurnStatus(value) if value is not None else None
    except ValueError:
        return None  # an older version's finish reason ("return", "length"...): judge from the messages


def _judged(replies: Sequence[MessageRecord]) -> TurnStatus:
    if not replies or any(m.status in ("interrupted", "streaming") for m in replies):
        return TurnStatus.INTERRUPTED
    if any(m.status == "error" for m in replies):
        return TurnStatus.FAILED
    return answer_status(replies)
