"""Small presentation helpers the message widgets share: durations, tool arguments, sizes, token counts."""

from __future__ import annotations

import json
from dataclasses import dataclass


def format_duration(seconds: float) -> str:
    """'0.4 s', '12 s', '2 min 5 s': short enough for a collapsed header or a tool card."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def thought_for(seconds: float | None) -> str:
    """The collapsed reasoning header."""
    if seconds is None:
        return "Thought"
    if seconds < 1:
        return "Thought for a moment"
    return f"Thought for {format_duration(seconds)}"


@dataclass(frozen=True)
class FormattedText:
    """Text ready to show in a code view, with the language to highlight it as ('' for plain)."""

    text: str
    language: str


def format_arguments(arguments: str, tool_name: str, language: str | None = None) -> FormattedText:
    """Tool-call arguments as the user should read them before approving: JSON pretty-printed when it
    parses, python code as written, anything else as is."""
    if language is None:
        language = "python" if tool_name == "python" else ""
    if language != "python":
        pretty = _pretty_json(arguments)
        if pretty is not None:
            return FormattedText(pretty, "json")
    return FormattedText(arguments, language)


def format_result(result: str) -> FormattedText:
    pretty = _pretty_json(result)
    return FormattedText(pretty, "json") if pretty is not None else FormattedText(result, "")


def _pretty_json(text: str) -> str | None:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.dumps(json.loads(stripped), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def format_size(size_bytes: int) -> str:
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" or value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_tokens(tokens: int) -> str:
    if tokens < 1000:
        return f"{tokens} tokens"
    return f"{tokens / 1000:.1f}k tokens"
