"""Small presentation helpers the message widgets share: the reasoning header, tool arguments and results.

Sizes, durations and token counts are worded by `app.units`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from app.units import format_duration


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

