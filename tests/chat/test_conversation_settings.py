"""A conversation's settings as a type (chat/conversation_settings.py), read from and written to a real
store: malformed values grant nothing, keys the chat does not own are kept."""

from __future__ import annotations

from app.chat.conversation_settings import ConversationSettings
from app.store import Store


def test_switches_round_trip_and_other_keys_survive(store: Store) -> None:
    conversation = store.create_conversation(title="t", settings={"temperature": 0.7})
    settings = ConversationSettings.of(conversation)
    assert not settings.tools.python and settings.always_allowed == ()
    changed = settings.with_python(True).with_always_allowed({"python"})
    stored = store.update_conversation(conversation.id, settings=changed.stored())
    again = ConversationSettings.of(stored)
    assert again.tools.python and again.always_allowed == ("python",)
    assert stored.settings["temperature"] == 0.7
    off = again.with_python(False)
    assert not ConversationSettings.of(store.update_conversation(conversation.id, settings=off.stored())
                                       ).tools.python


def test_malformed_values_grant_nothing(store: Store) -> None:
    for bad in ({"tools": ["python"], "always_allowed": 5}, {"tools": {"python": "yes"}},
                {"always_allowed": "python"}):
        conversation = store.create_conversation(title="t", settings=bad)
        settings = ConversationSettings.of(conversation)
        assert not settings.tools.python and settings.always_allowed == ()
