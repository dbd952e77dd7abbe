"""How parsed messages show in the chat: answer, preamble, thinking, tool call or result.

gpt-oss writes its reasoning on `analysis` (shown collapsed as "thinking"), user-visible preambles on
`commentary` without a recipient, and its answer on `final`. A turn that ends without `final` (it
happens) still shows something: the last assistant text that is not a tool call, flagged as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.harmony.messages import ASSISTANT, COMMENTARY, FINAL, TOOL, USER, Message
from app.harmony.tool_calls import is_tool_call


class DisplayKind(StrEnum):
    ANSWER = "answer"
    PREAMBLE = "preamble"
    THINKING = "thinking"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    USER = "user"
    HIDDEN = "hidden"  # system and developer messages


@dataclass(frozen=True, slots=True)
class TurnAnswer:
    """The text to show as a turn's answer; `flagged` when it is not from the `final` channel."""

    text: str
    flagged: bool
    channel: str | None


def display_kind(message: Message) -> DisplayKind:
    """Where a message belongs in the chat view (SPEC section 9, hardening 8)."""
    if message.role == USER:
        return DisplayKind.USER
    if message.role == TOOL:
        return DisplayKind.TOOL_RESULT
    if message.role != ASSISTANT:
        return DisplayKind.HIDDEN
    if is_tool_call(message):
        return DisplayKind.TOOL_CALL
    if message.channel in (FINAL, None):
        return DisplayKind.ANSWER
    if message.channel == COMMENTARY:
        return DisplayKind.PREAMBLE
    return DisplayKind.THINKING  # analysis, and any channel the model made up


def turn_answer(messages: Sequence[Message]) -> TurnAnswer | None:
    """The answer of one assistant turn: its last `final` message, or else (flagged) its last assistant
    text that is not a tool call; None when the turn has no text to show at all."""
    replies = [m for m in messages if m.role == ASSISTANT and not is_tool_call(m)]
    finals = [m for m in replies if m.channel == FINAL]
    if finals:
        return TurnAnswer(finals[-1].text, False, FINAL)
    for message in reversed(replies):
        if message.text.strip():
            return TurnAnswer(message.text, True, message.channel)
    return None

