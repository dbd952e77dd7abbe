import pytest

from app.store import InvalidInput, NewMessage, Store
from app.store.search import Query
from tests.store.conftest import Clock


def marked(highlighted) -> str:
    """The highlighted text with [brackets] around each span, to compare in one string."""
    text, out, last = highlighted.text, [], 0
    for start, end in highlighted.spans:
        out += [text[last:start], "[", text[start:end], "]"]
        last = end
    return "".join([*out, text[last:]])


@pytest.fixture
def library(store: Store, clock: Clock) -> dict[str, int]:
    """Three conversations at distinct times; returns their ids by name."""
    ids = {}
    for name, question, answer in (
        ("paris", "Plan a weekend in Paris", "Visit the Louvre and the Musée d'Orsay."),
        ("pasta", "How long do I cook pasta?", "Cook the pasta for nine minutes, then taste it."),
        ("python", "Explain Python generators", "A generator yields values lazily; cooking not needed."),
    ):
        conversation = store.create_conversation()
        turn = store.add_user_turn(conversation.id, question)
        store.append_message(conversation.id, NewMessage("assistant", f"Let me think about {name}.",
                                                         channel="analysis"), turn_id=turn.turn.id)
        store.append_message(conversation.id, NewMessage("assistant", answer, channel="final"),
                             turn_id=turn.turn.id)
        ids[name] = conversation.id
        clock.advance(60)
    return ids


def test_finds_by_message_content_with_a_snippet(store: Store, library: dict[str, int]) -> None:
    hits = store.search("minutes")
    assert [hit.conversation_id for hit in hits] == [library["pasta"]]
    assert marked(hits[0].snippet) == "Cook the pasta for nine [minutes], then taste it."
    assert hits[0].message_id == store.list_messages(library["pasta"])[2].id


def test_all_words_must_match_and_the_last_is_a_prefix(store: Store, library: dict[str, int]) -> None:
    assert [hit.conversation_id for hit in store.search("cook pas")] == [library["pasta"]]
    assert [hit.conversation_id for hit in store.search("cook")] == [library["python"], library["pasta"]]
    assert store.search("cook pas ") == []  # a finished word is matched whole
    assert marked(store.search("cook pas")[0].snippet) == (
        "[Cook] the [pasta] for nine minutes, then taste it.")


def test_case_and_diacritics_are_ignored(store: Store, library: dict[str, int]) -> None:
    hits = store.search("MUSEE")
    assert [hit.conversation_id for hit in hits] == [library["paris"]]
    assert marked(hits[0].snippet) == "Visit the Louvre and the [Musée] d'Orsay."


def test_titles_match_and_are_highlighted(store: Store, library: dict[str, int]) -> None:
    store.rename_conversation(library["paris"], "Weekend trip")
    hits = store.search("trip")
    assert [(hit.conversation_id, marked(hit.title), hit.snippet) for hit in hits] == [
        (library["paris"], "Weekend [trip]", None)]
    both = store.search("weekend")  # in the new title and in the question
    assert marked(both[0].title) == "[Weekend] trip"
    assert marked(both[0].snippet) == "Plan a [weekend] in Paris"


def test_reasoning_and_tool_traffic_are_not_searched(store: Store, library: dict[str, int]) -> None:
    assert store.search("think") == []  # only in the analysis messages
    conversation = store.create_conversation()
    store.append_message(conversation.id, NewMessage("assistant", '{"query": "zebra"}', channel="commentary",
                                                     recipient="browser.search"))
    store.append_message(conversation.id, NewMessage("tool", "zebra facts", name="browser.search",
                                                     channel="commentary", recipient="assistant"))
    assert store.search("zebra") == []
    store.append_message(conversation.id, NewMessage("assistant", "A zebra preamble", channel="commentary"))
    assert [hit.conversation_id for hit in store.search("zebra")] == [conversation.id]


def test_a_streaming_answer_is_found_once_it_ends(store: Store) -> None:
    conversation = store.create_conversation()
    reply = store.append_message(conversation.id, NewMessage("assistant", status="streaming"))
    store.update_message_content(reply.id, "The answer is quasar")
    assert store.search("quasar") == []
    store.update_message_content(reply.id, "The answer is quasar.", "complete")
    assert [hit.message_id for hit in store.search("quasar")] == [reply.id]
    store.update_message_content(reply.id, "Rewritten entirely.", "complete")
    assert store.search("quasar") == []
    assert [hit.message_id for hit in store.search("rewritten")] == [reply.id]


def test_newest_first_latest_message_archived_optional_and_limited(
        store: Store, library: dict[str, int], clock: Clock) -> None:
    store.add_user_turn(library["paris"], "Is the Louvre open on Tuesday?")  # Paris is now the newest
    hits = store.search("louvre")
    assert hits[0].conversation_id == library["paris"]
    assert marked(hits[0].snippet) == "Is the [Louvre] open on Tuesday?"  # its latest matching message
    store.update_conversation(library["pasta"], archived=True)
    assert library["pasta"] in [hit.conversation_id for hit in store.search("cook")]
    unarchived = store.search("cook", include_archived=False)
    assert library["pasta"] not in [hit.conversation_id for hit in unarchived]
    assert [hit.conversation_id for hit in store.search("cook", limit=1)] == [library["python"]]
    with pytest.raises(InvalidInput, match="limit must be at least 1"):
        store.search("cook", limit=0)


@pytest.mark.parametrize("query", [
    '"', '""', "*", "AND", "OR NOT", "NEAR(a b)", "-pasta", "title:paris", "pasta)", "^cook", "a:b:c", "{x}",
    "   ", "", "!!!", "cook' OR '1'='1",
])
def test_fts_syntax_in_the_query_is_just_text(store: Store, library: dict[str, int], query: str) -> None:
    hits = store.search(query)  # must never raise
    for hit in hits:
        assert hit.conversation_id in library.values()


def test_query_words_become_quoted_phrases() -> None:
    assert Query.parse('say "hi" ').fts() == '"say" """hi"""'
    assert Query.parse("cook pas").fts() == '"cook" "pas"*'
    assert Query.parse(" !! ").fts() is None


def test_long_messages_give_a_short_snippet_around_the_match(store: Store) -> None:
    conversation = store.create_conversation()
    text = "filler " * 200 + "the needle is here " + "more " * 200
    store.append_message(conversation.id, NewMessage("user", text))
    snippet = store.search("needle")[0].snippet
    assert snippet.text.startswith("…") and snippet.text.endswith("…")
    assert len(snippet.text) <= 130
    assert "[needle]" in marked(snippet)


@pytest.mark.parametrize("query", ["-pasta", '"pasta"', "pasta)", "(pasta", "pasta*"])
def test_punctuation_around_a_word_still_finds_it(store: Store, library: dict[str, int], query: str) -> None:
    assert [hit.conversation_id for hit in store.search(query)] == [library["pasta"]]
