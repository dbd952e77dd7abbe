"""JSON schema to the TypeScript-like tool declarations of a Harmony `# Tools` section.

A faithful port of openai-harmony's `json_schema_to_typescript` and `template_tools_section`
(encoding.rs), quirks included, because gpt-oss was trained on exactly this text: nested objects indent
their closing brace, a property's `oneOf` gets one ` | variant` line each, string defaults are quoted
unless the property is an enum, other defaults are written as serde_json writes them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from app.harmony.messages import ToolNamespace

_I64_MIN, _U64_MAX = -(2**63), 2**64 - 1


def tools_section(namespaces: Iterable[ToolNamespace]) -> str:
    """`# Tools` and one block per namespace, sorted by name (the library keeps them in a BTreeMap)."""
    sections = ["# Tools"]
    for namespace in sorted(namespaces, key=lambda ns: ns.name):
        lines = [f"## {namespace.name}\n"]
        if namespace.description is not None:
            prefix = "// " if namespace.tools else ""
            lines.extend(prefix + line for line in rust_lines(namespace.description))
        if namespace.tools:
            lines.append(f"namespace {namespace.name} {{\n")
            for tool in namespace.tools:
                lines.extend(f"// {line}" for line in rust_lines(tool.description))
                if tool.parameters is None:
                    lines.append(f"type {tool.name} = () => any;\n")
                else:
                    parameters = json_schema_to_typescript(tool.parameters)
                    lines.append(f"type {tool.name} = (_: {parameters}) => any;\n")
            lines.append(f"}} // namespace {namespace.name}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def json_schema_to_typescript(schema: Any, indent: str = "") -> str:
    """The TypeScript-like type of a JSON schema, as the Harmony tools section writes it."""
    one_of = _get(schema, "oneOf")
    if isinstance(one_of, list):
        return _top_level_one_of(one_of, indent)
    kind = _get(schema, "type")
    if isinstance(kind, list):
        names = ["number" if item == "integer" else item for item in kind if isinstance(item, str)]
        if names:
            return " | ".join(names)
    if isinstance(kind, str):
        if kind == "object":
            return _object(schema, indent)
        if kind == "string":
            values = _get(schema, "enum")
            if isinstance(values, list):
                quoted = [f'"{value}"' for value in values if isinstance(value, str)]
                if quoted:
                    return " | ".join(quoted)
            return "string"
        if kind in ("number", "integer"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "array":
            if isinstance(schema, dict) and "items" in schema:
                return f"{json_schema_to_typescript(schema['items'], indent)}[]"
            return "Array<any>"
    return "any"


def _object(schema: dict[str, Any], indent: str) -> str:
    out = []
    description = schema.get("description")
    if isinstance(description, str):
        out.append(f"{indent}// {description}\n")
    out.append("{\n")
    properties = schema.get("properties")
    if isinstance(properties, dict):
        required_list = schema.get("required")
        required = {name for name in required_list if isinstance(name, str)} \
            if isinstance(required_list, list) else set()
        for key, value in properties.items():
            out.append(_property(key, value, key in required, indent))
    out.append(f"{indent}}}")
    return "".join(out)


def _property(key: str, value: Any, required: bool, indent: str) -> str:
    out = []
    optional = "" if required else "?"
    title = _get(value, "title")
    if isinstance(title, str):
        out.append(f"{indent}// {title}\n{indent}//\n")
    one_of = _get(value, "oneOf")
    description = _get(value, "description")
    if one_of is None and isinstance(description, str):
        out.append(f"{indent}// {description}\n")
    examples = _get(value, "examples")
    if isinstance(examples, list) and examples:
        out.append(f"{indent}// Examples:\n")
        out.extend(f'{indent}// - "{example}"\n' for example in examples if isinstance(example, str))
    if isinstance(one_of, list):
        out.append(_property_one_of(key, value, one_of, optional, indent))
        return "".join(out)
    type_text = _nullable(value, json_schema_to_typescript(value, indent + "    "))
    out.append(f"{indent}{key}{optional}: {type_text},")
    if one_of is None and isinstance(value, dict) and "default" in value:
        out.append(f" // default: {_property_default(value)}")
    out.append("\n")
    return "".join(out)


def _property_one_of(key: str, value: dict[str, Any], variants: list[Any], optional: str, indent: str) -> str:
    out = []
    description = value.get("description")
    description = description if isinstance(description, str) else None
    first_description = _get(variants[0], "description") if variants else None
    # The property's description is skipped when the first variant repeats it.
    description_above = description is not None and description != first_description
    if description_above:
        out.append(f"{indent}// {description}\n")
    if "default" in value:
        out.append(f"{indent}// default: {_property_default(value)}\n")
    out.append(f"{indent}{key}{optional}:\n")
    for position, variant in enumerate(variants):
        out.append(f"{indent} | ")
        out.append(_nullable(variant, json_schema_to_typescript(variant, indent + "   ")))
        comments = []
        variant_description = _get(variant, "description")
        if not (position == 0 and description_above) and isinstance(variant_description, str) \
                and variant_description != description:
            comments.append(variant_description)
        if isinstance(variant, dict) and "default" in variant:
            comments.append(f"default: {_property_default(variant)}")
        if comments:
            out.append(f" // {' '.join(comments)}")
        out.append("\n")
    out.append(f"{indent},\n")
    return "".join(out)


def _top_level_one_of(variants: list[Any], indent: str) -> str:
    out = []
    for variant in variants:
        out.append(f"\n{indent} | ")
        out.append(_nullable(variant, json_schema_to_typescript(variant, indent + "   ")))
        comments = []
        variant_description = _get(variant, "description")
        if isinstance(variant_description, str):
            comments.append(variant_description)
        if isinstance(variant, dict) and "default" in variant:
            default = variant["default"]
            # Here the library writes enum string defaults as JSON (quoted), unlike property defaults.
            if isinstance(default, str) and not _is_enum(variant):
                comments.append(f'default: "{default}"')
            else:
                comments.append(f"default: {serde_json_text(default)}")
        if comments:
            out.append(f" // {' '.join(comments)}")
    return "".join(out)


def _nullable(schema: Any, type_text: str) -> str:
    if _get(schema, "nullable") is True and "null" not in type_text:
        return f"{type_text} | null"
    return type_text


def _property_default(schema: dict[str, Any]) -> str:
    default = schema["default"]
    if isinstance(default, str):
        return default if _is_enum(schema) else f'"{default}"'
    return serde_json_text(default)


def _is_enum(schema: Any) -> bool:
    values = _get(schema, "enum")
    return isinstance(values, list) and bool(values)


def _get(schema: Any, key: str) -> Any:
    return schema.get(key) if isinstance(schema, dict) else None


def rust_lines(text: str) -> list[str]:
    """Rust's `str::lines()`: split on `\\n`, drop one `\\r` before it, no empty line after a final `\\n`."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def serde_json_text(value: Any) -> str:
    """A JSON value written compactly the way Rust's serde_json writes it (`{default}` in the library)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        # serde_json keeps integers in 64 bits and reads anything larger as a float.
        return str(value) if _I64_MIN <= value <= _U64_MAX else _ryu_text(float(value))
    if isinstance(value, float):
        return _ryu_text(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ",".join(serde_json_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{serde_json_text(v)}"
                              for k, v in value.items()) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def _ryu_text(number: float) -> str:
    """A float as the `ryu` crate formats it for serde_json: shortest digits, `1e16`, `1e-7`, `0.001`."""
    if not math.isfinite(number):
        return "null"
    sign = "-" if math.copysign(1.0, number) < 0 else ""
    decimal = Decimal(repr(abs(number)))
    _, digit_tuple, exponent = decimal.as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    exponent += len(digit_tuple) - len(digits) if digits != "0" else 0
    if digits == "0":
        exponent = 0
    length = len(digits)
    kk = length + exponent  # 10^(kk-1) <= number < 10^kk
    if exponent >= 0 and kk <= 16:
        text = digits + "0" * exponent + ".0"
    elif 0 < kk <= 16:
        text = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + text
