"""The stateless completion the turn loop, `ossian chat` and the API share, on the tiny model (real
llama.cpp; a grammar forces the Harmony structure each test needs)."""

from __future__ import annotations

import re

from app import harmony
from app.chat.completion import CompletionRequest, complete, prompt_settings
from app.engine.client import WorkerEngine
from app.engine.interface import SamplingSettings
from tests.chat.conftest import ANALYSIS_THEN_FINAL, function_call_grammar

WORDS = r"[a-z ]{3,20}"
WEATHER = harmony.ToolDescription("get_weather", "The weather.",
                                  {"type": "object", "properties": {"city": {"type": "string"}}})


def ask(grammar: str | None, max_tokens: int | None = 200, functions=()) -> CompletionRequest:
    return CompletionRequest((harmony.Message(harmony.USER, "Weather in Oslo?"),),
                             prompt_settings("low", functions=functions),
                             SamplingSettings(seed=5, max_tokens=max_tokens), grammar)


def test_an_answer_with_its_reasoning_and_usage(chat_engine: WorkerEngine) -> None:
    completion = complete(chat_engine, ask(ANALYSIS_THEN_FINAL))
    events = list(completion)
    result = completion.result()
    assert result.finish_reason == "stop" and result.error is None and result.partial is None
    assert re.fullmatch(WORDS, result.answer) and re.fullmatch(WORDS, result.reasoning)
    assert [m.channel for m in result.messages] == ["analysis", "final"]
    streamed = "".join(e.text for e in events if isinstance(e, harmony.TextDelta))
    assert streamed == result.reasoning + result.answer
    usage = result.usage
    assert usage.prompt_tokens == result.done.prompt_tokens > 0
    assert usage.completion_tokens == result.done.generated_tokens
    assert 0 < usage.reasoning_tokens < usage.completion_tokens


def test_a_function_call(chat_engine: WorkerEngine) -> None:
    result = complete(chat_engine, ask(function_call_grammar("get_weather", '{"city": "Oslo"}'),
                                       functions=[WEATHER])).result()
    assert result.finish_reason == "tool_calls"
    (call,) = result.tool_calls
    assert (call.name, call.recipient, call.arguments) == ("get_weather", "functions.get_weather",
                                                           '{"city": "Oslo"}')
    assert call.channel == "commentary" and call.content_type == "<|constrain|>json"


def test_a_token_limit_leaves_a_partial_message(chat_engine: WorkerEngine) -> None:
    result = complete(chat_engine, ask(ANALYSIS_THEN_FINAL, max_tokens=5)).result()
    assert result.finish_reason == "length"
    assert result.partial is not None and result.partial.channel == "analysis"
    assert result.messages == () and result.reasoning == result.partial.text


def test_the_prompt_declares_function_tools_and_no_builtin_one() -> None:
    prompt = harmony.segments_to_text(ask(None, functions=[WEATHER]).generate_request().segments)
    assert "Reasoning: low" in prompt and "type get_weather = (_: {" in prompt
    assert "## python" not in prompt and "## browser" not in prompt
    assert prompt.endswith("<|start|>user<|message|>Weather in Oslo?<|end|><|start|>assistant")
