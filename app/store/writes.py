"""The INSERTs and UPDATEs that several `Store` methods share, run inside the caller's transaction.

Appending a message also keeps the conversation's sidebar time and its automatic title up to date;
importing inserts a whole `Transcript` whose ids are the file's own, mapping them to new ones.
"""

from __future__ import annotations

import sqlite3

from app.store.errors import InvalidInput
from app.store.records import Attachment, MessageRecord, NewAttachment, NewMessage, Transcript, TurnFigures
from app.store.rows import to_datetime, to_ms
from app.store.titles import auto_title
from app.store.validation import settings_json

INSERT_MESSAGE = (
    "INSERT INTO messages (conversation_id, position, turn_id, role, name, channel, recipient, content_type, "
    "content, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_ATTACHMENT = (
    "INSERT INTO attachments (conversation_id, message_id, file_name, kind, sha256, text, token_count, "
    "page_count, mode, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def insert_message(conn: sqlite3.Connection, conversation_id: int, message: NewMessage,
                   turn_id: int | None, now: int) -> MessageRecord:
    position = conn.execute("SELECT coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = ?",
                            (conversation_id,)).fetchone()[0]
    message_id = conn.execute(INSERT_MESSAGE, (
        conversation_id, position, turn_id, message.role, message.name, message.channel, message.recipient,
        message.content_type, message.content, message.status, message.error, now)).lastrowid
    conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
    if message.role == "user":
        title_from(conn, conversation_id, auto_title(message.content))
    return MessageRecord(message_id, conversation_id, position, message.role, message.content,
                         to_datetime(now), message.status, message.name, message.channel, message.recipient,
                         message.content_type, turn_id, message.error)


def title_from(conn: sqlite3.Connection, conversation_id: int, title: str | None) -> None:
    """Replace the placeholder title, and only the placeholder: a user's or an earlier auto title stays."""
    if title:
        conn.execute("UPDATE conversations SET title = ?, title_source = 'auto' "
                     "WHERE id = ? AND title_source = 'placeholder'", (title, conversation_id))


def insert_attachment(conn: sqlite3.Connection, message: MessageRecord, attachment: NewAttachment,
                      now: int) -> Attachment:
    if message.role != "user":
        raise InvalidInput(f"Message {message.id} is a {message.role} message; documents are attached to the "
                           "user message they were sent with.")
    attachment_id = conn.execute(INSERT_ATTACHMENT, (
        message.conversation_id, message.id, attachment.file_name, attachment.kind, attachment.sha256,
        attachment.text, attachment.token_count, attachment.page_count, attachment.mode, now)).lastrowid
    # A message of only documents gives no title; the first document's name is a better one than none.
    title_from(conn, message.conversation_id, attachment.file_name.strip())
    return Attachment(attachment_id, message.conversation_id, message.id, attachment.file_name,
                      attachment.kind, attachment.sha256, attachment.text, attachment.token_count,
                      attachment.mode, to_datetime(now), attachment.page_count)


def write_stats(conn: sqlite3.Connection, turn_id: int, stats: TurnFigures | None) -> bool:
    values = (None,) * 6 if stats is None else (
        stats.prompt_tokens, stats.reused_tokens, stats.generated_tokens, stats.time_to_first_token_s,
        stats.tokens_per_second, stats.finish_reason)
    cursor = conn.execute(
        "UPDATE turns SET prompt_tokens = ?, reused_tokens = ?, generated_tokens = ?, "
        "time_to_first_token_s = ?, tokens_per_second = ?, finish_reason = ? WHERE id = ?",
        (*values, turn_id))
    return cursor.rowcount > 0


def insert_transcript(conn: sqlite3.Connection, transcript: Transcript) -> int:
    """Insert a transcript with file-local ids as a new conversation; returns its id."""
    c = transcript.conversation
    conversation_id = conn.execute(
        "INSERT INTO conversations (title, title_source, created_at, updated_at, model, reasoning_effort, "
        "settings, pinned, archived) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.title, c.title_source, to_ms(c.created_at), to_ms(c.updated_at), c.model, c.reasoning_effort,
         settings_json(c.settings), int(c.pinned), int(c.archived))).lastrowid
    turn_ids: dict[int, int] = {}
    for turn in transcript.turns:
        turn_ids[turn.id] = conn.execute(
            "INSERT INTO turns (conversation_id, started_at) VALUES (?, ?)",
            (conversation_id, to_ms(turn.started_at))).lastrowid
        if turn.stats is not None:
            write_stats(conn, turn_ids[turn.id], turn.stats)
    message_ids: dict[int, int] = {}
    for position, m in enumerate(transcript.messages):
        message_ids[m.id] = conn.execute(INSERT_MESSAGE, (
            conversation_id, position, turn_ids.get(m.turn_id), m.role, m.name, m.channel, m.recipient,
            m.content_type, m.content, m.status, m.error, to_ms(m.created_at))).lastrowid
    for m in transcript.messages:
        call = m.tool_call
        if call is not None:
            conn.execute(
                "INSERT INTO tool_calls (message_id, state, result_message_id, duration_s, error) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_ids[m.id], call.state, message_ids.get(call.result_message_id), call.duration_s,
                 call.error))
    for a in transcript.attachments:
        conn.execute(INSERT_ATTACHMENT, (
            conversation_id, message_ids[a.message_id], a.file_name, a.kind, a.sha256, a.text, a.token_count,
            a.page_count, a.mode, to_ms(a.created_at)))
    return conversation_id
