"""Persistence of conversations: one SQLite database in the data folder (WAL, versioned migrations).

Owns conversations and their Harmony-structured messages, tool-call states, per-turn stats and
attachments (extracted text and hash); crash safety of the answer being generated; full-text search;
export to Markdown and JSON and import of that JSON. Imports sqlite3 and the standard library only.

    store = open_store(app_paths().database_file)
    for notice in store.report.notices:  # e.g. a damaged file was set aside
        ...
    conversation = store.create_conversation(model="gpt-oss-20b")
    turn = store.add_user_turn(conversation.id, "Hello")
    reply = store.append_message(conversation.id, NewMessage("assistant", channel="final",
                                 status="streaming"), turn_id=turn.turn.id)
    stream = MessageStream(store, reply.id)  # stream.append(delta) ...; stream.finish()
"""

from app.store.errors import (
    ConversationFileError,
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseUnavailable,
    DiskFull,
    IncompatibleDatabase,
    InvalidInput,
    NotFound,
    StoreEnvironmentError,
    StoreError,
    StoreInternalError,
)
from app.store.json_format import FORMAT_NAME, FORMAT_VERSION
from app.store.opening import DamagedDatabase, OpenReport
from app.store.records import (
    Attachment,
    AttachmentMode,
    Conversation,
    ConversationSummary,
    Highlighted,
    MessageRecord,
    MessageStatus,
    NewAttachment,
    NewMessage,
    ReasoningEffort,
    Role,
    SearchHit,
    ToolCallRecord,
    ToolCallState,
    Transcript,
    Turn,
    TurnFigures,
    UserTurn,
)
from app.store.store import UNCHANGED, Store, open_store
from app.store.streaming import MessageStream

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "UNCHANGED",
    "Attachment",
    "AttachmentMode",
    "Conversation",
    "ConversationFileError",
    "ConversationSummary",
    "DamagedDatabase",
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseUnavailable",
    "DiskFull",
    "Highlighted",
    "IncompatibleDatabase",
    "InvalidInput",
    "MessageRecord",
    "MessageStatus",
    "MessageStream",
    "NewAttachment",
    "NewMessage",
    "NotFound",
    "OpenReport",
    "ReasoningEffort",
    "Role",
    "SearchHit",
    "Store",
    "StoreEnvironmentError",
    "StoreError",
    "StoreInternalError",
    "ToolCallRecord",
    "ToolCallState",
    "Transcript",
    "Turn",
    "TurnFigures",
    "UserTurn",
    "open_store",
]
