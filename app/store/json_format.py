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
ids (1, 2, ...), which the store maps to new ids inside one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.store.errors import ConversationFileError
from app.store.records import (
    ATTACHMENT_MODES,
    MESSAGE_STATUSES,
    PLACEHOLDER_TITLE,
    REASONING_EFFORTS,
    ROLES,
    TOOL_CALL_STATES,
    Attachment,
    Conversation,
    Message,
    ToolCall,
    Transcript,
    Turn,
    TurnStats,
)
from app.store.titles import MAX_TITLE_CHARS, auto_title

FORMAT_NAME = "ossian-conversation"
FORMAT_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MISSING = object()


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


def _message_json(message: Message, message_index: dict[int, int], turn_index: dict[int, int]) -> dict:
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
    try:
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise _fail(f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise _fail(f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    return transcript_from_json(data, now)


def transcript_from_json(data: Any, now: datetime) -> Transcript:
    if isinstance(data, list):
        data = {"messages": data}
    if not isinstance(data, dict):
        raise _fail(f"it holds {_type_name(data)}; expected an object from an Ossian export or a list of "
                    "Harmony messages")
    file_format = data.get("format")
    if file_format is not None and file_format != FORMAT_NAME:
        raise _fail(f"its format is {file_format!r}, not {FORMAT_NAME!r}")
    version = data.get("version", FORMAT_VERSION) if file_format else FORMAT_VERSION
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(f"version must be a whole number from 1, not {version!r}")
    if version > FORMAT_VERSION:
        raise _fail(f"it is version {version} of the format, written by a newer Ossian (this one reads up to "
                    f"version {FORMAT_VERSION}); update Ossian to import it")

    raw_messages = _get(data, "messages", "", list)
    raw_turns = _get(data, "turns", "", list, default=[])
    turns = [_turn_from_json(item, i, now) for i, item in enumerate(raw_turns)]
    explicit_turns = "turns" in data
    messages = _messages_from_json(raw_messages, turns, explicit_turns, now)
    attachments = [_attachment_from_json(item, i, messages, now)
                   for i, item in enumerate(_get(data, "attachments", "", list, default=[]))]
    conversation = _conversation_from_json(data, messages, now)
    return Transcript(conversation, tuple(messages), tuple(turns), tuple(attachments))


def _conversation_from_json(data: dict, messages: list[Message], now: datetime) -> Conversation:
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
    settings = _get(data, "settings", "", dict, default={})
    return Conversation(
        id=0,
        title=title,
        created_at=created,
        updated_at=_time(data, "updated_at", "", default=max(
            [created, *(m.created_at for m in messages)])),
        model=_get(data, "model", "", str, default=None),
        reasoning_effort=effort,
        settings=settings,
        pinned=_get(data, "pinned", "", bool, default=False),
        archived=_get(data, "archived", "", bool, default=False),
        title_source=source,
    )


def _turn_from_json(item: Any, index: int, now: datetime) -> Turn:
    where = f"turns[{index}]"
    item = _object(item, where)
    stats = None
    raw = _get(item, "stats", where, dict, default=None)
    if raw is not None:
        at = f"{where}.stats"
        stats = TurnStats(
            prompt_tokens=_get(raw, "prompt_tokens", at, int, default=0),
            reused_tokens=_get(raw, "reused_tokens", at, int, default=0),
            generated_tokens=_get(raw, "generated_tokens", at, int, default=0),
            time_to_first_token_s=float(_get(raw, "time_to_first_token_s", at, float, default=0.0)),
            tokens_per_second=float(_get(raw, "tokens_per_second", at, float, default=0.0)),
            finish_reason=_get(raw, "finish_reason", at, str, default=None),
        )
    return Turn(id=index + 1, conversation_id=0, started_at=_time(item, "started_at", where, default=now),
                stats=stats)


def _messages_from_json(raw: list, turns: list[Turn], explicit_turns: bool, now: datetime) -> list[Message]:
    messages: list[Message] = []
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
        messages.append(Message(
            id=index + 1,
            conversation_id=0,
            position=index,
            role=role,
            content=_content(item, where),
            created_at=_time(extra, "created_at", at, default=now),
            status=status,
            name=_get(item, "name", where, str, default=None),
            channel=_get(item, "channel", where, str, default=None),
            recipient=_get(item, "recipient", where, str, default=None),
            content_type=_get(item, "content_type", where, str, default=None),
            turn_id=None if turn_index is None else turns[turn_index].id,
            error=_get(extra, "error", at, str, default=None),
        ))
        call = _get(extra, "tool_call", at, dict, default=None)
        if call is not None:
            pending_calls.append((index, call, f"{at}.tool_call"))
    for index, call, where in pending_calls:
        messages[index] = _with_tool_call(messages, index, call, where)
    return messages


def _with_tool_call(messages: list[Message], index: int, call: dict, where: str) -> Message:
    message = messages[index]
    if message.role != "assistant" or message.recipient is None:
        raise _fail(f"{where} belongs to a message that is not a tool call (an assistant message with a "
                    "recipient)")
    state = _get(call, "state", where, str)
    _check_choice(state, TOOL_CALL_STATES, f"{where}.state")
    if state in ("waiting_approval", "running"):
        state = "interrupted"
    result_index = _get(call, "result", where, int, default=None)
    result = None
    if result_index is not None:
        if not 0 <= result_index < len(messages) or messages[result_index].role != "tool":
            raise _fail(f"{where}.result is {result_index}, which is not the index of a tool message")
        result = messages[result_index]
    duration = _get(call, "duration_s", where, float, default=None)
    tool_call = ToolCall(
        message_id=message.id, tool=message.recipient, state=state, arguments=message.content,
        result=None if result is None else result.content,
        result_message_id=None if result is None else result.id,
        duration_s=None if duration is None else float(duration),
        error=_get(call, "error", where, str, default=None),
    )
    return dataclasses.replace(message, tool_call=tool_call)


def _attachment_from_json(item: Any, position: int, messages: list[Message], now: datetime) -> Attachment:
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
    token_count = _get(item, "token_count", where, int, default=0)
    if token_count < 0:
        raise _fail(f"{where}.token_count is {token_count}; it cannot be negative")
    return Attachment(
        id=position + 1, conversation_id=0, message_id=messages[index].id,
        file_name=_get(item, "file_name", where, str), kind=_get(item, "kind", where, str, default=""),
        sha256=sha256, text=_get(item, "text", where, str), token_count=token_count, mode=mode,
        created_at=_time(item, "created_at", where, default=messages[index].created_at),
        page_count=_get(item, "page_count", where, int, default=None),
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
        return "".join(texts)
    if isinstance(content, dict) and content.get("type") in ("system_content", "developer_content"):
        raise _fail(f"{where} carries a structured {content['type']}: Ossian writes the system and developer "
                    "messages itself from the conversation's settings. Remove that message and import again")
    raise _fail(f"{where}.content must be text, not {_type_name(content)}")


# --------------------------------------------------------------------------------------------- helpers


def _fail(what: str) -> ConversationFileError:
    return ConversationFileError(f"This conversation file cannot be imported: {what}.")


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(f"{where} must be an object, not {_type_name(value)}")
    return value


def _get(obj: Mapping[str, Any], key: str, where: str, kind: type, default: Any = _MISSING) -> Any:
    """obj[key] checked against `kind` (int excludes true/false; float accepts whole numbers)."""
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
        raise _fail(f"{_label(where, key)} must be {expected}, not {_type_name(value)}")
    return value


def _label(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _check_choice(value: str, allowed: tuple[str, ...], label: str) -> None:
    if value not in allowed:
        raise _fail(f"{label} is {value!r}; it must be one of {', '.join(allowed)}")


def _time(obj: Mapping[str, Any], key: str, where: str, default: datetime) -> datetime:
    text = _get(obj, key, where, str, default=None)
    if text is None:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _fail(f"{_label(where, key)} is {text!r}, not an ISO 8601 time like 2025-08-05T14:30:00Z"
                    ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
