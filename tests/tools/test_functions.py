from __future__ import annotations

import json

from app.tools.functions import run_function
from app.tools.registry import FunctionTool

SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["location"],
}
calls: list[dict] = []


def forecast(args: dict) -> dict:
    calls.append(args)
    return {"location": args["location"], "days": args.get("days", 1), "summary": "sunny ☀"}


TOOL = FunctionTool("get_forecast", "Forecast.", SCHEMA, forecast)


def test_good_call_returns_json_text() -> None:
    result = run_function(TOOL, '{"location": "Oslo", "days": 2}', 1000)
    assert result.ok
    assert result.author == "functions.get_forecast"
    assert json.loads(result.content) == {"location": "Oslo", "days": 2, "summary": "sunny ☀"}
    assert "☀" in result.content  # not escaped: fewer tokens, readable


def test_json_inside_noise_is_rescued() -> None:
    result = run_function(TOOL, 'Here you go: ```json\n{"location": "Bergen"}\n```', 1000)
    assert result.ok
    assert json.loads(result.content)["location"] == "Bergen"


def test_malformed_arguments_give_an_error_for_the_model_and_the_handler_never_runs() -> None:
    calls.clear()
    for text, words in [('{"location": "Oslo"', "not valid JSON"),
                        ('["Oslo"]', "must be a JSON object"),
                        ("null", "must be a JSON object"),
                        ('{"days": 2}', "argument `location` is required"),
                        ('{"location": 7}', "argument `location` must be string")]:
        result = run_function(TOOL, text, 1000)
        assert result.status == "error", text
        assert result.content.startswith("Error"), result.content
        assert words in result.content, result.content
    assert calls == []


def test_a_handler_that_raises_becomes_an_error_result() -> None:
    def broken(args: dict) -> str:
        raise RuntimeError("backend is down")

    result = run_function(FunctionTool("lookup", "L.", None, broken), "", 1000)
    assert result.status == "error"
    assert "functions.lookup failed: RuntimeError: backend is down" in result.content


def test_an_answer_that_is_not_json_data_is_an_error_not_a_crash() -> None:
    result = run_function(FunctionTool("odd", "O.", None, lambda args: {"when": object()}), "{}", 1000)
    assert result.status == "error"
    assert "TypeError" in result.content


def test_long_answers_are_cut_to_the_budget() -> None:
    result = run_function(FunctionTool("dump", "D.", None, lambda args: "x" * 10_000), "", 500)
    assert result.ok
    assert result.truncated
    assert "characters omitted" in result.content
    assert len(result.content) < 600
