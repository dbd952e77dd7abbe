import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store import FORMAT_NAME, ConversationFileError, NewAttachment, NewMessage, Store, TurnFigures
from tests.store.conftest import Clock

SHA = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
HARMONY_KEYS = {"role", "name", "recipient", "content", "channel", "content_type"}

# Messages in openai-harmony's JSON shape, as its test-data uses it (openai/harmony v0.0.8, Apache-2.0):
# a user question, reasoning, a function call with its result, the final answer.
HARMONY_MESSAGES = [
    {"role": "user", "content": "What is the weather in Tokyo?"},
    {"role": "assistant", "channel": "analysis", "content": "Need to use function get_weather."},
    {"role": "assistant", "channel": "commentary", "recipient": "functions.get_weather",
     "content_type": "<|constrain|>json", "content": '{"location": "Tokyo"}'},
    {"role": "tool", "name": "functions.get_weather", "channel": "commentary", "recipient": "assistant",
     "content": '{"sunny": true, "temperature": 20}'},
    {"role": "assistant", "channel": "final", "content": "It is sunny and 20 °C in Tokyo."},
]


def rich_conversation(store: Store, clock: Clock) -> int:
    conversation = store.create_conversation(model="gpt-oss-20b", reasoning_effort="high",
                                             settings={"temperature": 0.8, "tools": {"python": True}})
    store.update_conversation(conversation.id, pinned=True)
    sent = store.add_user_turn(conversation.id, "Summarise the report and compute 2**10", [
        NewAttachment("report.pdf", "application/pdf", SHA, "Revenue rose 4%.", 7, page_count=2)])
    clock.advance(0.123)
    turn_id = sent.turn.id
    store.append_message(conversation.id, NewMessage("assistant", "Use python.", channel="analysis"),
                         turn_id=turn_id)
    call = store.append_message(conversation.id, NewMessage("assistant", "print(2**10)", channel="analysis",
                                                            recipient="python"), turn_id=turn_id)
    clock.advance(1.5)
    result = store.append_message(conversation.id, NewMessage("tool", "1024\n", name="python",
                                                              channel="analysis", recipient="assistant"),
                                  turn_id=turn_id)
    store.set_tool_call(call.id, "done", result_message_id=result.id, duration_s=0.2)
    store.append_message(conversation.id, NewMessage("assistant", "Revenue rose 4%; 2**10 = 1024.",
                                                     channel="final"), turn_id=turn_id)
    store.record_turn_stats(turn_id, TurnFigures(900, 850, 60, 0.25, 33.3, "return"))
    second = store.add_user_turn(conversation.id, "And in euros?")
    store.append_message(conversation.id, NewMessage("assistant", "In eu", channel="final", status="error",
                                                     error="The engine stopped."), turn_id=second.turn.id)
    return conversation.id


def test_export_import_round_trip_is_exact(store: Store, clock: Clock) -> None:
    original = rich_conversation(store, clock)
    exported = store.export_json(original)
    clock.advance(3600)  # importing later must not change any time in the file
    imported = store.import_json(exported)
    assert imported.id != original
    # All but the tool switch: an imported conversation grants nothing (test_json_import_hostile.py).
    assert imported.reset_settings == ("tools",)
    expected = json.loads(exported)
    expected["settings"] = {"temperature": 0.8}
    assert store.export_json(imported.id) == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    before, after = store.load_transcript(original), store.load_transcript(imported.id)
    assert [m.tool_call.result if m.tool_call else None for m in after.messages] == [
        m.tool_call.result if m.tool_call else None for m in before.messages]
    assert after.attachments[0].message_id == after.messages[0].id


def test_messages_are_in_the_harmony_shape(store: Store, clock: Clock) -> None:
    data = json.loads(store.export_json(rich_conversation(store, clock)))
    assert (data["format"], data["version"]) == (FORMAT_NAME, 1)
    assert (data["title"], data["model"], data["reasoning_effort"]) == (
        "Summarise the report and compute 2**10", "gpt-oss-20b", "high")
    assert data["created_at"] == "2025-08-05T13:20:00.000Z"
    harmony = [{k: v for k, v in message.items() if k != "ossian"} for message in data["messages"]]
    assert all(set(message) <= HARMONY_KEYS for message in harmony)
    assert harmony[2] == {"role": "assistant", "recipient": "python", "content": "print(2**10)",
                          "channel": "analysis"}  # absent fields are left out, not null
    assert data["messages"][2]["ossian"]["tool_call"] == {"state": "done", "result": 3, "duration_s": 0.2,
                                                          "error": None}
    assert data["messages"][6]["ossian"] == {"status": "error", "created_at": "2025-08-05T13:20:01.623Z",
                                             "turn": 1, "error": "The engine stopped."}
    assert data["attachments"][0]["message"] == 0 and data["attachments"][0]["text"] == "Revenue rose 4%."


