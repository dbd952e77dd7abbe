"""What a conversation file from outside may hold, and what of it the store keeps: the import's limits.

An imported file is untrusted input: anyone can write one and send it. This module owns the checks
that keep such a file from doing more than adding a conversation: the limits on its size, its nesting,
the count of its messages, turns and attachments and the length of its texts; the numbers, times and
Unicode that SQLite and the rest of the app can take; and the conversation settings that never travel
(standing permissions: "always allow" approvals and tool switches), so an imported conversation asks
before it runs anything. Each failure is one `ConversationFileError` naming the place in the file
(`messages[12].ossian.created_at`), what is allowed (with the numbers) and what to do.

`json_format` reads the file's structure; it calls `parse` on the text and `check_tree` on the parsed
data before it reads any field.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from app.store.errors import ConversationFileError
from app.store.records import ALWAYS_ALLOWED_KEY, TOOLS_KEY
from app.units import MIB, format_bytes

# Memory, not disk, is what these bound: the whole file is parsed into Python objects (several times
# its size). 256 MiB holds four attachments at the documents' own text limit (64 Mi characters).
MAX_FILE_BYTES = 256 * MIB
MAX_DEPTH = 64  # an export nests 5 deep; settings may nest a little more
MAX_MESSAGES = 100_000
MAX_TURNS = 100_000
MAX_ATTACHMENTS = 10_000
# app.documents.SizeLimits.max_text_chars: a document the app attached must import again (the store
# imports no app package, so the number is repeated here).
MAX_TEXT_CHARS = 64 * MIB
MAX_NAME_CHARS = 1_000  # names, channels, recipients, content types, file names, models
MAX_SETTINGS_CHARS = 1 * MIB  # the settings object as JSON (instructions are its longest part)
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1  # SQLite's INTEGER
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999  # wider than any real chat; far from datetime's overflow at 1/9999

# Conversation settings that grant something (records.TOOLS_KEY, ALWAYS_ALLOWED_KEY). They are checked
# (so a malformed file is reported, not half-read) and dropped.
STANDING_PERMISSIONS = (ALWAYS_ALLOWED_KEY, TOOLS_KEY)
INSTRUCTIONS_KEY = "instructions"  # kept: text the model reads, which grants nothing (app.chat.session)

FIX_THE_FILE = ("correct that part of the file (or export the conversation from Ossian again) and import "
                "it again")
TOO_LARGE = "Ossian cannot import a conversation this large; split it into smaller files"
SHORTEN = "shorten that text in the file and import it again"

_SURROGATE = re.compile("[\ud800-\udfff]")  # json pairs escaped surrogates, so any left is alone
_SLICE_CHARS = 1 << 20
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_INT_DIGITS = 100  # longer ones are shown by their count of digits


def file_error(what: str, advice: str = FIX_THE_FILE) -> ConversationFileError:
    return ConversationFileError(f"This conversation file cannot be imported: {what}. Nothing was "
                                 f"imported; {advice}.")


class _LongNumber:
    """A whole number with more digits than any storable one, kept unconverted: Python refuses to turn
    more than 4,300 digits into an int (a ValueError from inside json), and a place in the file is
    only known later, in `check_tree`."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(text: str) -> int | _LongNumber:
    digits = len(text.lstrip("-"))
    return _LongNumber(digits) if digits > _MAX_INT_DIGITS else int(text)


