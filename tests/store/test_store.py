import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.store import (
    InvalidInput,
    NewAttachment,
    NewMessage,
    NotFound,
    Store,
    StoreError,
    TurnFigures,
    open_store,
)
from tests.store.conftest import START_TIME, Clock, fill_turn, integrity

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def test_new_conversation_has_placeholder_title_and_settings(store: Store) -> None:
    conversation = store.create_conversation(model="gpt-oss-20b", reasoning_effort="high",
                                             settings={"temperature": 0.7, "tools": ["python"]})
    again = store.get_conversation(conversation.id)
    assert again == conversation
    assert again.title == "New conversation"
    assert again.title_source == "placeholder"
    assert again.settings == {"temperature": 0.7, "tools": ["python"]}
    assert again.created_at == datetime.fromtimestamp(START_TIME, UTC)


def test_first_user_message_titles_the_conversation_once(store: Store) -> None:
    conversation = store.create_conversation()
    store.add_user_turn(conversation.id, "## Plan a **three-day** trip to Lisbon\nwith kids")
    assert store.get_conversation(conversation.id).title == "Plan a three-day trip to Lisbon"
    store.add_user_turn(conversation.id, "Actually, make it Porto")
    assert store.get_conversation(conversation.id).title == "Plan a three-day trip to Lisbon"


def test_renamed_title_is_never_replaced(store: Store) -> None:
    conversation = store.create_conversation()
    renamed = store.rename_conversation(conversation.id, "  Holiday\n plans ")
    assert renamed.title == "Holiday plans"
    assert renamed.title_source == "user"
    store.add_user_turn(conversation.id, "Plan a trip")
    assert store.get_conversation(conversation.id).title == "Holiday plans"


def test_document_only_message_takes_the_file_name_as_title(store: Store) -> None:
    conversation = store.create_conversation()
    attachment = NewAttachment("q3-report.pdf", "application/pdf", SHA, "Revenue grew.", 4, page_count=12)
    store.add_user_turn(conversation.id, "", [attachment])
    assert store.get_conversation(conversation.id).title == "q3-report.pdf"


@pytest.mark.parametrize("title", ["", "   \n "])
def test_empty_rename_is_refused_and_changes_nothing(store: Store, title: str) -> None:
    conversation = store.create_conversation(title="Kept")
    with pytest.raises(InvalidInput, match="cannot be empty"):
        store.rename_conversation(conversation.id, title)
    assert store.get_conversation(conversation.id).title == "Kept"


def test_sidebar_lists_pinned_then_newest_and_hides_archived(store: Store, clock: Clock) -> None:
    ids = []
    for name in ("old", "middle", "new"):
        ids.append(store.create_conversation(title=name).id)
        clock.advance()
    old, middle, _ = ids
    store.add_user_turn(old, "bump the old one")  # activity moves it to the top
    store.update_conversation(middle, pinned=True)
    archived = store.create_conversation(title="archived").id
    store.update_conversation(archived, archived=True)
    assert [row.title for row in store.list_conversations()] == ["middle", "old", "new"]
    # "archived" and the bumped "old" share a time: the later id comes first.
    assert [row.title for row in store.list_conversations(include_archived=True)] == [
        "middle", "archived", "old", "new"]
    assert [row.title for row in store.list_conversations(limit=2, offset=1)] == ["old", "new"]


def test_update_conversation_changes_only_what_is_given(store: Store) -> None:
    conversation = store.create_conversation(model="gpt-oss-20b", settings={"a": 1})
    updated = store.update_conversation(conversation.id, reasoning_effort="low")
    assert (updated.model, updated.reasoning_effort, updated.settings) == ("gpt-oss-20b", "low", {"a": 1})
    updated = store.update_conversation(conversation.id, model=None, settings={"b": [2]})
    assert (updated.model, updated.settings) == (None, {"b": [2]})
    assert updated.updated_at == conversation.updated_at  # settings changes do not reorder the sidebar


@pytest.mark.parametrize(("arguments", "message"), [
    ({"reasoning_effort": "extreme"}, "reasoning_effort must be one of low, medium, high"),
    ({"settings": {"when": datetime.now(UTC)}}, "JSON values"),
    ({"settings": ["not", "a", "dict"]}, "settings must be a dict"),
    ({"pinned": "yes"}, "pinned must be True or False"),
])
def test_bad_conversation_updates_are_refused(store: Store, arguments: dict, message: str) -> None:
    conversation = store.create_conversation()
    with pytest.raises(InvalidInput, match=message):
        store.update_conversation(conversation.id, **arguments)
    assert store.get_conversation(conversation.id) == conversation