def test_a_plain_list_of_harmony_messages_imports(store: Store) -> None:
    conversation = store.import_json(json.dumps(HARMONY_MESSAGES))
    assert (conversation.title, conversation.title_source) == ("What is the weather in Tokyo?", "auto")
    exported = json.loads(store.export_json(conversation.id))
    assert [{k: v for k, v in m.items() if k != "ossian"} for m in exported["messages"]] == HARMONY_MESSAGES
    messages = store.list_messages(conversation.id)
    assert len({m.turn_id for m in messages}) == 1 and messages[0].turn_id is not None
    assert [hit.conversation_id for hit in store.search("sunny")] == [conversation.id]


def test_harmony_content_parts_and_other_shapes_are_accepted(store: Store) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "Hello "},
                                          {"type": "text", "text": "there"}]}]
    conversation = store.import_json(json.dumps({"messages": parts}).encode())
    assert store.list_messages(conversation.id)[0].content == "Hello there"


def test_unfinished_work_in_a_file_is_marked_interrupted(store: Store) -> None:
    data = {"format": FORMAT_NAME, "version": 1, "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "recipient": "python", "content": "x", "ossian": {
            "status": "complete", "tool_call": {"state": "running"}}},
        {"role": "assistant", "content": "hal", "channel": "final", "ossian": {"status": "streaming"}},
    ]}
    conversation = store.import_json(json.dumps(data))
    messages = store.list_messages(conversation.id)
    assert messages[1].tool_call.state == "interrupted"
    assert messages[2].status == "interrupted"


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    (b"\xff\xfe\x00", "not UTF-8 text"),
    ('"just text"', "it holds text; expected an object"),
    ('{"format": "chatgpt-export", "messages": []}', "its format is 'chatgpt-export'"),
    ('{"format": "ossian-conversation", "version": 7, "messages": []}', "version 7 of the format"),
    ('{"format": "ossian-conversation", "version": 1}', "the file has no 'messages'"),
    ('[{"role": "bot", "content": "hi"}]', "messages[0].role is 'bot'; it must be one of system"),
    ('[{"content": "hi"}]', "messages[0] has no 'role'"),
    ('[{"role": "user", "content": 5}]', "messages[0].content must be text, not a number"),
    ('[{"role": "user", "content": "x", "channel": ["final"]}]',
     "messages[0].channel must be text, not a list"),
    ('[{"role": "system", "content": {"type": "system_content", "model_identity": "x"}}]',
     "structured system_content"),
    ('{"messages": [{"role": "user", "content": "x"}], "attachments": [{"message": 0, "file_name": "a", '
     '"sha256": "abc", "text": "t"}]}', "attachments[0].sha256 must be 64 hexadecimal digits"),
    ('{"messages": [{"role": "user", "content": "x"}], "attachments": [{"message": 3, "file_name": "a", '
     f'"sha256": "{SHA}", "text": "t"}}]}}', "attachments[0].message is 3, which is not the index of a user"),
    ('{"messages": [{"role": "user", "content": "x", "ossian": {"created_at": "yesterday"}}]}',
     "messages[0].ossian.created_at is 'yesterday', not an ISO 8601 time"),
    ('{"messages": [{"role": "user", "content": "x", "ossian": {"tool_call": {"state": "done"}}}]}',
     "messages[0].ossian.tool_call belongs to a message that is not a tool call"),
    ('{"reasoning_effort": "max", "messages": []}', "reasoning_effort is 'max'"),
    ('{"turns": [], "messages": [{"role": "user", "content": "x", "ossian": {"turn": 2}}]}',
     "messages[0].ossian.turn is 2, but the file has 0 turn(s)"),
])
def test_bad_files_are_refused_with_the_place_and_the_problem(store: Store, text: str | bytes,
                                                              message: str) -> None:
    with pytest.raises(ConversationFileError) as caught:
        store.import_json(text)
    assert str(caught.value).startswith("This conversation file cannot be imported: ")
    assert message in str(caught.value)
    assert store.list_conversations(include_archived=True) == []  # all or nothing


texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=texts.filter(lambda t: t.strip() and len(" ".join(t.split())) <= 200),
       contents=st.lists(texts, max_size=4),
       channel=st.sampled_from([None, "analysis", "commentary", "final"]))
def test_any_text_survives_export_and_import(store: Store, title: str, contents: list[str],
                                             channel: str | None) -> None:
    conversation = store.create_conversation(title=title)
    for content in contents:
        store.append_message(conversation.id, NewMessage("user", content))
        store.append_message(conversation.id, NewMessage("assistant", content, channel=channel))
    exported = store.export_json(conversation.id)
    copy = store.import_json(exported)
    assert store.export_json(copy.id) == exported
    assert [m.content for m in store.list_messages(copy.id)] == [c for c in contents for _ in range(2)]
