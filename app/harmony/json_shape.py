"""openai-harmony's JSON message shape, read and written: the CLI's cases and the store's JSON export.

A message is `{"role", "name"?, "content", "channel"?, "recipient"?, "content_type"?}`; content is a
string, a `system_content` / `developer_content` object, or a list of `{"type": "text", "text": ...}`
items. Missing content fields take the library's Python defaults; an explicit null means "leave it out".
Every error names the place in the document (`messages[2].content.tools.browser`) and what to fix.
Unknown keys are ignored, as the library ignores them, unless they look like a misspelt known key.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.harmony.errors import HarmonyFormatError
from app.harmony.messages import (
    ASSISTANT,
    ROLES,
    ChannelConfig,
    DeveloperContent,
    Message,
    SystemContent,
    ToolDescription,
    ToolNamespace,
    reasoning_effort,
)

_MESSAGE_KEYS = ("role", "name", "content", "channel", "recipient", "content_type")
_SYSTEM_KEYS = ("type", "model_identity", "reasoning_effort", "conversation_start_date", "knowledge_cutoff",
                "channel_config", "tools")
_DEVELOPER_KEYS = ("type", "instructions", "tools")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class RenderCase:
    """What `ossian harmony render CASE.json` renders: messages, the generation prompt, the CoT rule."""

    messages: tuple[Message, ...]
    next_turn_role: str | None = ASSISTANT
    auto_drop_analysis: bool = True


def render_case_from_json(document: Any) -> RenderCase:
    """A case object `{"messages": [...], "next_turn_role": ..., "auto_drop_analysis": ...}`.

    Other keys (a case copied out of cases.json carries `file`, `operation`, `compare`) are ignored.
    A missing `next_turn_role` means "assistant"; a missing or null `auto_drop_analysis` means true.
    """
    if not isinstance(document, Mapping):
        raise HarmonyFormatError(
            f"the case must be a JSON object with a \"messages\" list, not {_json_type(document)}")
    if "messages" not in document:
        raise HarmonyFormatError('the case has no "messages" list')
    messages = messages_from_json(document["messages"], "messages")
    next_turn_role = document.get("next_turn_role", ASSISTANT)
    if next_turn_role is not None and next_turn_role not in ROLES:
        raise HarmonyFormatError(
            f"next_turn_role: {next_turn_role!r} is not a role; use one of {', '.join(ROLES)}, or null")
    auto_drop = document.get("auto_drop_analysis")
    if auto_drop is not None and not isinstance(auto_drop, bool):
        raise HarmonyFormatError(f"auto_drop_analysis: must be true, false or null, not {auto_drop!r}")
    return RenderCase(tuple(messages), next_turn_role, True if auto_drop is None else auto_drop)


def messages_from_json(document: Any, where: str = "messages") -> list[Message]:
    if not isinstance(document, list):
        raise HarmonyFormatError(f"{where}: must be a list of messages, not {_json_type(document)}")
    return [message_from_json(item, f"{where}[{i}]") for i, item in enumerate(document)]


def message_from_json(document: Any, where: str = "message") -> Message:
    if not isinstance(document, Mapping):
        raise HarmonyFormatError(f"{where}: a message must be a JSON object, not {_json_type(document)}")
    _reject_unknown_keys(document, _MESSAGE_KEYS, where)
    if "role" not in document:
        raise HarmonyFormatError(f"{where}: the message has no \"role\" ({', '.join(ROLES)})")
    role = document["role"]
    if role not in ROLES:
        raise HarmonyFormatError(f"{where}.role: {role!r} is not a role; use one of {', '.join(ROLES)}")
    fields = {key: _optional_text(document.get(key), f"{where}.{key}")
              for key in ("name", "channel", "recipient", "content_type")}
    content = _content_from_json(document.get("content", ""), f"{where}.content")
    try:
        return Message(role, content, **fields)
    except HarmonyFormatError as exc:
        raise HarmonyFormatError(f"{where}: {exc}") from None


def message_to_json(message: Message) -> dict[str, Any]:
    """The message in openai-harmony's JSON shape; absent fields are left out."""
    document: dict[str, Any] = {"role": message.role}
    if message.name is not None:
        document["name"] = message.name
    content = message.content
    if isinstance(content, SystemContent):
        document["content"] = _system_to_json(content)
    elif isinstance(content, DeveloperContent):
        document["content"] = {"type": "developer_content", "instructions": content.instructions,
                               "tools": _namespaces_to_json(content.tools)}
    else:
        document["content"] = content
    for key in ("channel", "recipient", "content_type"):
        value = getattr(message, key)
        if value is not None:
            document[key] = value
    return document


