"""The conversation file: a `Transcript` as JSON and back, with messages in openai-harmony's JSON shape.

Each message is the shape openai-harmony reads and writes (role, optional name, recipient, content as
text, channel, content_type; absent fields left out), so other Harmony tools can read an export. What
Harmony has no field for (status, time, turn, tool-call state) rides along in a per-message "ossian"
object, which Harmony readers ignore. A small header names the format and its version and carries the
conversation's title, model, reasoning effort, times and settings; turns (with their stats) and
attachments (extracted text and hash, never the original file) follow.

Import is lenient about what it can understand and precise about what it cannot: it also takes a bare
list of Harmony messages (what `ossian harmony parse` prints) or `{"messages": [...]}`, content given as
Harmony's list of text parts, and fills in defaults; anything it cannot use is a `ConversationFileError`
that names the place in the file and what is wrong. The importer builds a `Transcript` with file-local
ids (1, 2, ...), which the store maps to new ids inside one transaction. A file is untrusted input:
`import_guard` holds its limits and drops the standing permissions in its settings; what the import
changed on the way in comes back as `ImportedConversation.notices`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.store import import_guard
from app.store.errors import ConversationFileError
from app.store.import_guard import check_length, file_error, type_name
from app.store.records import (
    ATTACHMENT_MODES,
    MESSAGE_STATUSES,
    PLACEHOLDER_TITLE,
    REASONING_EFFORTS,
    ROLES,
    TOOL_CALL_STATES,
    Attachment,
    Conversation,
    MessageRecord,
    ToolCallRecord,
    ToolCallState,
    Transcript,
    Turn,
    TurnFigures,
)
from app.store.titles import MAX_TITLE_CHARS, auto_title

FORMAT_NAME = "ossian-conversation"
FORMAT_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MISSING = object()


@dataclass(slots=True)
class ImportedConversation(Conversation):
    """What `Store.import_json` returns: the new conversation, and what the import changed on the way in
    (for the UI to show, so a person importing their own export knows why a tool is off again)."""

    notices: tuple[str, ...] = ()  # sentences, e.g. that approvals were reset
    reset_settings: tuple[str, ...] = ()  # the settings keys dropped that granted something


def imported_conversation(stored: Conversation, parsed: Conversation) -> ImportedConversation:
    """`stored` (as read back after the insert) with the notices of `parsed` (from `loads`)."""
    fields = {field.name: getattr(stored, field.name) for field in dataclasses.fields(Conversation)}
    if isinstance(parsed, ImportedConversation):
        return ImportedConversation(**fields, notices=parsed.notices, reset_settings=parsed.reset_settings)
    return ImportedConversation(**fields)


# ---------------------------------------------------------------------------------------------- export


def transcript_to_json(transcript: Transcript) -> dict[str, Any]:
    conversation = transcript.conversation
    message_index = {m.id: i for i, m in enumerate(transcript.messages)}
    turn_index = {t.id: i for i, t in enumerate(transcript.turns)}
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "title": conversation.title,
        "model": conversation.model,
        "reasoning_effort": conversation.reasoning_effort,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "pinned": conversation.pinned,
        "archived": conversation.archived,
        "settings": conversation.settings,
        "turns": [_turn_json(turn) for turn in transcript.turns],
        "messages": [_message_json(m, message_index, turn_index) for m in transcript.messages],
        "attachments": [_attachment_json(a, message_index) for a in transcript.attachments],
    }


def dumps(transcript: Transcript) -> str:
    return json.dumps(transcript_to_json(transcript), ensure_ascii=False, indent=2) + "\n"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _turn_json(turn: Turn) -> dict[str, Any]:
    stats = None
    if turn.stats is not None:
        s = turn.stats
        stats = {
            "prompt_tokens": s.prompt_tokens, "reused_tokens": s.reused_tokens,
            "generated_tokens": s.generated_tokens, "time_to_first_token_s": s.time_to_first_token_s,
            "tokens_per_second": s.tokens_per_second, "finish_reason": s.finish_reason,
        }
    return {"started_at": _iso(turn.started_at), "stats": stats}


def _message_json(message: MessageRecord, message_index: dict[int, int], turn_index: dict[int, int]) -> dict:
    # Harmony's own fields first, in its order; None fields are left out as Harmony's serializer does.
    out: dict[str, Any] = {"role": message.role}
    if message.name is not None:
        out["name"] = message.name
    if message.recipient is not None:
        out["recipient"] = message.recipient
    out["content"] = message.content
    if message.channel is not None:
        out["channel"] = message.channel
    if message.content_type is not None:
        out["content_type"] = message.content_type
    extra: dict[str, Any] = {"status": message.status, "created_at": _iso(message.created_at)}
    if message.turn_id is not None:
        extra["turn"] = turn_index[message.turn_id]
    if message.error is not None:
        extra["error"] = message.error
    call = message.tool_call
    if call is not None:
        extra["tool_call"] = {
            "state": call.state,
            "result": None if call.result_message_id is None else message_index.get(call.result_message_id),
            "duration_s": call.duration_s,
            "error": call.error,
        }
    out["ossian"] = extra
    return out


def _attachment_json(attachment: Attachment, message_index: dict[int, int]) -> dict[str, Any]:
    return {
        "message": message_index[attachment.message_id],
        "file_name": attachment.file_name,
        "kind": attachment.kind,
        "sha256": attachment.sha256,
        "mode": attachment.mode,
        "token_count": attachment.token_count,
        "page_count": attachment.page_count,
        "created_at": _iso(attachment.created_at),
        "text": attachment.text,
    }


# ---------------------------------------------------------------------------------------------- import


def loads(text: str | bytes, now: datetime) -> Transcript:
    """Parse a conversation file's text; `now` stands in for times the file does not give."""
    return transcript_from_json(import_guard.parse(text), now)