def test_messages_keep_their_harmony_structure_and_order(store: Store) -> None:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "Weather in Tokyo?")
    call = store.append_message(conversation.id, NewMessage(
        "assistant", '{"location": "Tokyo"}', channel="commentary", recipient="functions.get_weather",
        content_type="<|constrain|>json"), turn_id=turn.turn.id)
    result = store.append_message(conversation.id, NewMessage(
        "tool", '{"sunny": true}', name="functions.get_weather", channel="commentary", recipient="assistant"),
        turn_id=turn.turn.id)
    messages = store.list_messages(conversation.id)
    assert [m.id for m in messages] == [turn.message.id, call.id, result.id]
    assert [m.position for m in messages] == [0, 1, 2]
    assert {m.turn_id for m in messages} == {turn.turn.id}
    stored_call = messages[1]
    assert (stored_call.role, stored_call.channel, stored_call.recipient, stored_call.content_type) == (
        "assistant", "commentary", "functions.get_weather", "<|constrain|>json")
    assert (messages[2].role, messages[2].name) == ("tool", "functions.get_weather")
    assert stored_call.tool_call is None  # no state recorded yet


def test_tool_call_state_with_result_and_duration(store: Store) -> None:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "Run it")
    call = store.append_message(conversation.id, NewMessage("assistant", "print(2 + 2)", channel="analysis",
                                                            recipient="python"), turn_id=turn.turn.id)
    assert store.set_tool_call(call.id, "waiting_approval").state == "waiting_approval"
    store.set_tool_call(call.id, "running")
    result = store.append_message(conversation.id, NewMessage("tool", "4\n", name="python",
                                                              channel="analysis", recipient="assistant"))
    done = store.set_tool_call(call.id, "done", result_message_id=result.id, duration_s=0.31)
    assert (done.tool, done.arguments, done.result, done.duration_s) == (
        "python", "print(2 + 2)", "4\n", 0.31)
    assert store.list_messages(conversation.id)[1].tool_call == done


def test_tool_call_state_is_only_for_tool_calls(store: Store) -> None:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "hello")
    with pytest.raises(InvalidInput, match="not a tool call"):
        store.set_tool_call(turn.message.id, "running")
    call = store.append_message(conversation.id, NewMessage("assistant", "{}", recipient="python"))
    with pytest.raises(InvalidInput, match="not a tool message"):
        store.set_tool_call(call.id, "done", result_message_id=turn.message.id)
    with pytest.raises(InvalidInput, match="state must be one of"):
        store.set_tool_call(call.id, "exploded")  # type: ignore[arg-type]


def test_streaming_updates_then_completion(store: Store) -> None:
    conversation = store.create_conversation()
    reply = store.append_message(conversation.id, NewMessage("assistant", status="streaming"))
    store.update_message_content(reply.id, "Hel")
    assert (store.get_message(reply.id).content, store.get_message(reply.id).status) == ("Hel", "streaming")
    store.update_message_content(reply.id, "Hello!", "complete")
    assert (store.get_message(reply.id).content, store.get_message(reply.id).status) == ("Hello!", "complete")
    store.update_message_content(reply.id, "Hello! Bu", "error", error="The engine stopped (out of memory).")
    failed = store.get_message(reply.id)
    assert (failed.status, failed.error) == ("error", "The engine stopped (out of memory).")


def test_delete_messages_after_supports_regenerate(store: Store) -> None:
    conversation = store.create_conversation()
    first_question, _ = fill_turn(store, conversation.id, "one", "answer one")
    second_question, _ = fill_turn(store, conversation.id, "two", "answer two")
    second_turn = store.get_message(second_question).turn_id
    store.record_turn_stats(second_turn, TurnFigures(10, 0, 5, 0.1, 50.0, "return"))
    assert store.delete_messages_after(second_question) == 2
    kept = store.list_messages(conversation.id)
    assert [m.content for m in kept] == ["one", "Thinking about: one", "answer one", "two"]
    turns = store.list_turns(conversation.id)
    assert len(turns) == 2 and turns[1].stats is None  # the deleted answer's stats went with it
    assert store.delete_messages_after(first_question) == 3
    assert len(store.list_turns(conversation.id)) == 1  # the emptied second turn is gone


def test_turn_stats_round_trip(store: Store) -> None:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "hi")
    assert store.list_turns(conversation.id)[0].stats is None
    stats = TurnFigures(prompt_tokens=812, reused_tokens=790, generated_tokens=64, time_to_first_token_s=0.42,
                      tokens_per_second=31.5, finish_reason="return")
    store.record_turn_stats(turn.turn.id, stats)
    assert store.list_turns(conversation.id)[0].stats == stats
    with pytest.raises(NotFound, match="Turn 999"):
        store.record_turn_stats(999, stats)


