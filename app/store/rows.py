"""Turning SQLite rows into the store's records, and times between datetimes and Unix milliseconds.

Each `*_COLUMNS` string is the SELECT list its `*_from_row` function reads, kept side by side so the
two cannot drift apart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from app.store.records import (
    Attachment,
    Conversation,
    ConversationSummary,
    MessageRecord,
    ReasoningEffort,
    ToolCallRecord,
    ToolCallState,
    Turn,
    TurnFigures,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
_FAST_UNTIL_MS = 4_000_000_000_000  # 2096-10-02; beyond it float seconds blur the millisecond


def to_datetime(ms: int) -> datetime:
    if 0 <= ms < _FAST_UNTIL_MS:
        # Twice as fast as the exact sum below (the sidebar converts 10,000 times): fromtimestamp rounds
        # to the microsecond, which recovers the millisecond while the float's error stays under 0.5 µs.
        return datetime.fromtimestamp(ms / 1000, UTC)
    return EPOCH + timedelta(milliseconds=ms)  # exact for any date, and Windows' fromtimestamp rejects < 0


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous; give it a timezone")
    return (moment - EPOCH) // _MILLISECOND


CONVERSATION_COLUMNS = (
    "id, title, created_at, updated_at, model, reasoning_effort, settings, pinned, archived, title_source")


def conversation_from_row(row: tuple[Any, ...]) -> Conversation:
    cid, title, created, updated, model, effort, settings, pinned, archived, source = row
    return Conversation(
        id=cid, title=title, created_at=to_datetime(created), updated_at=to_datetime(updated), model=model,
        reasoning_effort=ReasoningEffort(effort), settings=json.loads(settings), pinned=bool(pinned),
        archived=bool(archived), title_source=source,
    )


SUMMARY_COLUMNS = "id, title, updated_at, pinned, archived"


def summary_from_row(row: tuple[Any, ...]) -> ConversationSummary:
    cid, title, updated, pinned, archived = row
    return ConversationSummary(cid, title, to_datetime(updated), bool(pinned), bool(archived))


# Messages come with their tool call (if one was recorded) and that call's result text, in one query.
MESSAGE_COLUMNS = (
    "m.id, m.conversation_id, m.position, m.role, m.content, m.created_at, m.status, m.name, m.channel, "
    "m.recipient, m.content_type, m.turn_id, m.error, "
    "t.state, t.result_message_id, t.duration_s, t.error, r.content")
MESSAGE_FROM = (
    "messages m LEFT JOIN tool_calls t ON t.message_id = m.id "
    "LEFT JOIN messages r ON r.id = t.result_message_id")


def message_from_row(row: tuple[Any, ...]) -> MessageRecord:
    (mid, cid, position, role, content, created, status, name, channel, recipient, content_type, turn_id,
     error, call_state, result_id, duration, call_error, result) = row
    tool_call = None
    if call_state is not None:
        tool_call = ToolCallRecord(
            message_id=mid, tool=recipient, state=ToolCallState(call_state), arguments=content, result=result,
            result_message_id=result_id, duration_s=duration, error=call_error,
        )
    return MessageRecord(mid, cid, position, role, content, to_datetime(created), status, name, channel,
                         recipient, content_type, turn_id, error, tool_call)


TURN_COLUMNS = (
    "id, conversation_id, started_at, prompt_tokens, reused_tokens, generated_tokens, "
    "time_to_first_token_s, tokens_per_second, finish_reason")


def turn_from_row(row: tuple[Any, ...]) -> Turn:
    tid, cid, started, prompt, reused, generated, ttft, tps, finish = row
    stats = None
    if prompt is not None:
        stats = TurnFigures(prompt, reused, generated, ttft, tps, finish)
    return Turn(tid, cid, to_datetime(started), stats)


ATTACHMENT_COLUMNS = (
    "id, conversation_id, message_id, file_name, kind, sha256, text, token_count, mode, created_at, "
    "page_count")


def attachment_from_row(row: tuple[Any, ...]) -> Attachment:
    aid, cid, mid, file_name, kind, sha256, text, tokens, mode, created, pages = row
    return Attachment(aid, cid, mid, file_name, kind, sha256, text, tokens, mode, to_datetime(created), pages)