def parse(text: str | bytes) -> Any:
    """The file's JSON, within the size limit; nesting, numbers and texts are for `check_tree`."""
    size = len(text)  # bytes, or characters (each at least one byte) for text
    if size > MAX_FILE_BYTES:
        raise file_error(f"it is {format_bytes(size)}; Ossian imports files of up to "
                         f"{format_bytes(MAX_FILE_BYTES)}", TOO_LARGE)
    try:
        # NaN and Infinity come back as floats here and are refused, with their place, by check_tree.
        return json.loads(text, parse_int=_parse_int)
    except RecursionError as exc:  # json's C scanner recurses once per level
        raise file_error(f"it nests lists and objects more than {MAX_DEPTH} levels deep") from exc
    except UnicodeDecodeError as exc:
        raise file_error(f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise file_error(f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                         ) from exc


def check_tree(data: Any) -> tuple[Any, int]:
    """`data` with every lone surrogate replaced by U+FFFD, and how many were; refuses what is too deep,
    too long or a number SQLite cannot store (not finite, or outside 64 bits).

    Lone surrogates (`"\\ud800"` in JSON) are no Unicode: SQLite's UTF-8 encoding would raise on them
    in the middle of the import. Everything else in such a text is usually fine, so it is repaired, and
    the import says so. Lists and objects are repaired in place.
    """
    walk = _Walk()
    return walk.value(data, None, 1), walk.repaired


# Where a value is, as (parent trail, key or index); None is the top. Made into text only for an error
# message: formatting a path for each of a million values would double the import's time.
Trail = tuple[Any, str | int] | None


def path_of(trail: Trail) -> str:
    keys: list[str | int] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = ""
    for key in reversed(keys):
        path = f"{path}[{key}]" if isinstance(key, int) else key_path(path, key)
    return path


class _Walk:
    def __init__(self) -> None:
        self.repaired = 0

    def value(self, value: Any, trail: Trail, depth: int) -> Any:
        kind = type(value)  # exact types first: this runs once per value in the file
        if kind is str:
            return self.text(value, trail)
        if kind is dict or kind is list:
            if depth > MAX_DEPTH:
                raise file_error(f"{_at(path_of(trail))} nests lists and objects more than {MAX_DEPTH} "
                                 "levels deep")
            if kind is list:
                for i, item in enumerate(value):
                    checked = self.value(item, (trail, i), depth + 1)
                    if checked is not item:
                        value[i] = checked
                return value
            return self.object(value, trail, depth)
        if kind is bool or value is None:
            return value
        if kind is int:
            if not MIN_INTEGER <= value <= MAX_INTEGER:
                raise file_error(f"{_at(path_of(trail))} is {value}; {_INTEGER_RANGE}")
            return value
        if kind is float:
            if not math.isfinite(value):
                shown = "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
                raise file_error(f"{_at(path_of(trail))} must be a finite number, not {shown}")
            return value
        if kind is _LongNumber:
            raise file_error(f"{_at(path_of(trail))} is a number with {value.digits:,} digits; "
                             f"{_INTEGER_RANGE}")
        return value  # not from json.loads; the field readers say what they expected instead

    def object(self, value: dict, trail: Trail, depth: int) -> dict:
        rekeyed = False
        for key in value:
            if type(key) is str:
                if len(key) > MAX_NAME_CHARS:
                    raise file_error(f"{_at(path_of(trail))} has a key {len(key):,} characters long; Ossian "
                                     f"imports keys of at most {MAX_NAME_CHARS:,} characters")
                if self.text(key, trail) is not key:  # counted here, replaced below
                    rekeyed = True
        if rekeyed:  # rare: build it again under the repaired keys
            items = [(_SURROGATE.sub("\ufffd", key) if type(key) is str else key, item)
                     for key, item in value.items()]
            value.clear()
            value.update(items)
        for key, item in value.items():
            checked = self.value(item, (trail, key), depth + 1)
            if checked is not item:
                value[key] = checked  # replacing a value while iterating is allowed; adding a key is not
        return value

    def text(self, value: str, trail: Trail) -> str:
        if len(value) > MAX_TEXT_CHARS:
            raise file_error(_too_long(path_of(trail), len(value), MAX_TEXT_CHARS, "text"), SHORTEN)
        if value.isascii() or not _has_surrogate(value):
            return value
        repaired, count = _SURROGATE.subn("\ufffd", value)
        self.repaired += count
        return repaired


def _has_surrogate(value: str) -> bool:
    # Encoding finds one four times as fast as the regular expression; in slices, so a 64 Mi-character
    # text does not take another 256 MiB while it is checked.
    for start in range(0, len(value), _SLICE_CHARS):
        try:
            value[start:start + _SLICE_CHARS].encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


_INTEGER_RANGE = f"whole numbers in a conversation file must be from {MIN_INTEGER:,} to {MAX_INTEGER:,}"


def check_count(items: list, name: str, limit: int) -> None:
    if len(items) > limit:
        raise file_error(f"it has {len(items):,} {name}; Ossian imports at most {limit:,} in one "
                         "conversation", TOO_LARGE)


def check_length(value: str, label: str, limit: int, what: str = "text") -> str:
    if len(value) > limit:
        raise file_error(_too_long(label, len(value), limit, what), SHORTEN)
    return value


def check_time(text: str, label: str) -> datetime:
    """An ISO 8601 time in UTC, within the years a conversation can have been held."""
    try:
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError as exc:  # e.g. year 0, month 99
        raise file_error(f"{label} is {text!r}, not an ISO 8601 time like 2025-08-05T14:30:00Z") from exc
    except OverflowError as exc:  # 9999-12-31T23:59-23:59 is valid ISO 8601 but past year 9999 in UTC
        raise file_error(_outside_years(label, text)) from exc
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise file_error(_outside_years(label, text))
    return moment


def _outside_years(label: str, text: str) -> str:
    return f"{label} is {text!r}, outside the years {EARLIEST_YEAR} to {LATEST_YEAR}"


# --------------------------------------------------------------------------------------- settings


def settings_for_import(settings: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...], str | None]:
    """The settings an imported conversation keeps, the standing permissions dropped that granted
    something (their keys) and a sentence saying so (None when nothing was granted).

    The permissions are checked before they are dropped: a file that gets them wrong was not written by
    Ossian, and the person importing it should hear that rather than have parts of it silently ignored.
    """
    always = settings.get(ALWAYS_ALLOWED_KEY)
    allowed = [] if always is None else _names(always, f"settings.{ALWAYS_ALLOWED_KEY}")
    switched_on = _tools_on(settings.get(TOOLS_KEY))
    instructions = settings.get(INSTRUCTIONS_KEY)
    if instructions is not None and not isinstance(instructions, str):
        raise file_error(f"settings.{INSTRUCTIONS_KEY} must be text, not {type_name(instructions)}")
    kept = {key: value for key, value in settings.items() if key not in STANDING_PERMISSIONS}
    size = len(json.dumps(kept, ensure_ascii=False))
    if size > MAX_SETTINGS_CHARS:
        raise file_error(f"its settings are {size:,} characters long as JSON; Ossian imports at most "
                         f"{MAX_SETTINGS_CHARS:,}")
    reset = tuple(key for key, granted in ((ALWAYS_ALLOWED_KEY, allowed), (TOOLS_KEY, switched_on))
                  if granted)
    if not reset:
        return kept, (), None
    parts = []
    if allowed:
        parts.append(f"“always allow” for {_listed(allowed)}")
    if switched_on:
        parts.append(f"tools switched on ({_listed(switched_on)})")
    notice = (f"The file's standing permissions were not imported: {' and '.join(parts)}. An imported "
              "conversation starts with its tools off and asks before every tool call; switch tools on "
              "again in the chat if you trust it.")
    return kept, reset, notice


