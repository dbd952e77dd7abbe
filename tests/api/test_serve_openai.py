"""The official `openai` SDK against `ossian serve` on the tiny model: a real process, llama.cpp, HTTP.

Random weights write random text, so the checks are of shape and protocol; where a test needs Harmony
structure (an answer, a tool call) it sends llama-server's `grammar` extension, as `extra_body`, which
forces it (the same grammars as the chat and engine tests).
"""

from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlsplit

import openai
import pytest

from tests.api.conftest import Served
from tests.chat.conftest import ANALYSIS_THEN_FINAL, function_call_grammar

WORDS = r"[a-z ]{3,20}"
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
FORCED_FINAL = {"grammar": ANALYSIS_THEN_FINAL, "seed": 3}
FORCED_CALL = {"grammar": function_call_grammar("get_weather", '{"city": "Oslo"}'), "seed": 3}


@pytest.fixture(scope="module")
def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url, api_key=served.key, max_retries=0, timeout=120)


def test_the_first_line_says_where_and_with_which_key(served: Served) -> None:
    assert re.fullmatch(r"serving http://127\.0\.0\.1:\d+/v1 key ossian-[A-Za-z0-9_-]{32}\n",
                        served.first_line)


def test_models_lists_the_loaded_model(client: openai.OpenAI) -> None:
    models = client.models.list().data
    assert [m.id for m in models] == ["tiny-gpt-oss"]
    assert client.models.retrieve("tiny-gpt-oss").id == "tiny-gpt-oss"


def test_chat_not_streamed(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="tiny-gpt-oss", messages=[
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}]},
    ], max_completion_tokens=60, extra_body=FORCED_FINAL)
    choice = reply.choices[0]
    assert choice.finish_reason == "stop"
    assert re.fullmatch(WORDS, choice.message.content)
    extra = choice.message.model_extra
    assert re.fullmatch(WORDS, extra["reasoning_content"])
    assert extra["reasoning"] == extra["reasoning_content"]
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert 0 < reply.usage.completion_tokens_details.reasoning_tokens < reply.usage.completion_tokens


def test_chat_streamed_with_usage_last(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="tiny-gpt-oss", messages=[{"role": "user", "content": "hello"}], stream=True,
        stream_options={"include_usage": True}, reasoning_effort="low", extra_body=FORCED_FINAL))
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join((c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
                        for c in chunks if c.choices)
    assert re.fullmatch(WORDS, content) and re.fullmatch(WORDS, reasoning)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_a_token_limit_ends_with_length(client: openai.OpenAI) -> None:
    # ignore_eos: the random-weight model may sample an end token within four; only the limit may end it.
    reply = client.chat.completions.create(model="tiny-gpt-oss", messages=[{"role": "user", "content": "hi"}],
                                           max_tokens=4, extra_body={"ignore_eos": True})
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 4


def test_a_tool_round_trip(client: openai.OpenAI) -> None:
    question = {"role": "user", "content": "Weather in Oslo?"}
    first = client.chat.completions.create(model="tiny-gpt-oss", messages=[question], tools=[WEATHER_TOOL],
                                           extra_body=FORCED_CALL)
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Oslo"}

    second = client.chat.completions.create(model="tiny-gpt-oss", tools=[WEATHER_TOOL], messages=[
        question, first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "clear"}'},
    ], extra_body=FORCED_FINAL)
    assert second.choices[0].finish_reason == "stop"
    assert re.fullmatch(WORDS, second.choices[0].message.content)
    # The call and its result were in the prompt: it grew by more than the question did.
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + 10


