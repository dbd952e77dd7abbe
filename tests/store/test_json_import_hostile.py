"""Importing a conversation file someone else wrote (issue 14, item 9): it grants nothing, and whatever is
wrong with it is one `ConversationFileError` that names the place, says what is allowed and what to do.

Every test goes through `Store.import_json` into a real SQLite file and, where it matters, reads the
result back through a fresh `open_store` on that file, as the app does on its next start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from app.chat.workspace import Workspace
from app.store import (
    FORMAT_NAME,
    ConversationFileError,
    InvalidInput,
    NewAttachment,
    NewMessage,
    Store,
    import_guard,
    open_store,
)
from app.store.json_format import ImportedConversation
from tests.store.conftest import Clock, integrity

SHA = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
BIG = 2**63  # one past SQLite's largest INTEGER


def conversation_file(**fields: Any) -> dict[str, Any]:
    """A small valid file (a question, a python call with its result, an answer) with `fields` on top."""
    data: dict[str, Any] = {
        "format": FORMAT_NAME, "version": 1, "title": "Hostile", "settings": {},
        "turns": [{"started_at": "2025-08-05T13:20:00.000Z", "stats": {"prompt_tokens": 10}}],
        "messages": [
            {"role": "user", "content": "compute", "ossian": {"turn": 0}},
            {"role": "assistant", "recipient": "python", "channel": "analysis", "content": "print(1)",
             "ossian": {"turn": 0, "tool_call": {"state": "done", "result": 2, "duration_s": 0.5}}},
            {"role": "tool", "name": "python", "recipient": "assistant", "channel": "analysis",
             "content": "1\n", "ossian": {"turn": 0}},
            {"role": "assistant", "channel": "final", "content": "It is 1.", "ossian": {"turn": 0}},
        ],
        "attachments": [{"message": 0, "file_name": "a.txt", "sha256": SHA, "text": "t", "token_count": 1}],
    }
    data.update(fields)
    return data


def refused(store: Store, text: str | bytes) -> str:
    """Import `text`, expecting the store's refusal; checks nothing was written, returns the message."""
    with pytest.raises(ConversationFileError) as caught:
        store.import_json(text)
    message = str(caught.value)
    assert message.startswith("This conversation file cannot be imported: ")
    assert "Nothing was imported" in message
    assert store.list_conversations(include_archived=True) == []
    assert integrity(store.path) == ("ok", "fts ok")
    return message


def reopened(db_path: Path, clock: Clock) -> Store:
    return open_store(db_path, clock=clock)


# ------------------------------------------------------------------------------- standing permissions


def test_approvals_and_tool_switches_are_not_imported(store: Store, db_path: Path, clock: Clock) -> None:
    settings = {"always_allowed": ["python"], "tools": {"python": True, "browser": True, "functions": []},
                "instructions": "Answer briefly.", "temperature": 0.5}
    imported = store.import_json(json.dumps(conversation_file(settings=settings)))
    assert isinstance(imported, ImportedConversation)
    assert imported.settings == {"instructions": "Answer briefly.", "temperature": 0.5}
    assert imported.reset_settings == ("always_allowed", "tools")
    (notice,) = imported.notices
    assert "python" in notice and "ask" in notice
    with reopened(db_path, clock) as again:
        assert again.get_conversation(imported.id).settings == {"instructions": "Answer briefly.",
                                                                "temperature": 0.5}


def test_an_imported_conversation_runs_nothing_without_asking() -> None:
    workspace = Workspace()
    try:
        settings = {"always_allowed": ["python", "browser"], "tools": {"python": True}}
        imported = workspace.store.import_json(json.dumps(conversation_file(settings=settings)))
        tools = workspace.tool_session(workspace.store.get_conversation(imported.id))
        assert tools.system_tools() == ()
        assert tools.approvals.always_allowed == frozenset()
    finally:
        workspace.close()


