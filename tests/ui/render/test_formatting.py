"""Durations, tool arguments, sizes and token counts as the message widgets print them."""

from __future__ import annotations

import json

from app.ui.render.formatting import (
    FormattedText,
    format_arguments,
    format_duration,
    format_result,
    format_size,
    format_tokens,
    thought_for,
)


def test_durations() -> None:
    assert format_duration(0.42) == "0.4 s"
    assert format_duration(12.4) == "12 s"
    assert format_duration(125) == "2 min 5 s"
    assert format_duration(120) == "2 min"
    assert thought_for(12.4) == "Thought for 12 s"
    assert thought_for(0.2) == "Thought for a moment"
    assert thought_for(None) == "Thought"


def test_json_arguments_are_pretty_printed_whole() -> None:
    arguments = json.dumps({"city": "Zürich", "days": list(range(30))})
    shown = format_arguments(arguments, "functions.get_weather")
    assert shown.language == "json"
    assert json.loads(shown.text) == json.loads(arguments)
    assert '"city": "Zürich"' in shown.text and shown.text.count("\n") > 30


def test_python_arguments_stay_code() -> None:
    code = "print({'a': 1})"
    assert format_arguments(code, "python") == FormattedText(code, "python")


def test_broken_json_is_shown_as_written() -> None:
    assert format_arguments('{"city": "Oslo"', "lookup") == FormattedText('{"city": "Oslo"', "")


def test_results() -> None:
    assert format_result('{"ok":true}') == FormattedText('{\n  "ok": true\n}', "json")
    assert format_result("plain output") == FormattedText("plain output", "")


def test_sizes_and_tokens() -> None:
    assert format_size(512) == "512 B"
    assert format_size(3_400) == "3.4 KB"
    assert format_size(250_000) == "250 KB"
    assert format_size(12_300_000) == "12.3 MB"
    assert format_tokens(950) == "950 tokens"
    assert format_tokens(3_400) == "3.4k tokens"
