"""Checks of what callers hand the store, before any SQL runs; each failure says what is allowed.

SQLite's CHECK constraints would catch most of these too, but as "CHECK constraint failed", a sentence
no one can act on, and after a transaction had begun. Text must be valid Unicode: sqlite3 encodes it as
UTF-8 when it binds it, and a lone surrogate (which Python strings can hold) would raise
UnicodeEncodeError there, an exception outside the store's tree. Conversation files have their own,
stricter checks in `import_guard`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from app.store.errors import InvalidInput
from app.store.records import ATTACHMENT_MODES, MESSAGE_STATUSES, ROLES, NewAttachment, NewMessage


def check_unicode(value: str | None, name: str) -> None:
    """Refuse text holding a lone surrogate, which SQLite's UTF-8 encoding cannot write."""
    if value is None or value.isascii():  # the common case, without a copy
        return
    try:
        value.encode("utf-8")  # what sqlite3 does when it binds the text
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{name} holds a lone surrogate (U+{ord(value[exc.start]):04X} at character "
                           f"{exc.start}), which is not valid Unicode; replace it (e.g. with U+FFFD) "
                           "first.") from exc


def check_choice(value: object, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")


def settings_json(settings: Mapping[str, Any]) -> str:
    if not isinstance(settings, Mapping):
        raise InvalidInput(f"settings must be a dict, not {type(settings).__name__}.")
    try:
        text = json.dumps(dict(settings), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"settings must hold only JSON values (text, numbers, lists, dicts): {exc}.") from exc
    check_unicode(text, "settings")
    return text


def check_message(message: NewMessage) -> None:
    if not isinstance(message, NewMessage):
        raise InvalidInput(f"Expected a NewMessage, not {type(message).__name__}.")
    check_choice(message.role, ROLES, "role")
    check_choice(message.status, MESSAGE_STATUSES, "status")
    if not isinstance(message.content, str):
        raise InvalidInput(f"Message content must be text, not {type(message.content).__name__}.")
    check_unicode(message.content, "Message content")
    for name in ("name", "channel", "recipient", "content_type", "error"):
        value = getattr(message, name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"Message {name} must be text or None, not {type(value).__name__}.")
        check_unicode(value, f"Message {name}")


def check_attachment(attachment: NewAttachment) -> None:
    if not isinstance(attachment, NewAttachment):
        raise InvalidInput(f"Expected a NewAttachment, not {type(attachment).__name__}.")
    sha = attachment.sha256
    if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
        raise InvalidInput(f"sha256 must be 64 lowercase hexadecimal digits (the original file's SHA-256), "
                           f"not {sha!r}.")
    check_choice(attachment.mode, ATTACHMENT_MODES, "mode")
    if not isinstance(attachment.text, str) or not isinstance(attachment.file_name, str):
        raise InvalidInput("An attachment's file_name and text must be text.")
    if not attachment.file_name.strip():
        raise InvalidInput("An attachment needs a file name.")
    check_unicode(attachment.file_name, "An attachment's file_name")
    check_unicode(attachment.text, "An attachment's text")
    if isinstance(attachment.kind, str):
        check_unicode(attachment.kind, "An attachment's kind")
    if not isinstance(attachment.token_count, int) or attachment.token_count < 0:
        raise InvalidInput(f"token_count must be a whole number from 0, not {attachment.token_count!r}.")
    pages = attachment.page_count
    if pages is not None and (not isinstance(pages, int) or pages < 0):
        raise InvalidInput(f"page_count must be None or a whole number from 0, not {pages!r}.")
