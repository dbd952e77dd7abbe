"""`Store`: the typed API over the conversation database that the chat room and the UI call.

Every call is short and is one transaction, so the Qt main thread can make its small reads directly
while the turn loop writes from a worker thread (each thread gets its own SQLite connection). Inputs are
checked before SQL runs (`InvalidInput`, `NotFound`); SQLite's own errors come out as the store's error
tree (`errors.translate`). Nothing here knows about Qt, the engine or Harmony's Python types.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from app.store import json_format, search
from app.store.connection import ThreadConnections, read_snapshot, write_transaction
from app.store.errors import DatabaseCorrupt, InvalidInput, NotFound, translate
from app.store.markdown_export import MarkdownOptions, transcript_to_markdown
from app.store.opening import OpenReport, mark_for_check, open_database
from app.store.records import (
    MESSAGE_STATUSES,
    PLACEHOLDER_TITLE,
    REASONING_EFFORTS,
    TOOL_CALL_STATES,
    Attachment,
    Conversation,
    ConversationSummary,
    MessageRecord,
    MessageStatus,
    NewAttachment,
    NewMessage,
    ReasoningEffort,
    SearchHit,
    ToolCallRecord,
    ToolCallState,
    Transcript,
    Turn,
    TurnFigures,
    UserTurn,
)
from app.store.rows import (
    ATTACHMENT_COLUMNS,
    CONVERSATION_COLUMNS,
    MESSAGE_COLUMNS,
    MESSAGE_FROM,
    SUMMARY_COLUMNS,
    TURN_COLUMNS,
    attachment_from_row,
    conversation_from_row,
    message_from_row,
    summary_from_row,
    to_datetime,
    turn_from_row,
)
from app.store.titles import checked_title
from app.store.validation import check_attachment, check_choice, check_message, settings_json
from app.store.writes import insert_attachment, insert_message, insert_transcript, write_stats
from app.text_safety import json_text_without_bidi

DEFAULT_BUSY_TIMEOUT_S = 5.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Unchanged:
    """The default of `update_conversation`'s arguments: leave that field as it is."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


def open_store(path: Path | str, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
               clock: Callable[[], float] = time.time) -> Store:
    """Open the database at `path` (usually `app_paths().database_file`), creating or migrating it.

    A damaged file is salvaged into a fresh one (what could be read is copied, the damaged file kept
    beside it): `store.report.notices` then holds the sentence to show. `clock` gives the time in Unix
    seconds (tests pass their own).
    """
    path = Path(path)
    conn, report = open_database(path, busy_timeout_s, int(clock() * 1000))
    connections = ThreadConnections(path, busy_timeout_s)
    connections.adopt(conn)
    return Store(path, connections, report, clock)


