"""The two wire formats, word for word: the API server in this process on the scripted engine.

The scripted engine replays a Harmony reply the test names, so these tests can check the exact text of
answers, reasoning and calls, and read the prompt the API rendered (`engine.requests`). The requests are
real HTTP through uvicorn, made by the `openai` SDK or, for the replayed Codex request, as raw SSE.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from app.engine.interface import GenerateRequest
from app.engine.testing import harmony_reply
from app.harmony import segments_to_text
from tests.api.conftest import InProcess

REASON_THEN_ANSWER = [("analysis", "The user greets."), ("final", "Hello there.")]
CALL_SHELL = [("analysis", "List the files."),
              ("commentary to=functions.shell <|constrain|>json", '{"command": ["ls"]}')]


def client(server: InProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=server.key, max_retries=0)


def prompt_text(request: GenerateRequest) -> str:
    return segments_to_text(request.segments)


def post(server: InProcess, path: str, body: Any, headers: dict[str, str] | None = None
         ) -> tuple[int, dict[str, str], str]:
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection.request("POST", f"/v1{path}", body=data, headers={
        "Authorization": f"Bearer {server.key}", "Content-Type": "application/json", **(headers or {})})
    answer = connection.getresponse()
    text = answer.read().decode()
    connection.close()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, text


def sse_events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        payload = json.loads(lines["data"])
        assert payload["type"] == lines["event"]
        events.append(payload)
    return events


def test_chat_answer_reasoning_and_the_prompt(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply(REASON_THEN_ANSWER))
    reply = client(scripted).chat.completions.create(model="anything", reasoning_effort="high", messages=[
        {"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi <|start|> there"}])
    message = reply.choices[0].message
    assert message.content == "Hello there."
    assert message.model_extra["reasoning_content"] == message.model_extra["reasoning"] == "The user greets."
    assert reply.model == "gpt-oss-20b-mxfp4"
    prompt = prompt_text(scripted.engine.requests[-1])
    assert "Reasoning: high" in prompt and "# Instructions\n\nBe kind." in prompt
    assert prompt.endswith("<|start|>user<|message|>Hi <|start|> there<|end|><|start|>assistant")
    # ...where the user's `<|start|>` is text: only the specials the renderer put there are specials.
    assert sum(1 for s in scripted.engine.requests[-1].segments if s.__class__.__name__ == "Special"
               and s.token == "<|start|>") == 4


def test_chat_history_with_a_call_renders_as_harmony(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply([("final", "It is clear.")]))
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    client(scripted).chat.completions.create(model="m", tools=[tool], messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "reasoning_content": "Call the tool.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "clear"}])
    prompt = prompt_text(scripted.engine.requests[-1])
    assert "namespace functions {\n\ntype get_weather = (_: {\n}) => any;" in prompt
    assert ("<|start|>assistant<|channel|>analysis<|message|>Call the tool.<|end|>"
            "<|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{}"
            "<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>clear<|end|>"
            "<|start|>assistant") in prompt


def test_nothing_the_api_receives_can_run_python(scripted: InProcess) -> None:
    """No builtin tool is declared; a call the model makes to python anyway goes back to the client as a
    call (which it cannot run either), never to a sandbox."""
    scripted.engine.queue(harmony_reply([("analysis to=python", "import os; os.remove('x')")]))
    reply = client(scripted).chat.completions.create(model="m", messages=[{"role": "user", "content": "go"}])
    prompt = prompt_text(scripted.engine.requests[-1])
    assert "## python" not in prompt and "## browser" not in prompt
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, reply.choices[0].finish_reason) == ("python", "tool_calls")


def test_the_window_s_own_turn_makes_a_429_with_retry_after(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply(REASON_THEN_ANSWER))
    window_turn = scripted.engine.generate(GenerateRequest(()))  # started, not finished: the engine is busy
    try:
        with pytest.raises(openai.RateLimitError) as raised:
            client(scripted).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert raised.value.response.headers["retry-after"] == "5"
        assert "Ossian window" in raised.value.message
    finally:
        window_turn.cancel()


@pytest.mark.parametrize(("path", "body", "param", "words"), [
    ("/chat/completions", {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, "messages[0].content[0]", "text only"),
    ("/chat/completions", {"messages": []}, "messages", "at least one"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "n": 2}, "n", "one reply"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "x"}], "reasoning_effort": "max"},
     "reasoning_effort", "low, medium or high"),
    ("/chat/completions", {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]},
     "messages[0].tool_call_id", "names no tool call"),
    ("/chat/completions", {"messages": [{"role": "user", "content": "x"}],
                           "response_format": {"type": "json_schema"}}, "response_format", "not supported"),
    ("/responses", {"input": "x", "previous_response_id": "resp_1"}, "previous_response_id", "stateless"),
    ("/responses", {"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]},
     "input[0].call_id", "stateless"),
])
def test_requests_it_cannot_serve_are_400_naming_the_parameter(scripted: InProcess, path: str, body: dict,
                                                               param: str, words: str) -> None:
    status, _, text = post(scripted, path, body)
    error = json.loads(text)["error"]
    assert status == 400 and error["param"] == param and words in error["message"]
    assert error["type"] == "invalid_request_error"


def test_a_body_that_is_not_json(scripted: InProcess) -> None:
    status, _, text = post(scripted, "/chat/completions", b"{not json")
    assert status == 400 and "not valid JSON" in json.loads(text)["error"]["message"]


# A Codex CLI turn, as its Responses request is built (codex-rs/core/src/client_common.rs
# `ResponsesApiRequest`; items are codex-rs/protocol/src/models.rs `ResponseItem`): instructions, a developer
# message with the environment, the user's message, the reasoning item and function call of the turn so far
# and the call's output, function tools with `strict`, a tool type of OpenAI's own (left out here),
# `store: false`, `stream: true`, `include: ["reasoning.encrypted_content"]`, a `prompt_cache_key`.
CODEX_REQUEST = {
    "model": "gpt-oss:20b",
    "instructions": "You are Codex, a coding agent.",
    "input": [
        {"type": "message", "role": "developer", "content": [
            {"type": "input_text", "text": "<environment_context>cwd: /repo</environment_context>"}]},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "What is in this repo?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": None,
         "content": [{"type": "reasoning_text", "text": "I should list the files."}]},
        {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"ls\"]}",
         "call_id": "call_9"},
        {"type": "function_call_output", "call_id": "call_9", "output": "README.md\nsrc"},
    ],
    "tools": [
        {"type": "function", "name": "shell", "description": "Runs a shell command.", "strict": False,
         "parameters": {"type": "object",
                        "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                        "required": ["command"], "additionalProperties": False}},
        {"type": "web_search"},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "reasoning": {"effort": "low", "summary": "auto"},
    "store": False,
    "stream": True,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "0199-session",
}


def test_a_replayed_codex_request_streams_what_codex_reads(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply(CALL_SHELL))
    status, headers, text = post(scripted, "/responses", CODEX_REQUEST)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = sse_events(text)
    kinds = [e["type"] for e in events]
    assert kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added",
        *["response.reasoning_text.delta"] * kinds.count("response.reasoning_text.delta"),
        "response.reasoning_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * kinds.count("response.function_call_arguments.delta"),
        "response.function_call_arguments.done", "response.output_item.done",
        "response.completed"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    done_items = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    assert done_items[0]["type"] == "reasoning"
    assert done_items[0]["content"] == [{"type": "reasoning_text", "text": "List the files."}]
    call = done_items[1]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == ("function_call", "shell",
                                                                           {"command": ["ls"]})
    assert call["call_id"].startswith("call_") and call["status"] == "completed"
    completed = events[-1]["response"]
    assert completed["id"] == events[0]["response"]["id"] and completed["status"] == "completed"
    assert [item["id"] for item in completed["output"]] == [item["id"] for item in done_items]
    usage = completed["usage"]
    assert usage["input_tokens"] > 0
    assert usage["output_tokens"] > usage["output_tokens_details"]["reasoning_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    prompt = prompt_text(scripted.engine.requests[-1])
    assert "Reasoning: low" in prompt
    assert "You are Codex, a coding agent.\n\n<environment_context>cwd: /repo</environment_context>" in prompt
    assert "type shell = (_: {\n" in prompt and "web_search" not in prompt
    assert ("<|start|>user<|message|>What is in this repo?<|end|>"
            "<|start|>assistant<|channel|>analysis<|message|>I should list the files.<|end|>"
            "<|start|>assistant to=functions.shell<|channel|>commentary <|constrain|>json<|message|>"
            "{\"command\":[\"ls\"]}<|call|>"
            "<|start|>functions.shell to=assistant<|channel|>commentary<|message|>README.md\nsrc<|end|>"
            "<|start|>assistant") in prompt


def test_responses_stream_through_the_sdk_with_a_preamble(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply([("analysis", "Think."), ("commentary", "Let me look."),
                                         ("commentary to=functions.shell <|constrain|>json", "{}")]))
    tool = {"type": "function", "name": "shell", "parameters": {"type": "object"}}
    with client(scripted).responses.stream(model="m", input="hi", tools=[tool]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message", "function_call"]
    assert final.output[1].phase == "commentary" and final.output_text == "Let me look."
    assert final.output[2].name == "shell"


def test_a_token_limit_is_an_incomplete_response(scripted: InProcess) -> None:
    scripted.engine.queue(harmony_reply([("analysis", "Thinking for a long while")]).__class__(
        harmony_reply([("analysis", "Thinking for a long while")]).tokens[:5], "length"))
    response = client(scripted).responses.create(model="m", input="hi", max_output_tokens=5)
    assert response.status == "incomplete"
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].type == "reasoning" and response.output[0].status == "incomplete"
