"""Tool calls in parsed output: detection, the functions.python mapping, argument rescue."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.harmony import (
    Message,
    is_tool_call,
    normalize_recipient,
    parse_text,
    parse_tool_arguments,
    python_code_from_arguments,
    tool_call_target,
)


@pytest.mark.parametrize("text", [
    "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>",
    "<|channel|>analysis to=functions.f code<|message|>{}<|call|>",
    "<|channel|>commentary to=functions.f<|message|>{}<|return|>",
    "<|channel|>commentary to=functions.f<|message|>{}<|end|>",
    "<|channel|>commentary to=functions.f<|message|>{}",
])
def test_any_channel_and_any_terminator_is_a_call(text: str) -> None:
    (message,) = parse_text(text)
    assert is_tool_call(message) and tool_call_target(message) == "functions.f"


@pytest.mark.parametrize("message", [
    Message("assistant", "hi", channel="final"),
    Message("assistant", "Checking.", channel="commentary"),
    Message("assistant", "x", recipient="assistant"),
    Message("assistant", "x", recipient="all"),
    Message("tool", "result", name="functions.f", recipient="assistant", channel="commentary"),
    Message("user", "x", recipient="functions.f"),
])
def test_not_calls(message: Message) -> None:
    assert not is_tool_call(message) and tool_call_target(message) is None


def test_builtin_tools_behind_the_functions_namespace() -> None:
    assert normalize_recipient("functions.python") == "python"
    assert normalize_recipient("functions.browser.search") == "browser.search"
    assert normalize_recipient("functions.get_weather") == "functions.get_weather"
    assert normalize_recipient("browser.open") == "browser.open"
    assert normalize_recipient("functions.python", function_names={"python"}) == "functions.python"
    call = Message("assistant", "print(1)", channel="analysis", recipient="functions.python")
    assert tool_call_target(call) == "python"


@pytest.mark.parametrize(("text", "value"), [
    ('{"location": "Tokyo"}', {"location": "Tokyo"}),
    ("  ", {}),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('Calling now: {"q": "a } b", "n": {"m": [1]}} thanks', {"q": "a } b", "n": {"m": [1]}}),
    ('{bad} then {"ok": true}', {"ok": True}),
])
def test_arguments_that_can_be_read(text: str, value: dict) -> None:
    arguments = parse_tool_arguments(text)
    assert arguments.ok and arguments.value == value and arguments.error is None


@pytest.mark.parametrize(("text", "complaint"), [
    ('{"code": "print(1)\n', "not valid JSON"),
    ('{"location": "Tok', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ("null", "not null"),
    ("print('hi')", "line 1 column 1"),
])
def test_arguments_that_cannot_be_read_give_the_model_an_error(text: str, complaint: str) -> None:
    arguments = parse_tool_arguments(text)
    assert not arguments.ok and arguments.value is None
    assert arguments.error is not None
    assert arguments.error.startswith("Error:") and complaint in arguments.error


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]":,\\ abn1\n', max_size=40))
def test_arguments_never_raise(text: str) -> None:
    arguments = parse_tool_arguments(text)
    assert (arguments.value is None) != (arguments.error is None)
    if arguments.value is not None:
        assert isinstance(arguments.value, dict)


def test_python_code_from_a_call() -> None:
    assert python_code_from_arguments("print(1)\n") == "print(1)\n"
    assert python_code_from_arguments(json.dumps({"code": "import math\nprint(math.pi)"})) == \
        "import math\nprint(math.pi)"
    assert python_code_from_arguments('{"x": 1}') == '{"x": 1}'
    assert python_code_from_arguments("{broken") == "{broken"
