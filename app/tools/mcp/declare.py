"""An MCP server's tools as Harmony function tools: safe names, and schemas the declaration can express.

Each tool becomes `functions.<server>__<tool>`: the server's name is the namespace (a `-` in it becomes
`_`), the tool's name is made an identifier (other characters become `_`, a clash gets `_2`), and the
whole stays within the 64 characters a function name may have. The original names are kept for the
call.

`app.harmony.typescript` renders what gpt-oss was trained on: object properties, `oneOf`, string enums,
arrays, type lists, `nullable`, defaults. MCP servers write full JSON Schema, so the schema is rewritten
into that subset first: `$ref`s into `$defs` are inlined, `anyOf` becomes `oneOf` (`X | null` becomes
nullable X), `allOf` of objects is merged, `const` becomes a one-value enum, and constraints the
declaration has no syntax for (minimum, pattern, format, ...) go into the property's comment. What
cannot be kept (a recursive type, `not`, `if`/`then`) is replaced by `any`, and the tool's description
says so: never dropped silently. The server still checks the full schema.

The result depends only on what the server listed, so the declaration is byte-identical on every turn
(the engine reuses the cached prefix) until the server says its tools changed.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.harmony import ToolDescription

MAX_FUNCTION_NAME = 64  # app.tools.registry's limit: the name becomes an identifier in the prompt
MAX_DESCRIPTION_CHARS = 4000
MAX_DEPTH = 8
SEPARATOR = "__"
_CONSTRAINTS = (("minimum", "minimum"), ("maximum", "maximum"), ("exclusiveMinimum", "more than"),
                ("exclusiveMaximum", "less than"), ("minLength", "min length {}"),
                ("maxLength", "max length {}"), ("pattern", "matching {}"), ("format", "format {}"),
                ("minItems", "min items {}"), ("maxItems", "max items {}"),
                ("multipleOf", "a multiple of {}"), ("uniqueItems", "unique items"))
_UNEXPRESSIBLE = ("not", "if", "then", "else", "patternProperties", "dependentSchemas",
                  "dependentRequired", "propertyNames", "contains", "prefixItems")


@dataclass(frozen=True)
class ListedTool:
    """A tool as the server listed it (`tools/list`), in plain Python types."""

    name: str
    description: str = ""
    input_schema: Mapping[str, Any] | None = None
    title: str | None = None


@dataclass(frozen=True)
class McpTool:
    """One server tool as the model sees it and as Ossian calls it."""

    server: str
    tool: str  # the server's own name, used in tools/call
    function_name: str  # `<server>__<tool>`, an identifier
    description: str
    parameters: dict[str, Any] | None  # the simplified schema the declaration renders
    input_schema: Mapping[str, Any] | None = field(default=None, compare=False)  # as listed
    notes: tuple[str, ...] = ()

    @property
    def recipient(self) -> str:
        return f"functions.{self.function_name}"

    def for_prompt(self) -> ToolDescription:
        return ToolDescription(self.function_name, self.description, self.parameters)


def server_prefix(server: str) -> str:
    return server.replace("-", "_")


def split_function_name(name: str) -> tuple[str, str] | None:
    """(server part, tool part) of `<server>__<tool>`; None for a name without the separator."""
    server, sep, tool = name.partition(SEPARATOR)
    return (server, tool) if sep and server and tool else None


def declare_tools(server: str, listed: Iterable[ListedTool]) -> tuple[McpTool, ...]:
    """The server's tools, named and simplified, in the server's order."""
    prefix = server_prefix(server) + SEPARATOR
    used: set[str] = set()
    declared = []
    for tool in listed:
        name = _function_name(prefix, tool.name, used)
        used.add(name)
        parameters, notes = simplify_schema(tool.input_schema)
        declared.append(McpTool(server, tool.name, name, _description(server, tool, name, notes),
                                parameters, tool.input_schema, tuple(notes)))
    return tuple(declared)


def _function_name(prefix: str, tool: str, used: set[str]) -> str:
    body = re.sub(r"[^A-Za-z0-9_]", "_", tool) or "tool"
    room = MAX_FUNCTION_NAME - len(prefix)
    if len(body) > room:
        # Cut, and keep the cut names apart with a short hash of the whole name.
        digest = hashlib.sha1(tool.encode()).hexdigest()[:6]
        body = body[:room - 7] + "_" + digest
    name, n = prefix + body, 2
    while name in used:
        suffix = f"_{n}"
        name = prefix + body[:room - len(suffix)] + suffix
        n += 1
    return name


def _description(server: str, tool: ListedTool, name: str, notes: Sequence[str]) -> str:
    text = (tool.description or "").strip() or (tool.title or "").strip() \
        or f"The tool '{tool.name}' of the MCP server '{server}'."
    if len(text) > MAX_DESCRIPTION_CHARS:
        text = text[:MAX_DESCRIPTION_CHARS].rstrip() + " [description shortened]"
    if notes:
        text += ("\nNote: the argument schema was simplified for this declaration (" + "; ".join(notes)
                 + "); the server checks the full schema.")
    return text


# ------------------------------------------------------------------------------------- the schema


def simplify_schema(schema: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The schema in the subset Harmony renders, and a note for each thing it could not keep. None for
    a tool without arguments (declared `() => any`)."""
    if not isinstance(schema, Mapping):
        return None, []
    notes: list[str] = []
    definitions = {**_mapping(schema.get("definitions")), **_mapping(schema.get("$defs"))}
    simplified = _Simplifier(definitions, notes).node(dict(schema), "", 0, ())
    if not isinstance(simplified, dict) or simplified.get("type") != "object":
        notes.append("the arguments are not an object; declared as one object argument")
        simplified = {"type": "object", "properties": {}}
    if not simplified.get("properties") and not simplified.get("required"):
        return None, notes
    return simplified, notes


