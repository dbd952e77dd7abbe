"""Tool calls in parsed output: which messages are calls, to what, and with which arguments.

A message is a tool call when the assistant addresses it to anyone but `assistant`/`all`, whatever its
channel (`analysis` or `commentary`) and whatever ended it (`<|call|>`, `<|return|>` or `<|end|>`), since
gpt-oss is seen doing all of these. `functions.python` and `functions.browser.search` mean the builtin
tools, as gpt-oss's api_server reads them. Arguments that are not clean JSON get one rescue attempt (the
first balanced `{...}`), and otherwise an error text to send back to the model instead of a crash.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.harmony.builtin_tools import BUILTIN_NAMESPACES
from app.harmony.messages import ASSISTANT, CONVERSATION_RECIPIENTS, FUNCTIONS_NAMESPACE, Message

_FUNCTIONS_PREFIX = FUNCTIONS_NAMESPACE + "."
_MAX_RESCUE_ATTEMPTS = 16


@dataclass(frozen=True, slots=True)
class ToolArguments:
    """Arguments read from a tool call: `value` when they could be read, else `error` for the model."""

    value: dict[str, Any] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def is_tool_call(message: Message) -> bool:
    """Whether the assistant addressed this message to a tool."""
    return message.role == ASSISTANT and bool(message.recipient) \
        and message.recipient not in CONVERSATION_RECIPIENTS


def tool_call_target(message: Message, function_names: Collection[str] = ()) -> str | None:
    """The tool a call is for (`functions.get_weather`, `python`, `browser.search`), or None if no call.

    `function_names` are the app's own function tools, so a function really named `python` keeps its name.
    """
    if not is_tool_call(message):
        return None
    assert message.recipient is not None
    return normalize_recipient(message.recipient, function_names)


def normalize_recipient(recipient: str, function_names: Collection[str] = ()) -> str:
    """`functions.python` -> `python`, `functions.browser.search` -> `browser.search`; others unchanged."""
    if recipient.startswith(_FUNCTIONS_PREFIX):
        rest = recipient[len(_FUNCTIONS_PREFIX):]
        if rest not in function_names and rest.split(".", 1)[0] in BUILTIN_NAMESPACES:
            return rest
    return recipient


def parse_tool_arguments(text: str) -> ToolArguments:
    """A function call's arguments as a JSON object; empty text means no arguments."""
    stripped = text.strip()
    if not stripped:
        return ToolArguments({})
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        rescued = _first_json_object(stripped)
        if rescued is not None:
            return ToolArguments(rescued)
        return ToolArguments(None, (
            f"Error: the arguments of this tool call are not valid JSON ({exc.msg}: line {exc.lineno} "
            f"column {exc.colno}). Call the tool again with its arguments as one JSON object."))
    if isinstance(value, dict):
        return ToolArguments(value)
    return ToolArguments(None, (
        f"Error: the arguments of this tool call must be a JSON object with named parameters, not "
        f"{type(value).__name__ if value is not None else 'null'}. Call the tool again with an object."))


def python_code_from_arguments(text: str) -> str:
    """The code of a python call: the raw text, or its `code` field when it came as `{"code": ...}`."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return text
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            return value["code"]
    return text


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first balanced `{...}` in `text` that is a JSON object (e.g. inside a ```json fence)."""
    start = text.find("{")
    attempts = 0
    while start >= 0 and attempts < _MAX_RESCUE_ATTEMPTS:
        attempts += 1
        end = _balanced_end(text, start)
        if end is None:
            return None
        try:
            value = json.loads(text[start:end])
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def _balanced_end(text: str, start: int) -> int | None:
    """The index after the `}` that closes the `{` at `start`, skipping braces inside JSON strings."""
    depth = 0
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    return None
