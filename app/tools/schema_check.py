"""Checking a function call's arguments against the tool's JSON schema, with errors for the model.

Only the parts of JSON Schema that tool declarations use (and that Harmony renders): `type` (one or a
list), `properties`, `required`, `enum`, `items`, `additionalProperties: false`, `nullable`. Anything
else is accepted as is: the tool itself is the last judge. Each problem is one sentence naming the
argument, what was expected and what came, so the model can correct its call. `checked_arguments` reads a
call's text and checks it in one step, for every kind of function tool (the app's own and MCP ones).
"""

from __future__ import annotations

import json
from typing import Any

from app.harmony import parse_tool_arguments
from app.tools.results import error_result

MAX_PROBLEMS = 5  # enough to fix a call; a longer list only costs context

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def check_arguments(arguments: dict[str, Any], schema: Any) -> list[str]:
    """Problems with `arguments` under `schema` (a JSON schema object, or None for no parameters)."""
    if schema is None:
        if arguments:
            return [f"this tool takes no arguments, but got {_names(arguments)}; call it with {{}}"]
        return []
    if not isinstance(schema, dict):
        return []
    problems: list[str] = []
    _check_object(arguments, schema, "", problems)
    return problems[:MAX_PROBLEMS]


def _check(value: Any, schema: Any, where: str, problems: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    types = _types(schema)
    if types and not any(_is_type(value, t) for t in types):
        problems.append(f"{_label(where)} must be {' or '.join(types)}, not {_describe(value)}")
        return
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        choices = ", ".join(json.dumps(choice) for choice in enum)
        problems.append(f"{_label(where)} must be one of {choices}, not {json.dumps(value)}")
        return
    if isinstance(value, dict):
        _check_object(value, schema, where, problems)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{index}]", problems)


def _check_object(value: dict[str, Any], schema: dict[str, Any], where: str, problems: list[str]) -> None:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    for name in required if isinstance(required, list) else ():
        if name not in value:
            problems.append(f"{_label(_join(where, name))} is required")
    if schema.get("additionalProperties") is False:
        unknown = [name for name in value if name not in properties]
        if unknown:
            known = ", ".join(f"`{name}`" for name in properties) or "none"
            problems.append(f"unknown argument {_names(unknown)} (the arguments are: {known})")
    for name, item in value.items():
        if name in properties:
            _check(item, properties[name], _join(where, name), problems)


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared) if isinstance(declared, list) else []
    types = [t for t in types if t in _JSON_TYPES]
    if types and schema.get("nullable") is True and "null" not in types:
        types.append("null")
    return types


def _is_type(value: Any, json_type: str) -> bool:
    if isinstance(value, bool) and json_type in ("number", "integer"):
        return False  # JSON true is not 1
    if json_type == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[json_type])


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)
    shown = json.dumps(value)
    return f"{kind} {shown}" if len(shown) <= 40 else kind


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _label(where: str) -> str:
    return f"argument `{where}`"


def _names(names: Any) -> str:
    return ", ".join(f"`{name}`" for name in names)


def checked_arguments(author: str, arguments_text: str, schema: Any) -> Any:
    """The call's arguments read and held to `schema`; an error result the model reads when they are not
    (the app's function tools and MCP tools alike)."""
    parsed = parse_tool_arguments(arguments_text)
    if parsed.value is None:
        return error_result(author, parsed.error or "the arguments could not be read")
    problems = check_arguments(parsed.value, schema)
    if problems:
        return error_result(author, f"the arguments of {author} are wrong: {'; '.join(problems)}. "
                                    "Call it again with corrected arguments.")
    return parsed.value