class _Simplifier:
    def __init__(self, definitions: Mapping[str, Any], notes: list[str]) -> None:
        self.definitions = definitions
        self.notes = notes

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def node(self, schema: Any, where: str, depth: int, refs: tuple[str, ...]) -> Any:
        if not isinstance(schema, Mapping):
            return {} if schema is True or schema is None else schema
        schema = dict(schema)
        if depth > MAX_DEPTH:
            self.note(f"{_at(where)} is nested too deep and is shown as any")
            return _any(schema)
        ref = schema.pop("$ref", None)
        if isinstance(ref, str):
            target = self._resolve(ref)
            name = ref.rsplit("/", 1)[-1]
            if target is None:
                self.note(f"{_at(where)} refers to {ref}, which is not in the schema; shown as any")
                return _any(schema)
            if ref in refs:
                self.note(f"{_at(where)} is the recursive type {name}; shown as any")
                return _any(schema)
            merged = {**copy.deepcopy(dict(target)), **schema}
            return self.node(merged, where, depth + 1, (*refs, ref))
        for key in ("$schema", "$id", "$defs", "definitions", "$comment"):
            schema.pop(key, None)
        for key in _UNEXPRESSIBLE:
            if key in schema:
                schema.pop(key)
                self.note(f"'{key}' in {_at(where)} cannot be declared and was left out")
        if "allOf" in schema:
            schema = self._all_of(schema, where)
        if "anyOf" in schema:
            schema = self._any_of(schema)
        if "const" in schema:
            value = schema.pop("const")
            if isinstance(value, str):
                schema.setdefault("type", "string")
                schema["enum"] = [value]
            else:
                schema["description"] = _joined(schema.get("description"), f"always {value!r}")
        if "enum" in schema and "type" not in schema:
            values = schema["enum"]
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                schema["type"] = "string"
            elif isinstance(values, list):
                shown = ", ".join(repr(v) for v in values[:10])
                schema["description"] = _joined(schema.get("description"), f"one of {shown}")
        if isinstance(schema.get("enum"), list) and schema.get("type") not in ("string", None):
            shown = ", ".join(str(v) for v in schema["enum"][:10])
            schema["description"] = _joined(schema.get("description"), f"one of {shown}")
        kind = schema.get("type")
        if isinstance(kind, list) and "null" in kind and len(kind) == 2:
            schema["type"] = next(k for k in kind if k != "null")
            schema["nullable"] = True
        constraints = [_constraint(key, schema.pop(key), words)
                       for key, words in _CONSTRAINTS if key in schema]
        if constraints:
            schema["description"] = _joined(schema.get("description"), ", ".join(constraints))
        if "oneOf" in schema and isinstance(schema["oneOf"], list):
            schema["oneOf"] = [self.node(v, where, depth + 1, refs) for v in schema["oneOf"]]
        if isinstance(schema.get("properties"), Mapping):
            schema.setdefault("type", "object")
            schema["properties"] = {key: self.node(value, _join(where, key), depth + 1, refs)
                                    for key, value in schema["properties"].items()}
        extra = schema.pop("additionalProperties", None)
        if isinstance(extra, Mapping) and not schema.get("properties"):
            value_type = self.node(extra, _join(where, "*"), depth + 1, refs)
            shown = value_type.get("type", "any") if isinstance(value_type, dict) else "any"
            schema["description"] = _joined(schema.get("description"), f"an object of any keys with {shown} "
                                                                        "values")
        items = schema.get("items")
        if isinstance(items, list):
            self.note(f"{_at(where)} lists a type per position; each item is shown as any")
            schema["items"] = {}
        elif isinstance(items, Mapping):
            schema["items"] = self.node(items, _join(where, "[]"), depth + 1, refs)
        return schema

    def _resolve(self, ref: str) -> Mapping[str, Any] | None:
        match = re.fullmatch(r"#/(?:\$defs|definitions)/(.+)", ref)
        if match is None:
            return None
        target = self.definitions.get(match.group(1).replace("~1", "/").replace("~0", "~"))
        return target if isinstance(target, Mapping) else None

    def _any_of(self, schema: dict[str, Any]) -> dict[str, Any]:
        variants = schema.pop("anyOf")
        if not isinstance(variants, list) or not variants:
            return schema
        others = [v for v in variants if not (isinstance(v, Mapping) and v.get("type") == "null")]
        if len(others) == 1 and len(others) < len(variants) and isinstance(others[0], Mapping):
            return {**others[0], **schema, "nullable": True}  # `X | null`: pydantic's Optional[X]
        if len(others) == 1 and isinstance(others[0], Mapping):
            return {**others[0], **schema}
        schema["oneOf"] = variants  # the renderer writes oneOf as ` | ` alternatives, as anyOf means
        return schema

    def _all_of(self, schema: dict[str, Any], where: str) -> dict[str, Any]:
        parts = schema.pop("allOf")
        if not isinstance(parts, list):
            return schema
        resolved = []
        for part in parts:
            if isinstance(part, Mapping) and isinstance(part.get("$ref"), str):
                target = self._resolve(part["$ref"])
                part = {**dict(target or {}), **{k: v for k, v in part.items() if k != "$ref"}}
            resolved.append(part)
        merged: dict[str, Any] = {}
        for part in resolved:
            if not isinstance(part, Mapping):
                continue
            if part.get("type") not in (None, "object") or (merged.get("type") not in (None, "object")):
                if len(resolved) > 1:
                    self.note(f"{_at(where)} combines types with allOf; only the first is shown")
                return {**dict(resolved[0]), **schema} if isinstance(resolved[0], Mapping) else schema
            properties = {**_mapping(merged.get("properties")), **_mapping(part.get("properties"))}
            required = [*(merged.get("required") or []), *(part.get("required") or [])]
            merged = {**merged, **dict(part), "properties": properties}
            if required:
                merged["required"] = list(dict.fromkeys(required))
        return {**merged, **schema}


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _any(schema: Mapping[str, Any]) -> dict[str, Any]:
    kept = {key: schema[key] for key in ("description", "title", "default") if key in schema}
    return kept


def _constraint(key: str, value: Any, words: str) -> str:
    if key == "uniqueItems":
        return words if value else "items may repeat"
    return words.format(value) if "{}" in words else f"{words} {value}"


def _joined(description: Any, addition: str) -> str:
    if isinstance(description, str) and description.strip():
        return f"{description.rstrip()} ({addition})"
    return addition


def _join(where: str, key: str) -> str:
    if key == "[]":
        return f"{where}[]"
    return f"{where}.{key}" if where else key


def _at(where: str) -> str:
    return f"argument `{where}`" if where else "the arguments"
