"""Non-strict parsing of the malformed output gpt-oss really produces (SPEC sections 9 and 11).

Each case is recovered in non-strict mode and rejected in strict mode.
"""

from __future__ import annotations

import pytest

from app.harmony import (
    HarmonyError,
    HarmonyParseError,
    Message,
    MessageEnded,
    MessageStarted,
    StreamParser,
    TextDelta,
    TextStreamParser,
    parse_text,
)
from tests.harmony.golden import o200k_special_ids

A = "assistant"


def parsed(text: str, role: str | None = A) -> list[Message]:
    messages = parse_text(text, role)
    with pytest.raises(HarmonyParseError):
        parse_text(text, role, strict=True)
    return messages


def parsed_leniently(text: str, role: str | None = A) -> list[Message]:
    """For output both modes accept: non-strict and strict agree."""
    messages = parse_text(text, role)
    assert parse_text(text, role, strict=True) == messages
    return messages


# 1. The recipient comes only from `to=`; a bare word is a content type.

def test_final_json_is_a_content_type_not_a_recipient() -> None:
    assert parsed_leniently('<|channel|>final json<|message|>{"a": 1}<|return|>') == [
        Message(A, '{"a": 1}', channel="final", content_type="json")]
    assert parsed_leniently("<|channel|>final <|constrain|>json<|message|>{}<|return|>") == [
        Message(A, "{}", channel="final", content_type="<|constrain|>json")]
    assert parsed_leniently("<|channel|>commentary code<|message|>x<|end|>") == [
        Message(A, "x", channel="commentary", content_type="code")]


def test_recipient_after_the_channel_with_or_without_constrain() -> None:
    expected = Message(A, "{}", channel="commentary", recipient="functions.f",
                       content_type="<|constrain|>json")
    assert parsed_leniently("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>") \
        == [expected]
    assert parsed_leniently("<|channel|>commentary to=functions.f<|constrain|>json<|message|>{}<|call|>") \
        == [expected]
    assert parsed_leniently(" to=functions.f<|channel|>commentary <|constrain|>json<|message|>{}<|call|>") \
        == [expected]


def test_tool_call_without_a_constrain_clause() -> None:
    assert parsed_leniently("<|channel|>commentary to=functions.get_weather<|message|>{}<|call|>") == [
        Message(A, "{}", channel="commentary", recipient="functions.get_weather")]


# 2. Names are cut at the first `<|`.

def test_names_are_cut_at_leaked_markers() -> None:
    text = ("<|start|>assistant<|junk|> to=functions.manage_cart<|x|><|channel|>commentary <|constrain|>json"
            "<|junk|><|message|>{}<|call|>")
    assert parsed(text, None) == [Message(A, "{}", channel="commentary", recipient="functions.manage_cart",
                                          content_type="<|constrain|>json")]


# 3. Several channels: the last known one; `?` stripped; unknown means analysis.

@pytest.mark.parametrize(("header", "channel"), [
    ("<|channel|>bash<|channel|>commentary", "commentary"),
    ("<|channel|>final<|channel|>weird", "final"),
    ("<|channel|>commentary?", "commentary"),
    ("<|channel|>??", "analysis"),
    ("<|channel|><|channel|>", "analysis"),
    ("<|channel|>The user wants a poem", "analysis"),
])
def test_malformed_channels(header: str, channel: str) -> None:
    (message,) = parse_text(f"{header}<|message|>body<|end|>", A)
    assert message.channel == channel and message.content == "body"


def test_unknown_channel_words_are_not_mistaken_for_a_content_type() -> None:
    (message,) = parse_text("<|channel|>The user wants a poem<|message|>body<|end|>", A)
    assert message.content_type is None and message.recipient is None


def test_doubled_channel_around_a_recipient() -> None:
    text = "<|start|>assistant<|channel|>bash<|channel|>commentary to=functions.bash<|message|>ls<|call|>"
    assert parsed(text, None) == [Message(A, "ls", channel="commentary", recipient="functions.bash")]


# 4. A missing `<|start|>`, and `<|start|>` or `<|channel|>` where a message is still open.

def test_header_without_start_after_a_message() -> None:
    text = "<|channel|>analysis<|message|>think<|end|><|channel|>final<|message|>answer<|return|>"
    assert parsed(text) == [Message(A, "think", channel="analysis"), Message(A, "answer", channel="final")]


def test_message_token_without_start() -> None:
    assert parsed("<|message|>hello<|end|>", None) == [Message(A, "hello")]


def test_stray_text_between_messages_is_kept_as_an_assistant_message() -> None:
    text = "<|channel|>final<|message|>a<|end|>stray<|start|>assistant<|channel|>final<|message|>b<|return|>"
    assert parsed(text) == [Message(A, "a", channel="final"), Message(A, "stray"),
                            Message(A, "b", channel="final")]


def test_start_inside_content_closes_the_message() -> None:
    text = "<|channel|>analysis<|message|>think<|start|>assistant<|channel|>final<|message|>answer<|return|>"
    parser = TextStreamParser(A)
    events = parser.feed(text) + parser.finish()
    ends = [e for e in events if isinstance(e, MessageEnded)]
    assert [(e.message.content, e.terminator) for e in ends] == [
        ("think", "<|start|>"), ("answer", "<|return|>")]
    with pytest.raises(HarmonyParseError, match="never ended"):
        parse_text(text, A, strict=True)


def test_start_inside_a_header_salvages_it() -> None:
    text = ("<|start|>assistant<|channel|>analysis half a thought"
            "<|start|>assistant<|channel|>final<|message|>ok<|end|>")
    assert parsed(text, None) == [
        Message(A, "half a thought", channel="analysis"), Message(A, "ok", channel="final")]


