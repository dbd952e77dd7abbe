"""MCP tools as Harmony function tools: safe names, simplified schemas, and a golden developer message.

The golden file pins the exact text gpt-oss reads for a fixed set of MCP tools (the shapes real servers
send: the filesystem server's, pydantic's Optional and $defs, a recursive type, a name with dashes). A
change to the declaration changes what the model sees and throws away every cached prefix, so it must be
a decision: regenerate with OSSIAN_REGENERATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.harmony import DeveloperContent, function_tools
from app.harmony.render import developer_text
from app.harmony.typescript import json_schema_to_typescript
from app.tools.mcp import declare_tools, simplify_schema
from app.tools.mcp.declare import MAX_FUNCTION_NAME, ListedTool, split_function_name

GOLDEN = Path(__file__).parent / "golden" / "developer_message.txt"

FILES_TOOLS = (
    ListedTool("read_text_file", "Read the complete contents of a file as text.", {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
        "properties": {"path": {"type": "string"},
                       "head": {"type": "number",
                                "description": "If provided, returns only the first N lines"},
                       "tail": {"type": "number", "minimum": 1}},
        "required": ["path"], "additionalProperties": False}),
    ListedTool("list_allowed_directories", "", {"type": "object", "properties": {}}, title="Allowed folders"),
)
NOTES_TOOLS = (
    ListedTool("get-sum", "Returns the sum of two numbers", {
        "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"]}),
    ListedTool("search.notes", "Search the notes.", {
        "type": "object", "title": "searchArguments",
        "$defs": {"Order": {"type": "string", "enum": ["newest", "oldest"]}},
        "properties": {
            "query": {"title": "Query", "type": "string", "minLength": 1},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "order": {"$ref": "#/$defs/Order", "default": "newest"},
            "tag": {"const": "work"},
        },
        "required": ["query"]}),
    ListedTool("tree", "Make a tree.", {
        "type": "object", "$defs": {"Node": {"type": "object", "properties": {
            "label": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}},
        "properties": {"root": {"$ref": "#/$defs/Node"}, "mode": {"not": {"type": "null"}}},
        "required": ["root"]}),
)


def developer_message() -> str:
    tools = declare_tools("files", FILES_TOOLS) + declare_tools("my-notes", NOTES_TOOLS)
    namespace = function_tools([t.for_prompt() for t in tools])
    content = DeveloperContent(instructions="Be brief.", tools=(namespace,))
    return developer_text(content)


def test_the_rendered_developer_message_is_pinned() -> None:
    text = developer_message()
    if os.environ.get("OSSIAN_REGENERATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.is_file(), f"{GOLDEN} is missing: run with OSSIAN_REGENERATE_GOLDEN=1, read what it wrote"
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_the_declaration_is_the_same_every_time() -> None:
    # prefix reuse: the same listing must give the same bytes, turn after turn
    assert developer_message() == developer_message()


def test_names_are_namespaced_and_made_identifiers() -> None:
    tools = declare_tools("my-notes", NOTES_TOOLS)
    assert [t.function_name for t in tools] == ["my_notes__get_sum", "my_notes__search_notes",
                                                "my_notes__tree"]
    assert [t.tool for t in tools] == ["get-sum", "search.notes", "tree"]  # called by their own names
    assert tools[0].recipient == "functions.my_notes__get_sum"
    assert split_function_name(tools[0].function_name) == ("my_notes", "get_sum")


def test_clashing_and_long_names_stay_apart_and_short() -> None:
    long_a, long_b = "a" * 80 + "x", "a" * 80 + "y"
    tools = declare_tools("srv", [ListedTool("get.sum"), ListedTool("get-sum"), ListedTool(long_a),
                                  ListedTool(long_b)])
    names = [t.function_name for t in tools]
    assert names[:2] == ["srv__get_sum", "srv__get_sum_2"]
    assert len(set(names)) == 4 and all(len(n) <= MAX_FUNCTION_NAME for n in names)


def test_what_cannot_be_declared_is_said_in_the_description() -> None:
    tree = declare_tools("my-notes", NOTES_TOOLS)[2]
    assert "recursive type Node" in tree.description and "'not'" in tree.description
    assert "the server checks the full schema" in tree.description
    plain = declare_tools("my-notes", NOTES_TOOLS)[0]
    assert "Note:" not in plain.description


def test_optional_refs_and_consts_become_what_the_renderer_draws() -> None:
    schema, notes = simplify_schema(NOTES_TOOLS[1].input_schema)
    assert notes == []
    assert schema is not None
    rendered = json_schema_to_typescript(schema)
    assert "limit?: number | null, // default: null" in rendered
    assert 'order?: "newest" | "oldest", // default: newest' in rendered
    assert 'tag?: "work",' in rendered
    assert "// min length 1" in rendered


def test_a_tool_without_arguments_is_declared_without_them() -> None:
    assert simplify_schema({"type": "object", "properties": {}}) == (None, [])
    assert simplify_schema(None) == (None, [])


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"x": {"allOf": [{"type": "string"}, {"type": "number"}]}}},
    {"type": "object", "properties": {"x": {"items": [{"type": "string"}], "type": "array"}}},
    {"type": "object", "properties": {"x": {"$ref": "#/definitions/Missing"}}},
])
def test_every_simplification_leaves_a_note(schema) -> None:
    simplified, notes = simplify_schema(schema)
    assert simplified is not None and notes
