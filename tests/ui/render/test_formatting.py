"""The reasoning header, tool arguments and results as the message widgets print them."""

from __future__ import annotations

import json

from app.ui.render.formatting import FormattedText, format_arguments, format_result, thought_for


def test_the_reasoning_header() -> None:
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