def test_channel_inside_final_content_starts_a_new_message() -> None:
    # TensorRT-LLM #9256: final content `<|channel|>commentary<|message|>{...}<|end|>`.
    text = "<|channel|>final<|message|>Sure.<|channel|>commentary to=functions.f<|message|>{}<|call|>"
    assert parsed(text) == [Message(A, "Sure.", channel="final"),
                            Message(A, "{}", channel="commentary", recipient="functions.f")]


@pytest.mark.parametrize("stray", ["<|end|>", "<|return|>", "<|call|>", "<|startoftext|>", "<|constrain|>"])
def test_stray_specials_between_messages_are_dropped(stray: str) -> None:
    text = f"<|channel|>final<|message|>a<|end|>{stray}<|start|>assistant<|channel|>final<|message|>b<|end|>"
    messages = parse_text(text, A)
    assert [m.content for m in messages] == ["a", "b"]
    with pytest.raises(HarmonyParseError):
        parse_text(text, A, strict=True)


def test_an_end_token_before_any_header_is_dropped() -> None:
    assert parsed("<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>") == [
        Message(A, "ok", channel="final")]


def test_specials_inside_content_are_dropped() -> None:
    assert parsed("<|channel|>final<|message|>a<|message|>b<|constrain|>c<|startoftext|>d<|end|>") == [
        Message(A, "abcd", channel="final")]


# Headers that the library cannot read at all.

def test_channel_name_where_the_role_goes() -> None:
    assert parsed("<|start|>final<|message|>Paris.<|return|>", None) == [
        Message(A, "Paris.", channel="final")]


def test_missing_role_word() -> None:
    assert parsed("<|start|><|channel|>analysis<|message|>x<|end|>", None) == [
        Message(A, "x", channel="analysis")]
    assert parsed("<|start|>to=functions.f<|channel|>commentary<|message|>{}<|call|>", None) == [
        Message(A, "{}", channel="commentary", recipient="functions.f")]


def test_a_lone_tool_name_heads_a_tool_message() -> None:
    text = '<|start|>functions.lookup_weather<|message|>{"temperature": 20}<|end|>'
    assert parsed(text, None) == [Message("tool", '{"temperature": 20}', name="functions.lookup_weather")]


def test_a_header_that_never_reaches_message_keeps_its_recipient() -> None:
    text = '<|start|>assistant to=functions.get_weather<|channel|>commentary {"city": "Oslo"}<|call|>'
    assert parsed(text, None) == [
        Message(A, '{"city": "Oslo"}', channel="commentary", recipient="functions.get_weather")]


def test_a_header_cut_off_by_the_end_of_the_stream() -> None:
    assert parsed("<|channel|>analysis Let me think") == [Message(A, "Let me think", channel="analysis")]
    with pytest.raises(HarmonyParseError, match="Unexpected EOS"):
        parse_text("<|channel|>analysis", A, strict=True)


def test_garbled_header_words_are_dropped_from_the_fields_but_kept_in_the_event() -> None:
    parser = TextStreamParser(A)
    events = parser.feed("<|channel|>final json extra<|message|>x")
    (started,) = [e for e in events if isinstance(e, MessageStarted)]
    assert (started.channel, started.content_type) == ("final", None)
    assert started.header_text == "<|channel|>final json extra"
    with pytest.raises(HarmonyParseError, match="unexpected tokens remaining"):
        parse_text("<|channel|>final json extra<|message|>x", A, strict=True)


# Terminators and events.

def test_terminators_are_reported() -> None:
    parser = TextStreamParser(A)
    events = parser.feed("<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>commentary "
                         "to=python<|message|>print(1)<|call|><|start|>assistant<|channel|>final<|message|>"
                         "b<|return|><|start|>assistant<|channel|>final<|message|>c<|endoftext|>"
                         "<|start|>assistant<|channel|>final<|message|>d") + parser.finish()
    assert [e.terminator for e in events if isinstance(e, MessageEnded)] == [
        "<|end|>", "<|call|>", "<|return|>", "<|endoftext|>", None]


def test_events_describe_each_message_once() -> None:
    parser = TextStreamParser(A)
    events = parser.feed("<|channel|>final<|message|>Hel") + parser.feed("lo<|return|>") + parser.finish()
    assert events == [
        MessageStarted(0, A, None, "final", None, None, "<|channel|>final"),
        TextDelta(0, "Hel"), TextDelta(0, "lo"),
        MessageEnded(0, Message(A, "Hello", channel="final"), "<|return|>"),
    ]


# Token ids.

def test_reserved_and_unknown_special_ids_are_dropped() -> None:
    ids = {**o200k_special_ids(), "<|reserved_200014|>": 200014}
    parser = StreamParser(ids)
    pairs = [(ids["<|channel|>"], b""), (1, b"final"), (ids["<|message|>"], b""), (2, b"a"),
             (200014, b"<|reserved_200014|>"), (3, b"b"), (ids["<|return|>"], b"")]
    parser.feed_all(pairs)
    assert parser.messages == [Message(A, "ab", channel="final")]
    assert parse_text("<|channel|>final<|message|>a<|reserved_201088|>b<|return|>") == [
        Message(A, "ab", channel="final")]


def test_a_vocabulary_without_harmony_specials_is_refused() -> None:
    ids = dict(o200k_special_ids())
    del ids["<|message|>"]
    with pytest.raises(HarmonyError, match=r"no <\|message\|> token"):
        StreamParser(ids)
    with pytest.raises(HarmonyError, match="same id"):
        StreamParser({**o200k_special_ids(), "<|reserved_0|>": 200006})
    with pytest.raises(HarmonyError, match="unknown role"):
        StreamParser(o200k_special_ids(), role="bot")