def messages_to_json(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [message_to_json(message) for message in messages]


def _content_from_json(document: Any, where: str) -> str | SystemContent | DeveloperContent:
    if isinstance(document, str):
        return document
    if isinstance(document, list):
        # The library keeps a list of contents and renders them back to back.
        items = [_content_from_json(item, f"{where}[{i}]") for i, item in enumerate(document)]
        if len(items) == 1:
            return items[0]
        if all(isinstance(item, str) for item in items):
            return "".join(item for item in items if isinstance(item, str))
        raise HarmonyFormatError(f"{where}: a system or developer content object must be the only content")
    if isinstance(document, Mapping):
        kind = document.get("type")
        if kind == "text":
            _reject_unknown_keys(document, ("type", "text"), where)
            return _text(document.get("text"), f"{where}.text")
        if kind == "system_content":
            return _system_from_json(document, where)
        if kind == "developer_content":
            return _developer_from_json(document, where)
        raise HarmonyFormatError(
            f"{where}.type: {kind!r} is not a content type; use \"text\", \"system_content\" or "
            "\"developer_content\"")
    raise HarmonyFormatError(
        f"{where}: content must be a string, an object or a list, not {_json_type(document)}")


def _system_from_json(document: Mapping[str, Any], where: str) -> SystemContent:
    _reject_unknown_keys(document, _SYSTEM_KEYS, where)
    defaults = SystemContent()
    values: dict[str, Any] = {}
    for key in ("model_identity", "conversation_start_date", "knowledge_cutoff"):
        values[key] = _optional_text(document.get(key, getattr(defaults, key)), f"{where}.{key}")
    effort = document.get("reasoning_effort", defaults.reasoning_effort)
    try:
        values["reasoning_effort"] = None if effort is None else reasoning_effort(effort)
    except HarmonyFormatError as exc:
        raise HarmonyFormatError(f"{where}.reasoning_effort: {exc}") from None
    config = document.get("channel_config", _MISSING)
    values["channel_config"] = defaults.channel_config if config is _MISSING else \
        _channel_config_from_json(config, f"{where}.channel_config")
    values["tools"] = _namespaces_from_json(document.get("tools"), f"{where}.tools")
    return SystemContent(**values)


def _developer_from_json(document: Mapping[str, Any], where: str) -> DeveloperContent:
    _reject_unknown_keys(document, _DEVELOPER_KEYS, where)
    return DeveloperContent(
        instructions=_optional_text(document.get("instructions"), f"{where}.instructions"),
        tools=_namespaces_from_json(document.get("tools"), f"{where}.tools"),
    )


def _channel_config_from_json(document: Any, where: str) -> ChannelConfig | None:
    if document is None:
        return None
    if not isinstance(document, Mapping):
        raise HarmonyFormatError(f"{where}: must be an object or null, not {_json_type(document)}")
    _reject_unknown_keys(document, ("valid_channels", "channel_required"), where)
    channels = document.get("valid_channels", [])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise HarmonyFormatError(f"{where}.valid_channels: must be a list of channel names")
    required = document.get("channel_required", False)
    if not isinstance(required, bool):
        raise HarmonyFormatError(f"{where}.channel_required: must be true or false")
    return ChannelConfig(tuple(channels), required)


def _namespaces_from_json(document: Any, where: str) -> tuple[ToolNamespace, ...]:
    if document is None:
        return ()
    if not isinstance(document, Mapping):
        raise HarmonyFormatError(
            f"{where}: must be an object mapping namespace names to namespaces, not {_json_type(document)}")
    namespaces = []
    for key, value in document.items():
        here = f"{where}.{key}"
        if not isinstance(value, Mapping):
            raise HarmonyFormatError(f"{here}: a namespace must be an object, not {_json_type(value)}")
        _reject_unknown_keys(value, ("name", "description", "tools"), here)
        name = value.get("name", key)
        if name != key:
            raise HarmonyFormatError(f"{here}.name: {name!r} differs from its key {key!r}")
        tools = value.get("tools") or []
        if not isinstance(tools, list):
            raise HarmonyFormatError(f"{here}.tools: must be a list of tools")
        namespaces.append(ToolNamespace(
            _text(name, f"{here}.name"),
            _optional_text(value.get("description"), f"{here}.description"),
            tuple(_tool_from_json(tool, f"{here}.tools[{i}]") for i, tool in enumerate(tools)),
        ))
    return tuple(namespaces)


def _tool_from_json(document: Any, where: str) -> ToolDescription:
    if not isinstance(document, Mapping):
        raise HarmonyFormatError(f"{where}: a tool must be an object, not {_json_type(document)}")
    _reject_unknown_keys(document, ("name", "description", "parameters"), where)
    return ToolDescription(_text(document.get("name"), f"{where}.name"),
                           _text(document.get("description", ""), f"{where}.description"),
                           document.get("parameters"))


def _system_to_json(system: SystemContent) -> dict[str, Any]:
    config = system.channel_config
    return {
        "type": "system_content",
        "model_identity": system.model_identity,
        "reasoning_effort": None if system.reasoning_effort is None else system.reasoning_effort.value,
        "conversation_start_date": system.conversation_start_date,
        "knowledge_cutoff": system.knowledge_cutoff,
        "channel_config": None if config is None else {
            "valid_channels": list(config.valid_channels), "channel_required": config.channel_required},
        "tools": _namespaces_to_json(system.tools),
    }


def _namespaces_to_json(namespaces: tuple[ToolNamespace, ...]) -> dict[str, Any] | None:
    if not namespaces:
        return None
    return {ns.name: {"name": ns.name, "description": ns.description,
                      "tools": [{"name": t.name, "description": t.description, "parameters": t.parameters}
                                for t in ns.tools]}
            for ns in sorted(namespaces, key=lambda ns: ns.name)}


def _reject_unknown_keys(document: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    """Like openai-harmony, other keys are ignored (an export may carry its own, e.g. "ossian"), except
    ones so close to a known key that they must be a typo."""
    for key in document:
        if key not in allowed and (close := difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.75)):
            raise HarmonyFormatError(f"{where}: unknown key {key!r}; did you mean {close[0]!r}?")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise HarmonyFormatError(f"{where}: must be a string, not {_json_type(value)}")
    return value


def _optional_text(value: Any, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return type(value).__name__
