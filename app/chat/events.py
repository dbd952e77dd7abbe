"""What the chat room tells its observers (the UI, the CLI, tests) while a turn runs.

Events are small frozen dataclasses delivered to a listener callable, from the thread that runs the turn;
the UI bridges them into Qt signals. An *item* is one visible piece of an assistant turn: a reasoning
pane, a preamble, a tool call card or the answer. Its id is the id of the stored message behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from app.store import ToolCallState

ItemKind = Literal["reasoning", "preamble", "tool_call", "answer"]
class TurnStatus(StrEnum):
    """How a turn ended: decided by the turn loop, recorded with the turn's figures, and read back the same
    way when the conversation is reopened (`chat.outcome.turn_outcome`)."""

    COMPLETE = "complete"        # ended with a final answer
    NO_FINAL = "no_final"        # ended without a final answer: the UI shows the last text, flagged
    STOPPED = "stopped"          # the user pressed stop
    INTERRUPTED = "interrupted"  # the engine died or the app was closed mid-answer
    FAILED = "failed"            # the engine reported an error before anything useful arrived
    MAX_STEPS = "max_steps"      # the tool loop hit its step limit


@dataclass(frozen=True)
class TurnStats:
    prompt_tokens: int = 0
    reused_tokens: int = 0
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    time_to_first_token_s: float = 0.0
    tokens_per_second: float = 0.0
    context_used: int = 0  # tokens in the context after this turn
    n_ctx: int = 0


@dataclass(frozen=True)
class TurnStarted:
    conversation_id: int
    turn_id: int
    user_message_id: int | None


@dataclass(frozen=True)
class ItemStarted:
    turn_id: int
    item_id: int
    kind: ItemKind
    channel: str | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class ItemDelta:
    item_id: int
    text: str


@dataclass(frozen=True)
class ItemFinished:
    item_id: int
    kind: ItemKind
    duration_s: float


@dataclass(frozen=True)
class ToolCallChanged:
    turn_id: int
    call_id: int  # the stored tool-call message
    tool_name: str
    arguments: str
    state: ToolCallState
    result: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class TurnFinished:
    turn_id: int
    status: TurnStatus
    stats: TurnStats
    message: str = ""  # for the user when status is not 'complete'


@dataclass(frozen=True)
class Notice:
    """Something the user should read (a store problem, a model refused): shown, never fatal."""

    level: Literal["info", "warning", "error"]
    text: str


ChatEvent = TurnStarted | ItemStarted | ItemDelta | ItemFinished | ToolCallChanged | TurnFinished | Notice
ChatListener = Callable[[ChatEvent], None]