def transcript_from_json(data: Any, now: datetime) -> Transcript:
    """The transcript in parsed JSON; its conversation is an `ImportedConversation` with the notices."""
    if isinstance(data, list):
        data = {"messages": data}
    data, repaired = import_guard.check_tree(data)
    if not isinstance(data, dict):
        raise _fail(f"it holds {type_name(data)}; expected an object from an Ossian export or a list of "
                    "Harmony messages")
    file_format = data.get("format")
    if file_format is not None and file_format != FORMAT_NAME:
        raise _fail(f"its format is {file_format!r}, not {FORMAT_NAME!r}")
    version = data.get("version", FORMAT_VERSION) if file_format else FORMAT_VERSION
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(f"version must be a whole number from 1, not {version!r}")
    if version > FORMAT_VERSION:
        raise file_error(f"it is version {version} of the format, written by a newer Ossian (this one reads "
                         f"up to version {FORMAT_VERSION})", "update Ossian to import it")

    raw_messages = _get(data, "messages", "", list)
    raw_turns = _get(data, "turns", "", list, default=[])
    raw_attachments = _get(data, "attachments", "", list, default=[])
    import_guard.check_count(raw_messages, "messages", import_guard.MAX_MESSAGES)
    import_guard.check_count(raw_turns, "turns", import_guard.MAX_TURNS)
    import_guard.check_count(raw_attachments, "attachments", import_guard.MAX_ATTACHMENTS)
    turns = [_turn_from_json(item, i, now) for i, item in enumerate(raw_turns)]
    explicit_turns = "turns" in data
    messages = _messages_from_json(raw_messages, turns, explicit_turns, now)
    attachments = [_attachment_from_json(item, i, messages, now) for i, item in enumerate(raw_attachments)]
    conversation = _conversation_from_json(data, messages, now, repaired)
    return Transcript(conversation, tuple(messages), tuple(turns), tuple(attachments))


def _conversation_from_json(data: dict, messages: list[MessageRecord], now: datetime,
                            repaired: int) -> ImportedConversation:
    title = _get(data, "title", "", str, default="").strip()
    source = "user"
    if not title:
        first_user = next((m.content for m in messages if m.role == "user"), "")
        title = auto_title(first_user) or PLACEHOLDER_TITLE
        source = "auto" if title != PLACEHOLDER_TITLE else "placeholder"
    title = " ".join(title.split())[:MAX_TITLE_CHARS]
    effort = _get(data, "reasoning_effort", "", str, default="medium")
    _check_choice(effort, REASONING_EFFORTS, "reasoning_effort")
    created = _time(data, "created_at", "", default=messages[0].created_at if messages else now)
    settings, reset, permissions_notice = import_guard.settings_for_import(
        _get(data, "settings", "", dict, default={}))
    notices = []
    if repaired:
        notices.append(f"{repaired:,} {'character' if repaired == 1 else 'characters'} in the file that "
                       "are not valid Unicode (lone surrogates) were replaced with U+FFFD (\ufffd).")
    if permissions_notice:
        notices.append(permissions_notice)
    return ImportedConversation(
        id=0,
        title=title,
        created_at=created,
        updated_at=_time(data, "updated_at", "", default=max(
            [created, *(m.created_at for m in messages)])),
        model=_name(data, "model", "", default=None),
        reasoning_effort=effort,
        settings=settings,
        pinned=_get(data, "pinned", "", bool, default=False),
        archived=_get(data, "archived", "", bool, default=False),
        title_source=source,
        notices=tuple(notices),
        reset_settings=reset,
    )