def test_re_importing_ones_own_export_says_what_was_reset(store: Store) -> None:
    original = store.create_conversation(title="Mine", settings={"tools": {"python": True},
                                                                 "always_allowed": ["python"]})
    store.add_user_turn(original.id, "hello")
    imported = store.import_json(store.export_json(original.id))
    assert imported.reset_settings == ("always_allowed", "tools")
    assert store.get_conversation(imported.id).settings == {}
    plain = store.create_conversation(title="Plain", settings={"tools": {"python": False}})
    again = store.import_json(store.export_json(plain.id))
    assert (again.notices, again.reset_settings) == ((), ())  # nothing granted, nothing to report


@pytest.mark.parametrize(("settings", "message"), [
    ({"always_allowed": 5}, "settings.always_allowed must be a list of tool names, not a number"),
    ({"always_allowed": "python"}, "settings.always_allowed must be a list of tool names, not text"),
    ({"always_allowed": [1]}, "settings.always_allowed[0] must be text, not a number"),
    ({"tools": 5}, "settings.tools must be an object, not a number"),
    ({"tools": {"python": "yes"}}, "settings.tools.python must be true or false, not text"),
    ({"tools": {"functions": "get_weather"}}, "settings.tools.functions must be a list of tool names"),
    ({"instructions": 5}, "settings.instructions must be text, not a number"),
])
def test_settings_of_the_wrong_type_are_refused(store: Store, settings: dict, message: str) -> None:
    assert message in refused(store, json.dumps(conversation_file(settings=settings)))


def test_a_stored_conversation_with_malformed_approvals_opens_with_none(caplog: pytest.LogCaptureFixture
                                                                        ) -> None:
    # Written before imports were checked (or by hand): opening it must not raise, and must grant nothing.
    workspace = Workspace()
    try:
        conversation = workspace.store.create_conversation()
        for bad in (5, "python", [1, None], {"python": True}):
            broken = workspace.store.update_conversation(conversation.id, settings={"always_allowed": bad})
            with caplog.at_level(logging.WARNING, logger="app.chat.workspace"):
                tools = workspace.tool_session(broken)
            assert tools.approvals.always_allowed == frozenset()
            assert "always_allowed" in caplog.text
            caplog.clear()
        fine = workspace.store.update_conversation(conversation.id, settings={"always_allowed": ["python"]})
        assert workspace.tool_session(fine).approvals.always_allowed == frozenset({"python"})
    finally:
        workspace.close()


# ------------------------------------------------------------------------------------ JSON's corners


def test_deep_nesting_is_refused_without_recursion_error(store: Store) -> None:
    message = refused(store, "[" * 100_000 + "]" * 100_000)
    assert f"more than {import_guard.MAX_DEPTH} levels" in message
    nested: Any = "x"
    for _ in range(200):  # deep enough to refuse, shallow enough for json.loads itself
        nested = {"a": nested}
    message = refused(store, json.dumps(conversation_file(settings={"deep": nested})))
    assert "settings.deep.a.a" in message and f"more than {import_guard.MAX_DEPTH} levels" in message


def test_lone_surrogates_become_replacement_characters(store: Store, db_path: Path, clock: Clock) -> None:
    text = json.dumps(conversation_file(title="T\ud800", settings={"k\udc00": "v\ud800"}))
    assert "\\ud800" in text  # json.dumps escapes them: the file is plain ASCII
    data = json.loads(text)
    data["messages"][0]["content"] = "a\ud800b"
    imported = store.import_json(json.dumps(data))
    assert "4 characters" in imported.notices[0] and "\ufffd" in imported.notices[0]
    with reopened(db_path, clock) as again:
        conversation = again.get_conversation(imported.id)
        assert conversation.title == "T\ufffd"
        assert conversation.settings == {"k\ufffd": "v\ufffd"}
        assert again.list_messages(imported.id)[0].content == "a\ufffdb"
        assert again.export_json(imported.id)  # and it encodes again


