"""JSON schema to TypeScript-like declarations: each rule of SPEC section 4.2, one schema at a time."""

from __future__ import annotations

import pytest

from app.harmony import ToolDescription, ToolNamespace, json_schema_to_typescript, tools_section
from app.harmony.typescript import rust_lines, serde_json_text


def ts(schema: object) -> str:
    return json_schema_to_typescript(schema)


def one_property(value: dict, *, required: bool = False) -> str:
    """The lines between `{` and `}` for an object with the single property `p`."""
    schema = {"type": "object", "properties": {"p": value}, **({"required": ["p"]} if required else {})}
    text = ts(schema)
    assert text.startswith("{\n") and text.endswith("}")
    return text[2:-1]


@pytest.mark.parametrize(("schema", "expected"), [
    ({"type": "string"}, "string"),
    ({"type": "string", "enum": ["a", "b", "c"]}, '"a" | "b" | "c"'),
    ({"type": "string", "enum": [1, 2]}, "string"),
    ({"type": "number"}, "number"),
    ({"type": "integer"}, "number"),
    ({"type": "integer", "enum": [1, 2]}, "number"),
    ({"type": "boolean"}, "boolean"),
    ({"type": "array", "items": {"type": "integer"}}, "number[]"),
    ({"type": "array", "items": {"type": "string", "enum": ["x"]}}, '"x"[]'),
    ({"type": "array"}, "Array<any>"),
    ({"type": ["number", "string"]}, "number | string"),
    ({"type": ["integer", "null"]}, "number | null"),
    ({"type": "null"}, "any"),
    ({"description": "no type"}, "any"),
    ({}, "any"),
    ("not a schema", "any"),
    ({"type": "object", "properties": {}}, "{\n}"),
    ({"type": "object"}, "{\n}"),
])
def test_types(schema: object, expected: str) -> None:
    assert ts(schema) == expected


def test_properties_keep_their_order_and_are_optional_unless_required() -> None:
    schema = {"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "number"}},
              "required": ["alpha"]}
    assert ts(schema) == "{\nzeta?: string,\nalpha: number,\n}"


def test_object_description_comes_before_the_brace() -> None:
    schema = {"type": "object", "description": "params object", "properties": {}}
    assert ts(schema) == "// params object\n{\n}"


def test_nested_objects_indent_their_lines_and_closing_brace() -> None:
    schema = {"type": "object", "properties": {
        "addr": {"type": "object", "description": "where", "properties": {
            "city": {"type": "string", "description": "the city"},
            "geo": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]}}}}}
    # The library writes a nested object's description twice: above the key, and before its brace.
    assert ts(schema) == (
        "{\n"
        "// where\n"
        "addr?:     // where\n"
        "{\n"
        "    // the city\n"
        "    city?: string,\n"
        "    geo?: {\n"
        "        lat: number,\n"
        "        },\n"
        "    },\n"
        "}")


def test_title_description_examples_then_the_property() -> None:
    value = {"type": "string", "title": "Name", "description": "Who.\nReally who.",
             "examples": ["Ann", 3, "Bo"]}
    assert one_property(value) == (
        "// Name\n//\n// Who.\nReally who.\n// Examples:\n// - \"Ann\"\n// - \"Bo\"\np?: string,\n")


@pytest.mark.parametrize(("value", "comment"), [
    ({"type": "string", "default": "the default"}, ' // default: "the default"'),
    ({"type": "string", "enum": ["celsius", "kelvin"], "default": "celsius"}, " // default: celsius"),
    ({"type": "number", "default": 10}, " // default: 10"),
    ({"type": "number", "default": -1}, " // default: -1"),
    ({"type": "number", "default": 0.5}, " // default: 0.5"),
    ({"type": "number", "default": 1e16}, " // default: 1e16"),
    ({"type": "number", "default": 2.5e-7}, " // default: 2.5e-7"),
    ({"type": "boolean", "default": False}, " // default: false"),
    ({"type": "object", "default": {"a": [1, "é"]}}, ' // default: {"a":[1,"é"]}'),
    ({"type": "string", "default": None}, " // default: null"),
])
def test_defaults(value: dict, comment: str) -> None:
    assert one_property(value, required=True).split("\n")[-2].endswith("," + comment)


def test_nullable_adds_null_once() -> None:
    assert one_property({"type": "string", "nullable": True}) == "p?: string | null,\n"
    assert one_property({"type": ["string", "null"], "nullable": True}) == "p?: string | null,\n"


def test_property_one_of() -> None:
    value = {"oneOf": [{"type": "string", "default": "s"}, {"type": "number", "description": "numbers too"}],
             "description": "a oneof", "default": 20}
    assert one_property(value) == (
        '// a oneof\n// default: 20\np?:\n | string // default: "s"\n | number // numbers too\n,\n')


def test_property_one_of_skips_a_description_the_first_variant_repeats() -> None:
    value = {"oneOf": [{"type": "string", "description": "same"}, {"type": "integer", "nullable": True}],
             "description": "same"}
    assert one_property(value, required=True) == "p:\n | string\n | number | null\n,\n"


def test_one_of_below_a_property() -> None:
    items = {"oneOf": [{"type": "string", "description": "a name"}, {"type": "number", "default": 3}]}
    assert one_property({"type": "array", "items": items}) == (
        "p?: \n     | string // a name\n     | number // default: 3[],\n")


def test_tools_section_blocks() -> None:
    namespace = ToolNamespace("functions", None, (
        ToolDescription("none", "Takes nothing.\nReally."),
        ToolDescription("empty", "", {"type": "object", "properties": {}}),
    ))
    assert tools_section([namespace]) == (
        "# Tools\n\n## functions\n\nnamespace functions {\n\n"
        "// Takes nothing.\n// Really.\ntype none = () => any;\n\n"
        "type empty = (_: {\n}) => any;\n\n"
        "} // namespace functions")


def test_rust_lines() -> None:
    assert rust_lines("") == []
    assert rust_lines("a\r\nb\n") == ["a", "b"]
    assert rust_lines("\n\nx") == ["", "", "x"]
    assert rust_lines("a\n\n") == ["a", ""]
    assert rust_lines("a\u2028b") == ["a\u2028b"]


def test_serde_json_text() -> None:
    assert serde_json_text({"k": [True, None, 1.0, "a\"\n"]}) == '{"k":[true,null,1.0,"a\\"\\n"]}'
    assert serde_json_text(2**70) == "1.1805916207174113e21"
    assert serde_json_text(0.0001) == "0.0001"
    assert serde_json_text(1e-5) == "0.00001"
    assert serde_json_text(-0.0) == "-0.0"
