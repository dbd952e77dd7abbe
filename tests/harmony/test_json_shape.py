"""openai-harmony's JSON message shape: reading, writing, and errors that point at the mistake."""

from __future__ import annotations

import json

import pytest

from app.harmony import (
    DeveloperContent,
    HarmonyFormatError,
    Message,
    ReasoningEffort,
    SystemContent,
    message_from_json,
    message_to_json,
    messages_from_json,
    render_case_from_json,
)
from app.harmony.messages import DEFAULT_MODEL_IDENTITY
from tests.harmony.golden import render_cases, text_parse_cases


def all_vector_messages() -> list[dict]:
    return [m for case in render_cases() for m in case["messages"]] + [
        m for case in text_parse_cases() for m in case["expected_messages"]]


def test_every_vector_message_survives_a_round_trip() -> None:
    for document in all_vector_messages():
        message = message_from_json(document)
        assert message_from_json(json.loads(json.dumps(message_to_json(message)))) == message


def test_plain_messages_are_written_in_the_vectors_own_shape() -> None:
    for case in text_parse_cases():
        for document in case["expected_messages"]:
            assert message_to_json(message_from_json(document)) == document


def test_missing_system_fields_take_the_library_defaults_and_null_leaves_them_out() -> None:
    bare = message_from_json({"role": "system", "content": {"type": "system_content"}})
    assert bare.content == SystemContent()
    nulls = message_from_json({"role": "system", "content": {
        "type": "system_content", "model_identity": None, "channel_config": None,
        "reasoning_effort": "High"}})
    assert isinstance(nulls.content, SystemContent)
    assert nulls.content.model_identity is None and nulls.content.channel_config is None
    assert nulls.content.reasoning_effort is ReasoningEffort.HIGH
    assert SystemContent().model_identity == DEFAULT_MODEL_IDENTITY


def test_content_lists() -> None:
    texts = message_from_json({"role": "user", "content": [{"type": "text", "text": "a"},
                                                           {"type": "text", "text": "b"}]})
    assert texts == Message("user", "ab")
    developer = message_from_json({"role": "developer", "content": [
        {"type": "developer_content", "instructions": "x"}]})
    assert developer.content == DeveloperContent("x")


def test_keys_of_other_programs_are_ignored() -> None:
    document = {"role": "user", "content": "hi", "ossian": {"status": "done"}, "id": 7}
    assert message_from_json(document) == Message("user", "hi")


def test_render_case_defaults() -> None:
    case = render_case_from_json({"messages": [{"role": "user", "content": "hi"}], "file": "ignored"})
    assert case.next_turn_role == "assistant" and case.auto_drop_analysis is True
    case = render_case_from_json({"messages": [], "next_turn_role": None, "auto_drop_analysis": False})
    assert case.next_turn_role is None and case.auto_drop_analysis is False


@pytest.mark.parametrize(("document", "complaint"), [
    ([], "must be a JSON object"),
    ({}, 'no "messages" list'),
    ({"messages": {}}, "messages: must be a list"),
    ({"messages": [{"content": "x"}]}, r"messages\[0\]: the message has no \"role\""),
    ({"messages": [{"role": "usr"}]}, r"messages\[0\].role: 'usr' is not a role"),
    ({"messages": [{"role": "user", "recipent": "x"}]}, "unknown key 'recipent'; did you mean 'recipient'"),
    ({"messages": [{"role": "system", "content": {"type": "system_content", "reasoning_efort": "low"}}]},
     "did you mean 'reasoning_effort'"),
    ({"messages": [{"role": "user", "content": 5}]}, r"messages\[0\].content: content must be"),
    ({"messages": [{"role": "user", "channel": 5}]}, r"messages\[0\].channel: must be a string"),
    ({"messages": [{"role": "tool", "content": "x"}]}, r"messages\[0\]: a tool message needs"),
    ({"messages": [{"role": "user", "content": {"type": "system_content"}}]}, "only appear in a system"),
    ({"messages": [{"role": "user", "content": {"type": "image"}}]}, "'image' is not a content type"),
    ({"messages": [{"role": "system", "content": {"type": "system_content", "reasoning_effort": "max"}}]},
     r"reasoning_effort: unknown reasoning effort 'max'"),
    ({"messages": [{"role": "system", "content": {"type": "system_content", "tools": {
        "browser": {"name": "web", "tools": []}}}}]}, r"tools.browser.name: 'web' differs from its key"),
    ({"messages": [{"role": "developer", "content": {"type": "developer_content", "tools": {
        "functions": {"tools": [{"description": "x"}]}}}}]},
     r"tools.functions.tools\[0\].name: must be a string"),
    ({"messages": [], "next_turn_role": "bot"}, "next_turn_role: 'bot' is not a role"),
    ({"messages": [], "auto_drop_analysis": "yes"}, "auto_drop_analysis: must be true, false or null"),
])
def test_errors_name_the_place_and_the_fix(document: object, complaint: str) -> None:
    with pytest.raises(HarmonyFormatError, match=complaint):
        render_case_from_json(document)


def test_messages_from_json_rejects_a_non_list() -> None:
    with pytest.raises(HarmonyFormatError, match="must be a list of messages, not an object"):
        messages_from_json({"role": "user"})