def test_attachments_are_kept_with_their_message(store: Store) -> None:
    conversation = store.create_conversation()
    sent = store.add_user_turn(conversation.id, "Summarise this", [
        NewAttachment("a.pdf", "application/pdf", SHA, "Page one text", 120, mode="search", page_count=3)])
    extra = store.add_attachment(sent.message.id, NewAttachment("b.txt", "text/plain", SHA, "plain", 1))
    listed = store.list_attachments(conversation.id)
    assert listed == [*sent.attachments, extra]
    assert (listed[0].message_id, listed[0].mode, listed[0].page_count) == (sent.message.id, "search", 3)
    reply = store.append_message(conversation.id, NewMessage("assistant", "ok", channel="final"))
    with pytest.raises(InvalidInput, match="attached to the user message"):
        store.add_attachment(reply.id, NewAttachment("c.txt", "text/plain", SHA, "x", 1))


@pytest.mark.parametrize(("attachment", "message"), [
    (NewAttachment("a.pdf", "application/pdf", "abc", "t", 1), "sha256 must be 64 lowercase hexadecimal"),
    (NewAttachment("a.pdf", "application/pdf", SHA.upper(), "t", 1), "sha256 must be 64 lowercase"),
    (NewAttachment("a.pdf", "application/pdf", SHA, "t", -1), "token_count"),
    (NewAttachment(" ", "application/pdf", SHA, "t", 1), "needs a file name"),
    (NewAttachment("a.pdf", "application/pdf", SHA, "t", 1, mode="whole"), "mode must be one of"),  # type: ignore[arg-type]
])
def test_bad_attachments_are_refused_and_nothing_is_written(store: Store, attachment: NewAttachment,
                                                            message: str) -> None:
    conversation = store.create_conversation()
    with pytest.raises(InvalidInput, match=message):
        store.add_user_turn(conversation.id, "see file", [attachment])
    assert store.list_messages(conversation.id) == []  # the turn was refused whole


@pytest.mark.parametrize(("message", "text"), [
    (NewMessage("robot", "hi"), "role must be one of"),  # type: ignore[arg-type]
    (NewMessage("user", "hi", status="done"), "status must be one of"),  # type: ignore[arg-type]
    (NewMessage("user", 42), "content must be text"),  # type: ignore[arg-type]
    (NewMessage("assistant", "x", channel=3), "channel must be text"),  # type: ignore[arg-type]
])
def test_bad_messages_are_refused(store: Store, message: NewMessage, text: str) -> None:
    conversation = store.create_conversation()
    with pytest.raises(InvalidInput, match=text):
        store.append_message(conversation.id, message)
    assert store.list_messages(conversation.id) == []


def test_unknown_ids_raise_not_found_with_a_sentence(store: Store) -> None:
    conversation = store.create_conversation()
    turn = store.add_user_turn(conversation.id, "x")
    for call in (lambda: store.get_conversation(404), lambda: store.list_messages(404),
                 lambda: store.append_message(404, NewMessage("user", "x")),
                 lambda: store.rename_conversation(404, "x"), lambda: store.delete_conversation(404),
                 lambda: store.update_conversation(404, pinned=True)):
        with pytest.raises(NotFound, match="Conversation 404 does not exist"):
            call()
    for call in (lambda: store.get_message(404), lambda: store.update_message_content(404, "x"),
                 lambda: store.delete_messages_after(404), lambda: store.set_tool_call(404, "done")):
        with pytest.raises(NotFound, match="Message 404 does not exist"):
            call()
    other = store.create_conversation()
    with pytest.raises(InvalidInput, match=f"not a turn of conversation {other.id}"):
        store.append_message(other.id, NewMessage("assistant", "x"), turn_id=turn.turn.id)


def test_delete_cascades_to_everything(store: Store, db_path: Path) -> None:
    doomed = store.create_conversation()
    kept = store.create_conversation()
    for conversation in (doomed, kept):
        sent = store.add_user_turn(conversation.id, "findme please", [
            NewAttachment("a.txt", "text/plain", SHA, "text", 1)])
        call = store.append_message(conversation.id, NewMessage("assistant", "{}", recipient="python"),
                                    turn_id=sent.turn.id)
        store.set_tool_call(call.id, "done")
    store.delete_conversation(doomed.id)
    conn = sqlite3.connect(db_path)
    counts = [conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("conversations", "turns", "messages", "tool_calls", "attachments")]
    conn.close()
    assert counts == [1, 1, 2, 1, 1]
    assert [hit.conversation_id for hit in store.search("findme")] == [kept.id]
    assert integrity(db_path) == ("ok", "fts ok")


def test_data_survives_closing_and_reopening(db_path: Path, clock: Clock) -> None:
    with open_store(db_path, clock=clock) as store:
        conversation = store.create_conversation(title="Persistent")
        fill_turn(store, conversation.id, "Is it saved?", "Yes.")
        before = store.load_transcript(conversation.id)
    with open_store(db_path, clock=clock) as store:
        assert store.load_transcript(conversation.id) == before
        assert store.report.migrated_from == store.report.schema_version
        assert store.report.journal_mode == "wal"


def test_closed_store_says_so(db_path: Path) -> None:
    store = open_store(db_path)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_conversations()
