"""The store's data as dataclasses: what goes in (`New*`, `TurnStats`: frozen values) and what comes out.

What comes out is a snapshot: changing one changes nothing in the database (call the store for that).
Those records are not frozen only because a frozen dataclass costs three times as long to build, and
the sidebar builds 10,000 of them (see bench/store.py). Messages keep their Harmony structure (role,
name, channel, recipient, content_type, content), so the chat room can render them without guessing.
Times are timezone-aware UTC datetimes; ids are the database's integer row ids. No SQLite in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, get_args

# The format's own word: harmony, the lowest room, defines it; every room keeps and shows that one type.
from app.harmony.messages import ReasoningEffort

Role = Literal["system", "developer", "user", "assistant", "tool"]
# streaming: being generated now; interrupted: the app or the engine died (or the user stopped) mid-answer.
MessageStatus = Literal["complete", "streaming", "interrupted", "error"]
AttachmentMode = Literal["inline", "search"]  # whole text in the prompt, or searched by the document tool
TitleSource = Literal["placeholder", "auto", "user"]



class ToolCallState(StrEnum):
    """Where a tool call is: the one list the tools room (live calls), the chat room (card events), the
    store (what is kept) and the cards (which add only their own "not known yet") all use."""

    WAITING_APPROVAL = "waiting_approval"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"  # the user stopped the turn while the call ran
    INTERRUPTED = "interrupted"  # the app stopped while the call waited or ran (set when the store reopens)

    @property
    def finished(self) -> bool:
        return self not in (ToolCallState.WAITING_APPROVAL, ToolCallState.RUNNING)


ROLES: tuple[str, ...] = get_args(Role)
REASONING_EFFORTS: tuple[str, ...] = tuple(ReasoningEffort)
MESSAGE_STATUSES: tuple[str, ...] = get_args(MessageStatus)
TOOL_CALL_STATES: tuple[str, ...] = tuple(ToolCallState)
ATTACHMENT_MODES: tuple[str, ...] = get_args(AttachmentMode)

PLACEHOLDER_TITLE = "New conversation"
# Keys of a conversation's settings object that grant something (read and written as a type by
# `app.chat.conversation_settings`; dropped from imports by `import_guard`).
TOOLS_KEY = "tools"  # the tool selection record: which tools the model may call
ALWAYS_ALLOWED_KEY = "always_allowed"  # tools the user allowed for this chat without asking again


@dataclass(slots=True)
class Conversation:
    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    model: str | None
    reasoning_effort: ReasoningEffort
    settings: dict[str, Any]
    pinned: bool = False
    archived: bool = False
    title_source: TitleSource = "user"  # "placeholder" and "auto" titles follow the first user message


@dataclass(slots=True)
class ConversationSummary:
    """One sidebar row: just what the list shows, so 10,000 of them load fast."""

    id: int
    title: str
    updated_at: datetime
    pinned: bool
    archived: bool


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to append; the store gives it an id, a position and a time."""

    role: Role
    content: str = ""
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None
    status: MessageStatus = "complete"
    error: str | None = None


@dataclass(slots=True)
class ToolCallRecord:
    """The state of a tool call. The call is an assistant message with a recipient (its content holds the
    arguments); its result is a tool message (`result_message_id`, its content in `result`)."""

    message_id: int
    tool: str
    state: ToolCallState
    arguments: str
    result: str | None = None
    result_message_id: int | None = None
    duration_s: float | None = None
    error: str | None = None


@dataclass(slots=True)
class MessageRecord:
    id: int
    conversation_id: int
    position: int  # order inside the conversation, from 0
    role: Role
    content: str
    created_at: datetime
    status: MessageStatus = "complete"
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None
    turn_id: int | None = None  # the user turn this message belongs to (its question and every reply)
    error: str | None = None
    # set on assistant messages with a recipient, once the chat records it
    tool_call: ToolCallRecord | None = None


@dataclass(frozen=True, slots=True)
class TurnFigures:
    """How one turn's generation went (the engine's figures, summed over a turn's tool-call rounds)."""

    prompt_tokens: int = 0
    reused_tokens: int = 0  # of the prompt, taken from the KV cache
    generated_tokens: int = 0
    time_to_first_token_s: float = 0.0
    tokens_per_second: float = 0.0
    finish_reason: str | None = None  # "return", "call", "length", "cancelled", "error", ...


@dataclass(slots=True)
class Turn:
    id: int
    conversation_id: int
    started_at: datetime
    stats: TurnFigures | None = None


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """A document the user sent: its extracted text and a hash of the original, never the file itself."""

    file_name: str
    kind: str  # a MIME type, e.g. "application/pdf"
    sha256: str  # of the original file's bytes, 64 lowercase hex digits
    text: str
    token_count: int
    mode: AttachmentMode = "inline"
    page_count: int | None = None


@dataclass(slots=True)
class Attachment:
    id: int
    conversation_id: int
    message_id: int
    file_name: str
    kind: str
    sha256: str
    text: str
    token_count: int
    mode: AttachmentMode
    created_at: datetime
    page_count: int | None = None


@dataclass(slots=True)
class UserTurn:
    """What `Store.add_user_turn` made in one transaction."""

    turn: Turn
    message: MessageRecord
    attachments: tuple[Attachment, ...] = ()


@dataclass(slots=True)
class Highlighted:
    """Text with the character ranges [start, end) that matched a search, for the UI to emphasise."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(slots=True)
class SearchHit:
    """One conversation that matches: by its title, by a message, or both."""

    conversation_id: int
    updated_at: datetime
    title: Highlighted
    message_id: int | None = None  # the latest matching message, to scroll to
    snippet: Highlighted | None = None  # a few words around the match in that message


@dataclass(slots=True)
class Transcript:
    """A whole conversation: what export writes and import reads."""

    conversation: Conversation
    messages: tuple[MessageRecord, ...]
    turns: tuple[Turn, ...] = ()
    attachments: tuple[Attachment, ...] = ()