def test_tool_calls_stream_as_deltas(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="tiny-gpt-oss", messages=[{"role": "user", "content": "Weather?"}], tools=[WEATHER_TOOL],
        stream=True, extra_body=FORCED_CALL))
    calls = [d for c in chunks if c.choices for d in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    assert {d.index for d in calls} == {0}
    assert json.loads("".join(d.function.arguments or "" for d in calls)) == {"city": "Oslo"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_a_wrong_key_is_an_authentication_error(served: Served) -> None:
    wrong = openai.OpenAI(base_url=served.base_url, api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.models.list()
    assert raised.value.code == "invalid_api_key"


def test_a_prompt_longer_than_the_context_is_context_length_exceeded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="tiny-gpt-oss", messages=[{"role": "user",
                                                                        "content": "word " * 5000}])
    assert raised.value.code == "context_length_exceeded"


def test_responses_create(client: openai.OpenAI) -> None:
    response = client.responses.create(model="tiny-gpt-oss", input="What is 2+2?", instructions="Be brief.",
                                       reasoning={"effort": "high"}, extra_body=FORCED_FINAL)
    assert response.status == "completed"
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert re.fullmatch(WORDS, response.output_text)
    assert re.fullmatch(WORDS, response.output[0].content[0].text)
    assert response.usage.input_tokens > 0 and response.usage.output_tokens_details.reasoning_tokens > 0


def test_responses_stream_and_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model="tiny-gpt-oss", input="hi", extra_body=FORCED_FINAL) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    for expected in ("response.output_item.added", "response.content_part.added",
                     "response.reasoning_text.delta", "response.output_text.delta",
                     "response.output_item.done"):
        assert expected in kinds
    assert re.fullmatch(WORDS, final.output_text) and final.usage.output_tokens > 0


def test_responses_function_call_and_its_output(client: openai.OpenAI) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
    first = client.responses.create(model="tiny-gpt-oss", input="Weather in Oslo?", tools=[tool],
                                    extra_body=FORCED_CALL)
    calls = [item for item in first.output if item.type == "function_call"]
    assert calls and calls[0].name == "get_weather" and json.loads(calls[0].arguments) == {"city": "Oslo"}
    follow_up = [{"role": "user", "content": "Weather in Oslo?"},
                 *[item.model_dump(exclude_none=True) for item in first.output],
                 {"type": "function_call_output", "call_id": calls[0].call_id, "output": "clear sky"}]
    second = client.responses.create(model="tiny-gpt-oss", input=follow_up, tools=[tool],
                                     extra_body=FORCED_FINAL)
    assert second.status == "completed" and re.fullmatch(WORDS, second.output_text)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example:80"])
def test_a_foreign_host_header_is_refused(served: Served, host: str) -> None:
    url = urlsplit(served.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("GET", "/v1/models", headers={"Host": host, "Authorization": f"Bearer {served.key}"})
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    assert answer.status == 403
    assert json.loads(body)["error"]["code"] == "host_not_allowed"
    assert answer.getheader("Access-Control-Allow-Origin") is None


# ------------------------------------------------------------------------- stop and tool_choice

SAID = 'root ::= <|channel|> "final" <|message|> "alpha beta gamma delta epsilon"'
TIME_TOOL = {"type": "function", "function": {"name": "get_time", "description": "The time now.",
                                              "parameters": {"type": "object", "properties": {}}}}


def test_stop_ends_the_answer_before_the_first_stop_string(client: openai.OpenAI) -> None:
    ask = {"model": "tiny-gpt-oss", "messages": [{"role": "user", "content": "Say the letters."}],
           "max_tokens": 40, "extra_body": {"grammar": SAID, "seed": 1}}
    reply = client.chat.completions.create(**ask, stop=["delta", "gam"])
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == ("alpha beta ", "stop")
    streamed = client.chat.completions.create(**ask, stop="ta g", stream=True)
    parts = [chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices]
    assert "".join(parts) == "alpha be" and "ta g" not in "".join(parts)
    whole = client.chat.completions.create(**ask)
    assert whole.choices[0].message.content == "alpha beta gamma delta epsilon"


def test_stop_must_be_up_to_four_strings(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="tiny-gpt-oss", messages=[{"role": "user", "content": "x"}],
                                       stop=["a", "b", "c", "d", "e"])
    assert refused.value.body["param"] == "stop"


@pytest.mark.parametrize("choice", [{"type": "function", "function": {"name": "get_time"}}, "required"])
def test_tool_choice_forces_a_call_with_readable_arguments(client: openai.OpenAI, choice) -> None:
    """Random weights rarely call a tool by themselves; `tool_choice` makes them, with arguments that are a
    JSON object. How long they think first depends on the whole prompt, today's date in the system message
    included, and on what the server's cache holds (a seed picked one day failed the next), so several
    seeds are asked with room to think (random weights took 43 to 906 tokens in 60 tries): each reply is
    the call or was cut short, never an answer. Before the grammar kept "<|" out of JSON strings, 7 calls
    in 10 had their arguments cut by a special token sampled as text."""
    names = {"get_time"} if choice != "required" else {"get_time", "get_weather"}
    calls = []
    for seed in range(1, 5):
        reply = client.chat.completions.create(
            model="tiny-gpt-oss", messages=[{"role": "user", "content": "What time is it?"}],
            tools=[TIME_TOOL, WEATHER_TOOL] if choice == "required" else [WEATHER_TOOL, TIME_TOOL],
            tool_choice=choice, max_tokens=1500, seed=seed)
        assert reply.choices[0].finish_reason in ("tool_calls", "length"), (seed, reply.choices[0])
        if reply.choices[0].finish_reason == "tool_calls":
            [call] = reply.choices[0].message.tool_calls
            assert call.function.name in names
            assert isinstance(json.loads(call.function.arguments), dict), (seed, call.function.arguments)
            calls.append(call)
    assert calls, "no seed's thinking ended within 1,500 tokens"


def test_tool_choice_of_an_undeclared_function_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="tiny-gpt-oss", messages=[{"role": "user", "content": "x"}], tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_time"}})
    assert refused.value.body["param"] == "tool_choice" and "get_time" in refused.value.body["message"]