def test_lone_surrogates_in_a_python_string_are_replaced_too(store: Store) -> None:
    imported = store.import_json('[{"role": "user", "content": "x\ud83d"}]')
    assert store.list_messages(imported.id)[0].content == "x\ufffd"


@pytest.mark.parametrize(("path", "value", "message"), [
    (("attachments", 0, "token_count"), BIG, f"attachments[0].token_count is {BIG}"),
    (("attachments", 0, "token_count"), -1, "attachments[0].token_count is -1; it cannot be negative"),
    (("attachments", 0, "page_count"), -3, "attachments[0].page_count is -3; it cannot be negative"),
    (("attachments", 0, "page_count"), 2**64, "attachments[0].page_count is 18446744073709551616"),
    (("turns", 0, "stats", "prompt_tokens"), BIG, "turns[0].stats.prompt_tokens is 9223372036854775808"),
    (("turns", 0, "stats", "generated_tokens"), -5, "turns[0].stats.generated_tokens is -5; it cannot be"),
    (("turns", 0, "stats", "tokens_per_second"), -1.5, "turns[0].stats.tokens_per_second is -1.5"),
    (("messages", 1, "ossian", "tool_call", "duration_s"), -2, "tool_call.duration_s is -2; it cannot be"),
    (("messages", 1, "ossian", "turn"), BIG, f"messages[1].ossian.turn is {BIG}"),
    (("settings", "seed"), -BIG - 1, f"settings.seed is {-BIG - 1}"),
])
def test_numbers_out_of_range_are_refused(store: Store, path: tuple, value: float, message: str) -> None:
    data = conversation_file()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert message in refused(store, json.dumps(data))


def test_a_number_with_thousands_of_digits_is_refused(store: Store) -> None:
    text = json.dumps(conversation_file()).replace('"token_count": 1', '"token_count": ' + "9" * 5000)
    message = refused(store, text)
    assert "attachments[0].token_count is a number with 5,000 digits" in message


@pytest.mark.parametrize(("literal", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"),
                                                ("-Infinity", "-Infinity"), ("1e999", "Infinity")])
def test_nan_and_infinity_are_refused_as_not_finite(store: Store, literal: str, shown: str) -> None:
    text = json.dumps(conversation_file()).replace('"duration_s": 0.5', f'"duration_s": {literal}')
    message = refused(store, text)
    assert f"messages[1].ossian.tool_call.duration_s must be a finite number, not {shown}" in message
    text = json.dumps(conversation_file(settings={"temperature": 0})).replace('"temperature": 0',
                                                                           f'"temperature": {literal}')
    assert "settings.temperature must be a finite number" in refused(store, text)


@pytest.mark.parametrize(("value", "message"), [
    ("0000-01-01T00:00:00Z", "is '0000-01-01T00:00:00Z', not an ISO 8601 time"),
    ("9999-99-99", "is '9999-99-99', not an ISO 8601 time"),
    ("9999-12-31T23:59:59-23:59", "outside the years 1970 to 2999"),
    ("0001-01-01T00:00:00+01:00", "outside the years 1970 to 2999"),
    ("1969-12-31T23:59:59Z", "outside the years 1970 to 2999"),
    ("3000-01-01T00:00:00Z", "outside the years 1970 to 2999"),
    (10**20, f"is {10**20}; whole numbers in a conversation file must be from"),
    (10**10, "must be an ISO 8601 time like 2025-08-05T14:30:00Z, not a number"),
    (1.5e9, "must be an ISO 8601 time like 2025-08-05T14:30:00Z, not a number"),
])
def test_extreme_dates_are_refused(store: Store, value: Any, message: str) -> None:
    data = conversation_file()
    data["messages"][3]["ossian"]["created_at"] = value
    text = refused(store, json.dumps(data))
    assert "messages[3].ossian.created_at " in text and message in text
    text = refused(store, json.dumps(conversation_file(created_at=value)))
    assert "imported: created_at " in text and message in text