def _turn_from_json(item: Any, index: int, now: datetime) -> Turn:
    where = f"turns[{index}]"
    item = _object(item, where)
    stats = None
    raw = _get(item, "stats", where, dict, default=None)
    if raw is not None:
        at = f"{where}.stats"
        stats = TurnFigures(
            prompt_tokens=_count(raw, "prompt_tokens", at, default=0),
            reused_tokens=_count(raw, "reused_tokens", at, default=0),
            generated_tokens=_count(raw, "generated_tokens", at, default=0),
            time_to_first_token_s=_amount(raw, "time_to_first_token_s", at, default=0.0),
            tokens_per_second=_amount(raw, "tokens_per_second", at, default=0.0),
            finish_reason=_name(raw, "finish_reason", at, default=None),
        )
    return Turn(id=index + 1, conversation_id=0, started_at=_time(item, "started_at", where, default=now),
                stats=stats)


def _messages_from_json(raw: list, turns: list[Turn], explicit_turns: bool,
                        now: datetime) -> list[MessageRecord]:
    messages: list[MessageRecord] = []
    pending_calls: list[tuple[int, dict, str]] = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        item = _object(item, where)
        role = _get(item, "role", where, str)
        _check_choice(role, ROLES, f"{where}.role")
        extra = _get(item, "ossian", where, dict, default={})
        at = f"{where}.ossian"
        status = _get(extra, "status", at, str, default="complete")
        _check_choice(status, MESSAGE_STATUSES, f"{at}.status")
        if status == "streaming":  # nothing is generating it any more
            status = "interrupted"
        if explicit_turns:
            turn_index = _get(extra, "turn", at, int, default=None)
            if turn_index is not None and not 0 <= turn_index < len(turns):
                raise _fail(f"{at}.turn is {turn_index}, but the file has {len(turns)} turn(s)")
        else:
            # A plain Harmony list has no turns: each user message starts one, as in the app.
            if role == "user":
                turns.append(Turn(id=len(turns) + 1, conversation_id=0, started_at=now))
            turn_index = len(turns) - 1 if turns else None
        messages.append(MessageRecord(
            id=index + 1,
            conversation_id=0,
            position=index,
            role=role,
            content=_content(item, where),
            created_at=_time(extra, "created_at", at, default=now),
            status=status,
            name=_name(item, "name", where, default=None),
            channel=_name(item, "channel", where, default=None),
            recipient=_name(item, "recipient", where, default=None),
            content_type=_name(item, "content_type", where, default=None),
            turn_id=None if turn_index is None else turns[turn_index].id,
            error=_get(extra, "error", at, str, default=None),
        ))
        call = _get(extra, "tool_call", at, dict, default=None)
        if call is not None:
            pending_calls.append((index, call, f"{at}.tool_call"))
    for index, call, where in pending_calls:
        messages[index] = _with_tool_call(messages, index, call, where)
    return messages


def _with_tool_call(messages: list[MessageRecord], index: int, call: dict, where: str) -> MessageRecord:
    message = messages[index]
    if message.role != "assistant" or message.recipient is None:
        raise _fail(f"{where} belongs to a message that is not a tool call (an assistant message with a "
                    "recipient)")
    state = _get(call, "state", where, str)
    _check_choice(state, TOOL_CALL_STATES, f"{where}.state")
    if not ToolCallState(state).finished:
        state = ToolCallState.INTERRUPTED
    result_index = _get(call, "result", where, int, default=None)
    result = None
    if result_index is not None:
        if not 0 <= result_index < len(messages) or messages[result_index].role != "tool":
            raise _fail(f"{where}.result is {result_index}, which is not the index of a tool message")
        result = messages[result_index]
    duration = _amount(call, "duration_s", where, default=None)
    tool_call = ToolCallRecord(
        message_id=message.id, tool=message.recipient, state=ToolCallState(state), arguments=message.content,
        result=None if result is None else result.content,
        result_message_id=None if result is None else result.id,
        duration_s=duration,
        error=_get(call, "error", where, str, default=None),
    )
    return dataclasses.replace(message, tool_call=tool_call)


