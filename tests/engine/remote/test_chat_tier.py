"""The chat tier: a server that renders the prompt itself. Against `ossian serve` (a real server on the
tiny model) the reply read through the chat tier is the one the `openai` SDK reads; against Ollama's and
LM Studio's shapes each field of their formats lands in the right Harmony message, and back."""

from __future__ import annotations

import json

import openai
import pytest

from app import harmony
from app.chat.completion import CompletionRequest, complete, prompt_settings
from app.engine.interface import LoadPlan, SamplingSettings
from app.engine.remote import ChatServerEngine, ServerAddress, connect
from app.engine.remote.chat_tier import HarmonyWriter
from app.harmony import ASSISTANT, TOOL, USER, Message, ToolDescription
from app.harmony.parser import StreamParser
from fixtures.remote_servers import ChatReplayShape, chat_chunk
from tests.engine.remote.conftest import connected

WEATHER = ToolDescription("get_weather", "The weather in a city.", {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


def ask(*messages: Message, effort: str = "medium", tools: tuple[ToolDescription, ...] = (),
        **sampling: object) -> CompletionRequest:
    return CompletionRequest(messages, prompt_settings(effort, functions=tools),
                             SamplingSettings(**sampling))  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [3, 8])
def test_through_ossian_serve_the_reply_is_what_the_openai_sdk_reads(served, seed: int) -> None:
    base = served.base_url.removesuffix("/v1")
    engine = connected(base, api_key=served.key)
    assert isinstance(engine, ChatServerEngine) and engine.info.kind == "openai"
    result = complete(engine, ask(Message(USER, "Say hello."), seed=seed, max_tokens=40)).result()
    sdk = openai.OpenAI(base_url=served.base_url, api_key=served.key)
    reply = sdk.chat.completions.create(
        model=engine.model.model_path, messages=[{"role": "user", "content": "Say hello."}], seed=seed,
        max_tokens=40, temperature=1.0, top_p=1.0, reasoning_effort="medium")
    message = reply.choices[0].message
    reasoning = (message.model_extra or {}).get("reasoning_content") or ""
    assert (result.reasoning, result.answer) == (reasoning, message.content or "")
    assert result.reasoning or result.answer  # the seeds are ones where random weights write something
    assert result.finish_reason == {"length": "length", "stop": "stop"}[reply.choices[0].finish_reason]
    assert result.usage.prompt_tokens == reply.usage.prompt_tokens
    engine.close()


def test_reasoning_answer_and_usage_from_each_servers_field_names(chat_server: ChatReplayShape) -> None:
    field = "reasoning" if chat_server.kind == "ollama" else "reasoning_content"
    chat_server.queue(chat_chunk({"role": "assistant", field: "The user greets. "}),
                      chat_chunk({field: "Greet back."}), chat_chunk({"content": "Hello"}),
                      chat_chunk({"content": " <|end|> there!"}), chat_chunk(finish="stop"),
                      chat_chunk(usage={"prompt_tokens": 70, "completion_tokens": 12}))
    engine = connected(chat_server.base_url)
    assert engine.info.kind == chat_server.kind and engine.info.tier == "chat"
    assert engine.model is not None and engine.model.n_ctx == 8192  # the loaded context the server reports
    result = complete(engine, ask(Message(USER, "Hi"), effort="high")).result()
    assert [(m.channel, m.text) for m in result.messages] == [
        ("analysis", "The user greets. Greet back."), ("final", "Hello <|end|> there!")]
    assert result.finish_reason == "stop" and result.usage.prompt_tokens == 70
    assert result.usage.completion_tokens == 12
    # The server says no speed: it is measured here, from the first piece to the last.
    assert result.done is not None and result.done.tokens_per_second > 0
    assert result.done.time_to_first_token_s > 0
    body = chat_server.knobs.requests[-1]
    assert body["reasoning_effort"] == "high" and body["reasoning"] == {"effort": "high"}
    assert body.get("think") == ("high" if chat_server.kind == "ollama" else None)
    assert body["messages"] == [{"role": "user", "content": "Hi"}] and "tools" not in body
    engine.close()


def test_a_tool_call_round_trip_with_the_reasoning_passed_back(chat_server: ChatReplayShape) -> None:
    field = "reasoning" if chat_server.kind == "ollama" else "reasoning_content"
    chat_server.queue(
        chat_chunk({"role": "assistant", field: "Need the weather."}),
        chat_chunk({"tool_calls": [{"index": 0, "id": "call_x", "type": "function",
                                    "function": {"name": "get_weather", "arguments": ""}}]}),
        chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
        chat_chunk(finish="tool_calls"))
    engine = connected(chat_server.base_url)
    first = complete(engine, ask(Message(USER, "Weather in Oslo?"), tools=(WEATHER,))).result()
    assert first.finish_reason == "tool_calls"
    [call] = first.tool_calls
    assert (call.name, json.loads(call.arguments), call.recipient) == (
        "get_weather", {"city": "Oslo"}, "functions.get_weather")
    sent = chat_server.knobs.requests[-1]
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": WEATHER.description, "parameters": WEATHER.parameters}}]

    chat_server.queue(chat_chunk({"content": "It is sunny in Oslo."}), chat_chunk(finish="stop"))
    result_message = Message(TOOL, '{"sky": "sunny"}', name="functions.get_weather", recipient=ASSISTANT,
                             channel="commentary")
    second = complete(engine, ask(Message(USER, "Weather in Oslo?"), *first.messages, result_message,
                                  tools=(WEATHER,))).result()
    assert second.answer == "It is sunny in Oslo."
    messages = chat_server.knobs.requests[-1]["messages"]
    assert messages[1]["tool_calls"][0]["function"] == {"name": "get_weather",
                                                        "arguments": '{"city": "Oslo"}'}
    assert messages[1]["reasoning_content"] == messages[1]["reasoning"] == "Need the weather."
    assert messages[2] == {"role": "tool", "tool_call_id": messages[1]["tool_calls"][0]["id"],
                           "content": '{"sky": "sunny"}'}
    engine.close()


def test_an_earlier_answers_reasoning_is_not_sent_back(chat_server: ChatReplayShape) -> None:
    chat_server.queue(chat_chunk({"content": "Fine."}), chat_chunk(finish="stop"))
    engine = connected(chat_server.base_url)
    history = (Message(USER, "Hi"), Message(ASSISTANT, "secret thoughts", channel="analysis"),
               Message(ASSISTANT, "Hello!", channel="final"), Message(USER, "How are you?"))
    complete(engine, ask(*history)).result()
    assert chat_server.knobs.requests[-1]["messages"] == [
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How are you?"}]
    engine.close()


def test_the_model_is_picked_by_name_and_an_unknown_one_is_named(chat_server: ChatReplayShape) -> None:
    engine = connect(ServerAddress(chat_server.base_url))
    wanted = "gpt-oss:20b" if chat_server.kind == "ollama" else "openai/gpt-oss-20b"
    assert engine.load(LoadPlan(wanted)).result(timeout=30).model_path == wanted
    with pytest.raises(Exception) as refused:
        engine.load(LoadPlan("llama3:8b")).result(timeout=30)
    assert refused.value.error.kind == "model" and wanted in refused.value.error.message
    engine.close()


# ------------------------------------------------------------------------------ leaked Harmony

def written(*deltas: dict, finish: str = "stop") -> list[harmony.Message]:
    """What the chat tier makes of these deltas, parsed as the completion parses it."""
    from app.engine.remote.chat_tier import CHAT_SPECIAL_IDS

    writer = HarmonyWriter()
    parser = StreamParser(CHAT_SPECIAL_IDS, role=ASSISTANT)
    events = []
    for delta in deltas:
        for token in writer.delta(delta):
            events += parser.feed(token.id, token.piece)
    for token in writer.finish({"stop": "return", "length": "length", "tool_calls": "call"}[finish]):
        events += parser.feed(token.id, token.piece)
    events += parser.finish()
    return [e.message for e in events if isinstance(e, harmony.MessageEnded)]


def test_a_reply_that_leaks_written_specials_is_read_as_harmony() -> None:
    messages = written({"content": "<|chan"}, {"content": "nel|>analysis<|message|>Think.<|end|>"},
                       {"content": "<|start|>assistant<|channel|>final<|message|>Done."})
    assert [(m.channel, m.text) for m in messages] == [("analysis", "Think."), ("final", "Done.")]


def test_a_reply_that_leaks_with_the_specials_stripped_is_split() -> None:
    """The failure of templates that skip special tokens: `analysis…assistantfinal…` in one string."""
    messages = written({"content": "analysis"}, {"content": "The user says hi. Reply.assistant"},
                       {"content": "final"}, {"content": "Hi there!"})
    assert [(m.channel, m.text) for m in messages] == [("analysis", "The user says hi. Reply."),
                                                       ("final", "Hi there!")]


def test_an_answer_that_only_starts_like_a_leak_is_kept_whole() -> None:
    assert [(m.channel, m.text) for m in written({"content": "analysis of the data shows growth."})] == [
        ("final", "analysis of the data shows growth.")]
    assert [(m.channel, m.text) for m in written({"content": "<|"}, {"content": "wow|>"})] == [
        ("final", "<|wow|>")]


def test_a_reply_cut_by_the_length_limit_leaves_its_message_open() -> None:
    writer_messages = written({"reasoning_content": "Hmm"}, {"content": "Half an ans"}, finish="length")
    assert [(m.channel, m.text) for m in writer_messages] == [("analysis", "Hmm"), ("final", "Half an ans")]