def test_dates_at_the_edges_of_the_range_import(store: Store) -> None:
    data = conversation_file(created_at="1970-01-01T00:00:00Z", updated_at="2999-12-31T23:59:59.999Z")
    imported = store.import_json(json.dumps(data))
    assert (imported.created_at.year, imported.updated_at.year) == (1970, 2999)


# ------------------------------------------------------------------------------------------ sizes


def test_a_file_over_the_size_limit_is_refused_before_parsing(store: Store,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(conversation_file())
    monkeypatch.setattr(import_guard, "MAX_FILE_BYTES", 100)
    message = refused(store, text.encode())
    assert f"it is {len(text.encode()):,} B; Ossian imports files of up to 100 B" in message
    assert "split it into smaller files" in message
    assert "up to 100 B" in refused(store, "[" * 101)  # too large is said before anything else


def test_large_sizes_read_in_mib(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_guard, "MAX_FILE_BYTES", 2 * 1024 * 1024)
    message = refused(store, b" " * (3 * 1024 * 1024))
    assert "it is 3 MiB; Ossian imports files of up to 2 MiB" in message


@pytest.mark.parametrize(("limit", "field", "message"), [
    ("MAX_MESSAGES", "messages", "it has 4 messages; Ossian imports at most 3 in one conversation"),
    ("MAX_TURNS", "turns", "it has 4 turns; Ossian imports at most 3 in one conversation"),
    ("MAX_ATTACHMENTS", "attachments", "it has 4 attachments; Ossian imports at most 3 in one conversation"),
])
def test_too_many_items_are_refused_with_the_numbers(store: Store, monkeypatch: pytest.MonkeyPatch,
                                                      limit: str, field: str, message: str) -> None:
    monkeypatch.setattr(import_guard, limit, 3)
    data = conversation_file()
    data[field] = (data[field] * 4)[:4]
    assert message in refused(store, json.dumps(data))


def test_too_long_texts_are_refused_with_the_numbers(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_guard, "MAX_TEXT_CHARS", 100)
    data = conversation_file()
    data["messages"][2]["content"] = "x" * 101
    assert ("messages[2].content is 101 characters long; Ossian imports at most 100 characters in one "
            "text") in refused(store, json.dumps(data))
    parts = [{"type": "text", "text": "x" * 60}, {"type": "text", "text": "y" * 60}]
    data["messages"][2]["content"] = parts
    assert "messages[2].content is 120 characters long" in refused(store, json.dumps(data))
    monkeypatch.undo()
    data = conversation_file()
    data["messages"][2]["name"] = "n" * (import_guard.MAX_NAME_CHARS + 1)
    assert (f"messages[2].name is {import_guard.MAX_NAME_CHARS + 1:,} characters long; Ossian imports at "
            f"most {import_guard.MAX_NAME_CHARS:,}") in refused(store, json.dumps(data))


def test_oversized_settings_are_refused(store: Store) -> None:
    settings = {"instructions": "x" * (import_guard.MAX_SETTINGS_CHARS + 1)}
    message = refused(store, json.dumps(conversation_file(settings=settings)))
    size = len(json.dumps(settings, ensure_ascii=False))
    assert (f"settings are {size:,} characters long as JSON; Ossian imports at most "
            f"{import_guard.MAX_SETTINGS_CHARS:,}") in message


# -------------------------------------------------------------------- the store's own API, too


def test_the_api_refuses_text_sqlite_cannot_encode(store: Store) -> None:
    conversation = store.create_conversation()
    with pytest.raises(InvalidInput, match="settings"):
        store.update_conversation(conversation.id, settings={"k": "\ud800"})
    with pytest.raises(InvalidInput, match="content"):
        store.append_message(conversation.id, NewMessage("user", "a\udfffb"))
    with pytest.raises(InvalidInput, match="text"):
        store.add_user_turn(conversation.id, "doc", [NewAttachment("a.txt", "text/plain", SHA, "\ud800", 1)])
    assert store.list_messages(conversation.id) == []