def _translated(method: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        store: Store = args[0]  # type: ignore[assignment]
        try:
            with store._connections.using():
                return method(*args, **kwargs)
        except sqlite3.Error as exc:
            error = translate(exc, store.path)
            if isinstance(error, DatabaseCorrupt):
                mark_for_check(store.path, str(exc))
            raise error from exc

    return wrapper


class Store:
    """Conversations, their messages, tool calls, turns and attachments; search; export and import."""

    def __init__(self, path: Path, connections: ThreadConnections, report: OpenReport,
                 clock: Callable[[], float]) -> None:
        self.path = path
        self.report = report
        self._connections = connections
        self._clock = clock

    def close(self) -> None:
        self._connections.close_all()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ------------------------------------------------------------------------------- conversations

    @_translated
    def create_conversation(self, *, title: str | None = None, model: str | None = None,
                            reasoning_effort: ReasoningEffort = ReasoningEffort.MEDIUM,
                            settings: Mapping[str, Any] | None = None) -> Conversation:
        """A new, empty conversation; without a title it takes one from its first user message."""
        check_choice(reasoning_effort, REASONING_EFFORTS, "reasoning_effort")
        settings_text = settings_json(settings or {})
        if title is None:
            source, title = "placeholder", PLACEHOLDER_TITLE
        else:
            source, title = "user", checked_title(title)
        now = self._now_ms()
        with write_transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, title_source, created_at, updated_at, model, "
                "reasoning_effort, settings) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (title, source, now, now, model, reasoning_effort, settings_text))
        return Conversation(
            id=cursor.lastrowid, title=title, created_at=to_datetime(now), updated_at=to_datetime(now),
            model=model, reasoning_effort=ReasoningEffort(reasoning_effort),
            settings=json.loads(settings_text),
            title_source=source)

    @_translated
    def get_conversation(self, conversation_id: int) -> Conversation:
        row = self._conn.execute(
            f"SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise _no_conversation(conversation_id)
        return conversation_from_row(row)

    @_translated
    def list_conversations(self, *, include_archived: bool = False, limit: int | None = None,
                           offset: int = 0) -> list[ConversationSummary]:
        """Sidebar rows: pinned first, then the most recently active."""
        where = "" if include_archived else "WHERE archived = 0"
        rows = self._conn.execute(
            f"SELECT {SUMMARY_COLUMNS} FROM conversations {where} "
            "ORDER BY pinned DESC, updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset))
        return [summary_from_row(row) for row in rows]

    @_translated
    def rename_conversation(self, conversation_id: int, title: str) -> Conversation:
        """Give the conversation the user's title; automatic titling stops for it."""
        title = checked_title(title)
        with write_transaction(self._conn) as conn:
            cursor = conn.execute("UPDATE conversations SET title = ?, title_source = 'user' WHERE id = ?",
                                  (title, conversation_id))
        if cursor.rowcount == 0:
            raise _no_conversation(conversation_id)
        return self.get_conversation(conversation_id)

    @_translated
    def update_conversation(self, conversation_id: int, *, model: str | None = UNCHANGED,
                            reasoning_effort: ReasoningEffort = UNCHANGED,
                            settings: Mapping[str, Any] = UNCHANGED, pinned: bool = UNCHANGED,
                            archived: bool = UNCHANGED) -> Conversation:
        """Change the given fields only; the sidebar order (last activity) stays as it is."""
        changes: dict[str, Any] = {}
        if model is not UNCHANGED:
            if model is not None and not isinstance(model, str):
                raise InvalidInput(f"model must be text or None, not {type(model).__name__}.")
            changes["model"] = model
        if reasoning_effort is not UNCHANGED:
            check_choice(reasoning_effort, REASONING_EFFORTS, "reasoning_effort")
            changes["reasoning_effort"] = reasoning_effort
        if settings is not UNCHANGED:
            changes["settings"] = settings_json(settings)
        for name, flag in (("pinned", pinned), ("archived", archived)):
            if flag is not UNCHANGED:
                if not isinstance(flag, bool):
                    raise InvalidInput(f"{name} must be True or False, not {flag!r}.")
                changes[name] = int(flag)
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with write_transaction(self._conn) as conn:
                cursor = conn.execute(f"UPDATE conversations SET {assignments} WHERE id = ?",
                                      (*changes.values(), conversation_id))
            if cursor.rowcount == 0:
                raise _no_conversation(conversation_id)
        return self.get_conversation(conversation_id)

    @_translated
    def delete_conversation(self, conversation_id: int) -> None:
        """Delete it with everything in it (messages, turns, tool calls, attachments, search entries)."""
        with write_transaction(self._conn) as conn:
            cursor = conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        if cursor.rowcount == 0:
            raise _no_conversation(conversation_id)

    # ------------------------------------------------------------------------------------ messages

    @_translated
    def add_user_turn(self, conversation_id: int, content: str,
                      attachments: Sequence[NewAttachment] = ()) -> UserTurn:
        """Start a turn: its user message and the documents sent with it, in one transaction."""
        message = NewMessage(role="user", content=content)
        check_message(message)
        for attachment in attachments:
            check_attachment(attachment)
        now = self._now_ms()
        with write_transaction(self._conn) as conn:
            self._require_conversation(conn, conversation_id)
            turn_id = conn.execute("INSERT INTO turns (conversation_id, started_at) VALUES (?, ?)",
                                   (conversation_id, now)).lastrowid
            stored = insert_message(conn, conversation_id, message, turn_id, now)
            added = tuple(insert_attachment(conn, stored, a, now) for a in attachments)
        return UserTurn(Turn(turn_id, conversation_id, to_datetime(now)), stored, added)

    @_translated
    def append_message(self, conversation_id: int, message: NewMessage, *,
                       turn_id: int | None = None) -> MessageRecord:
        """Append at the end of the conversation; `turn_id` ties replies and tool messages to their turn.

        For the answer being generated append with status "streaming", then call
        `update_message_content` as it grows (or use `MessageStream`, which paces the writes).
        """
        check_message(message)
        now = self._now_ms()
        with write_transaction(self._conn) as conn:
            self._require_conversation(conn, conversation_id)
            if turn_id is not None:
                row = conn.execute("SELECT conversation_id FROM turns WHERE id = ?", (turn_id,)).fetchone()
                if row is None or row[0] != conversation_id:
                    raise InvalidInput(f"Turn {turn_id} is not a turn of conversation {conversation_id}.")
            return insert_message(conn, conversation_id, message, turn_id, now)

    @_translated
    def update_message_content(self, message_id: int, content: str, status: MessageStatus = "streaming",
                               error: str | None = None) -> None:
        """Replace a message's text and status: one UPDATE, cheap enough to call every second."""
        if not isinstance(content, str):
            raise InvalidInput(f"Message content must be text, not {type(content).__name__}.")
        check_choice(status, MESSAGE_STATUSES, "status")
        cursor = self._conn.execute("UPDATE messages SET content = ?, status = ?, error = ? WHERE id = ?",
                                    (content, status, error, message_id))
        if cursor.rowcount == 0:
            raise _no_message(message_id)

    @_translated
    def get_message(self, message_id: int) -> MessageRecord:
        row = self._conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?", (message_id,)).fetchone()
        if row is None:
            raise _no_message(message_id)
        return message_from_row(row)

    @_translated
    def list_messages(self, conversation_id: int) -> list[MessageRecord]:
        """Every message of the conversation in order, each with its tool call state if it is one."""
        rows = self._conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.conversation_id = ? ORDER BY m.position",
            (conversation_id,)).fetchall()
        if not rows:
            self._require_conversation(self._conn, conversation_id)
        return [message_from_row(row) for row in rows]

    @_translated
    def delete_messages_after(self, message_id: int) -> int:
        """Delete every message after this one ("regenerate" from a user message, or edit and resend).

        The turn of the kept message loses its stats (they described the deleted replies); turns left
        without messages go. Returns how many messages were deleted.
        """
        with write_transaction(self._conn) as conn:
            row = conn.execute("SELECT conversation_id, position, turn_id FROM messages WHERE id = ?",
                               (message_id,)).fetchone()
            if row is None:
                raise _no_message(message_id)
            conversation_id, position, turn_id = row
            deleted = conn.execute("DELETE FROM messages WHERE conversation_id = ? AND position > ?",
                                   (conversation_id, position)).rowcount
            conn.execute("DELETE FROM turns WHERE conversation_id = ? AND NOT EXISTS "
                         "(SELECT 1 FROM messages WHERE turn_id = turns.id)", (conversation_id,))
            if turn_id is not None:
                write_stats(conn, turn_id, None)
        return deleted

    # ---------------------------------------------------------------------------------- tool calls

    @_translated
    def set_tool_call(self, message_id: int, state: ToolCallState, *, result_message_id: int | None = None,
                      duration_s: float | None = None, error: str | None = None) -> ToolCallRecord:
        """Record a tool call's state; the call is an assistant message with a recipient, its result a
        tool message of the same conversation. Every field is written as given."""
        check_choice(state, TOOL_CALL_STATES, "state")
        if duration_s is not None and not (isinstance(duration_s, int | float) and duration_s >= 0):
            raise InvalidInput(f"duration_s must be None or a number of seconds from 0, not {duration_s!r}.")
        with write_transaction(self._conn) as conn:
            row = conn.execute("SELECT conversation_id, role, recipient FROM messages WHERE id = ?",
                               (message_id,)).fetchone()
            if row is None:
                raise _no_message(message_id)
            if row[1] != "assistant" or row[2] is None:
                raise InvalidInput(f"Message {message_id} is not a tool call (an assistant message with a "
                                   "recipient), so it cannot have a tool call state.")
            if result_message_id is not None:
                result = conn.execute("SELECT conversation_id, role FROM messages WHERE id = ?",
                                      (result_message_id,)).fetchone()
                if result is None or result[0] != row[0] or result[1] != "tool":
                    raise InvalidInput(f"Message {result_message_id} is not a tool message of the same "
                                       "conversation, so it cannot be this call's result.")
            conn.execute(
                "INSERT INTO tool_calls (message_id, state, result_message_id, duration_s, error) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO UPDATE SET state = excluded.state, "
                "result_message_id = excluded.result_message_id, duration_s = excluded.duration_s, "
                "error = excluded.error",
                (message_id, state, result_message_id, duration_s, error))
        call = self.get_message(message_id).tool_call
        assert call is not None
        return call

    # --------------------------------------------------------------------------------------- turns

    @_translated
    def record_turn_stats(self, turn_id: int, stats: TurnFigures) -> None:
        with write_transaction(self._conn) as conn:
            if not write_stats(conn, turn_id, stats):
                raise NotFound(f"Turn {turn_id} does not exist (its conversation may have been deleted).")

    @_translated
    def list_turns(self, conversation_id: int) -> list[Turn]:
        rows = self._conn.execute(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE conversation_id = ? ORDER BY id",
            (conversation_id,)).fetchall()
        if not rows:
            self._require_conversation(self._conn, conversation_id)
        return [turn_from_row(row) for row in rows]

    # --------------------------------------------------------------------------------- attachments

    @_translated
    def add_attachment(self, message_id: int, attachment: NewAttachment) -> Attachment:
        """Attach a document's extracted text to the user message it was sent with."""
        check_attachment(attachment)
        now = self._now_ms()
        with write_transaction(self._conn) as conn:
            row = conn.execute(f"SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?",
                               (message_id,)).fetchone()
            if row is None:
                raise _no_message(message_id)
            return insert_attachment(conn, message_from_row(row), attachment, now)

    @_translated
    def list_attachments(self, conversation_id: int) -> list[Attachment]:
        rows = self._conn.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE conversation_id = ? ORDER BY id",
            (conversation_id,)).fetchall()
        if not rows:
            self._require_conversation(self._conn, conversation_id)
        return [attachment_from_row(row) for row in rows]

    # -------------------------------------------------------------------------------------- search

    @_translated
    def search(self, query: str, *, limit: int = 50, include_archived: bool = True) -> list[SearchHit]:
        """Conversations whose title or messages hold every word typed (the last one as a prefix)."""
        if not isinstance(query, str):
            raise InvalidInput(f"A search query must be text, not {type(query).__name__}.")
        if limit < 1:
            raise InvalidInput(f"limit must be at least 1, not {limit}.")
        with read_snapshot(self._conn) as conn:
            return search.search(conn, query, limit, include_archived)

    # ---------------------------------------------------------------------------- export / import

    @_translated
    def load_transcript(self, conversation_id: int) -> Transcript:
        """The whole conversation as one consistent snapshot."""
        with read_snapshot(self._conn):
            return Transcript(
                conversation=self.get_conversation(conversation_id),
                messages=tuple(self.list_messages(conversation_id)),
                turns=tuple(self.list_turns(conversation_id)),
                attachments=tuple(self.list_attachments(conversation_id)),
            )

    def export_markdown(self, conversation_id: int, *, include_reasoning: bool = True,
                        include_tool_calls: bool = True,
                        shown_texts: Callable[[Sequence[MessageRecord]], Mapping[int, str]] | None = None,
                        ) -> str:
        """Markdown, with reasoning and tool calls as collapsible sections or left out.

        `shown_texts` may give, from the messages, texts to write instead of some messages' content.
        """
        transcript = self.load_transcript(conversation_id)
        options = MarkdownOptions(include_reasoning=include_reasoning, include_tool_calls=include_tool_calls,
                                  shown_texts=shown_texts(transcript.messages) if shown_texts else {})
        return transcript_to_markdown(transcript, options)

    def export_json(self, conversation_id: int) -> str:
        """The conversation file (format "ossian-conversation", Harmony-shaped messages).

        Bidirectional controls are written as \\uXXXX escapes: the same data for any JSON reader (an
        import gets the names back exactly), and nothing in the file that reorders what an editor shows.
        """
        return json_text_without_bidi(json_format.dumps(self.load_transcript(conversation_id)))

    @_translated
    def import_json(self, text: str | bytes) -> json_format.ImportedConversation:
        """Import a conversation file as a new conversation; all of it or, on any error, nothing.

        The file grants nothing: its approvals and tool switches are dropped (the result's `notices`
        say so, for the UI to show).
        """
        transcript = json_format.loads(text, datetime.fromtimestamp(self._clock(), UTC))
        with write_transaction(self._conn) as conn:
            conversation_id = insert_transcript(conn, transcript)
        return json_format.imported_conversation(self.get_conversation(conversation_id),
                                                 transcript.conversation)

    # ------------------------------------------------------------------------------------- helpers

    @staticmethod
    def _require_conversation(conn: sqlite3.Connection, conversation_id: int) -> None:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is None:
            raise _no_conversation(conversation_id)


def _no_conversation(conversation_id: int) -> NotFound:
    return NotFound(f"Conversation {conversation_id} does not exist (it may have been deleted).")


def _no_message(message_id: int) -> NotFound:
    return NotFound(f"Message {message_id} does not exist (its conversation may have been deleted).")