def _attachment_from_json(item: Any, position: int, messages: list[MessageRecord],
                          now: datetime) -> Attachment:
    where = f"attachments[{position}]"
    item = _object(item, where)
    index = _get(item, "message", where, int)
    if not 0 <= index < len(messages) or messages[index].role != "user":
        raise _fail(f"{where}.message is {index}, which is not the index of a user message")
    sha256 = _get(item, "sha256", where, str).lower()
    if not _SHA256.match(sha256):
        raise _fail(f"{where}.sha256 must be 64 hexadecimal digits (a SHA-256 hash), not {sha256!r}")
    mode = _get(item, "mode", where, str, default="inline")
    _check_choice(mode, ATTACHMENT_MODES, f"{where}.mode")
    token_count = _count(item, "token_count", where, default=0)
    return Attachment(
        id=position + 1, conversation_id=0, message_id=messages[index].id,
        file_name=_name(item, "file_name", where),
        kind=_name(item, "kind", where, default=""),
        sha256=sha256, text=_get(item, "text", where, str), token_count=token_count, mode=mode,
        created_at=_time(item, "created_at", where, default=messages[index].created_at),
        page_count=_count(item, "page_count", where, default=None),
    )


def _content(item: dict, where: str) -> str:
    content = item.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # Harmony's own serializer writes [{"type": "text", "text": ...}]
        texts = []
        for i, part in enumerate(content):
            at = f"{where}.content[{i}]"
            part = _object(part, at)
            if part.get("type", "text") != "text":
                raise _fail(f"{at} has type {part.get('type')!r}; only text parts can be imported")
            texts.append(_get(part, "text", at, str))
        return check_length("".join(texts), f"{where}.content", import_guard.MAX_TEXT_CHARS)
    if isinstance(content, dict) and content.get("type") in ("system_content", "developer_content"):
        raise file_error(f"{where} carries a structured {content['type']}: Ossian writes the system and "
                         "developer messages itself from the conversation's settings",
                         "remove that message and import the file again")
    raise _fail(f"{where}.content must be text, not {type_name(content)}")


# --------------------------------------------------------------------------------------------- helpers


def _fail(what: str) -> ConversationFileError:
    return file_error(what)



def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(f"{where} must be an object, not {type_name(value)}")
    return value


def _get(obj: Mapping[str, Any], key: str, where: str, kind: type, default: Any = _MISSING,
         limit: int | None = None) -> Any:
    """obj[key] checked against `kind` (int excludes true/false; float accepts whole numbers); text of
    at most `limit` characters where given (`import_guard.check_tree` has held every text to
    `import_guard.MAX_TEXT_CHARS` already)."""
    value = obj.get(key)
    if value is None:
        if default is _MISSING:
            raise _fail(f"{where or 'the file'} has no {key!r}")
        return default
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        expected = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
                    list: "a list", dict: "an object"}[kind]
        raise _fail(f"{_label(where, key)} must be {expected}, not {type_name(value)}")
    if limit is not None:
        check_length(value, _label(where, key), limit, "name")
    return value


def _name(obj: Mapping[str, Any], key: str, where: str, default: Any = _MISSING) -> Any:
    """A short text: a name, channel, recipient, content type, file name or model."""
    return _get(obj, key, where, str, default=default, limit=import_guard.MAX_NAME_CHARS)


def _count(obj: Mapping[str, Any], key: str, where: str, default: int | None) -> int | None:
    """A whole number from 0 (`check_tree` has held it under 2**63, SQLite's limit)."""
    value = _get(obj, key, where, int, default=default)
    if value is not None and value < 0:
        raise _fail(f"{_label(where, key)} is {value}; it cannot be negative")
    return value


def _amount(obj: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    """A finite number from 0: seconds, tokens per second."""
    value = _get(obj, key, where, float, default=default)
    if value is not None and value < 0:
        raise _fail(f"{_label(where, key)} is {value}; it cannot be negative")
    return None if value is None else float(value)


def _label(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_choice(value: str, allowed: tuple[str, ...], label: str) -> None:
    if value not in allowed:
        raise _fail(f"{label} is {value!r}; it must be one of {', '.join(allowed)}")


def _time(obj: Mapping[str, Any], key: str, where: str, default: datetime) -> datetime:
    text = obj.get(key)
    if text is None:
        return default
    if not isinstance(text, str):  # a Unix timestamp, say: the format writes times as text only
        raise _fail(f"{_label(where, key)} must be an ISO 8601 time like 2025-08-05T14:30:00Z, not "
                    f"{type_name(text)}")
    label = _label(where, key)
    return import_guard.check_time(check_length(text, label, import_guard.MAX_NAME_CHARS, "time"), label)