def _names(value: Any, label: str) -> list[str]:
    if not isinstance(value, list):
        raise file_error(f"{label} must be a list of tool names, not {type_name(value)}")
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise file_error(f"{label}[{i}] must be text, not {type_name(name)}")
        check_length(name, f"{label}[{i}]", MAX_NAME_CHARS, "name")
    return value


def _tools_on(record: Any) -> list[str]:
    """The tools a `ToolSelection` record (app.tools.registry) switches on, checked as it checks them."""
    if record is None:
        return []
    label = f"settings.{TOOLS_KEY}"
    if not isinstance(record, dict):
        raise file_error(f"{label} must be an object, not {type_name(record)}")
    on = []
    for switch in ("python", "browser"):
        value = record.get(switch, False)
        if not isinstance(value, bool):
            raise file_error(f"{label}.{switch} must be true or false, not {type_name(value)}")
        if value:
            on.append(switch)
    servers = [f"MCP server {name}" for name in _names(record.get("mcp", []), f"{label}.mcp")]
    return on + _names(record.get("functions", []), f"{label}.functions") + servers


def _listed(names: list[str]) -> str:
    # The names come from the file: shown short, and only the first few.
    shown = [name if len(name) <= 40 else name[:39] + "…" for name in names[:5]]
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(shown) + more


# ---------------------------------------------------------------------------------------- helpers


def key_path(path: str, key: Any) -> str:
    """`path` extended by an object key, as the error messages write places in the file."""
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    shown = json.dumps(key if len(str(key)) <= 40 else str(key)[:39] + "…", ensure_ascii=False)
    return f"{path}[{shown}]"


def _at(path: str) -> str:
    return path or "the file"


def _too_long(label: str, length: int, limit: int, what: str) -> str:
    return (f"{_at(label)} is {length:,} characters long; Ossian imports at most {limit:,} characters in "
            f"one {what}")



def type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
