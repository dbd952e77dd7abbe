"""Properties of the parser over any interleaving of specials and text (hypothesis).

Non-strict parsing never raises; feeding token by token or in any chunking gives the same messages as
feeding each piece whole; no text is lost (every text piece ends up in some message's content or in
its header); the events add up to the messages; and rendering then parsing gives the messages back.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.harmony import (
    CHANNELS,
    SPECIAL_TOKENS,
    Message,
    MessageEnded,
    MessageStarted,
    ParseEvent,
    StreamParser,
    TextDelta,
    TextStreamParser,
    parse_text,
    render_conversation,
    segments_to_text,
)
from tests.harmony.golden import o200k_special_ids

RESERVED = "<|reserved_200014|>"
IDS = {**o200k_special_ids(), RESERVED: 200014}
TEXT_ID = 42
PROPERTY_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

header_words = st.sampled_from([
    "assistant", "user", "tool", "final", "analysis", "commentary", "commentary?", "to=functions.f",
    "to=python", "json", "code", "functions.lookup", " ", "\n", "<|", "|>", "?", "assistant:bob"])
free_text = st.text(alphabet="ab é💖 <|>=.:?{}\"\n\t", max_size=12)
text_pieces = st.one_of(free_text, header_words, st.lists(header_words, max_size=4).map(" ".join))
specials = st.sampled_from([*SPECIAL_TOKENS, RESERVED])
items = st.lists(st.one_of(specials.map(lambda s: ("special", s)), text_pieces.map(lambda t: ("text", t))),
                 max_size=25)
roles = st.sampled_from(["assistant", None])


def feed_tokens(parser: StreamParser, stream: list[tuple[str, str]], splits: list[int] | None = None) -> list:
    """Feed `stream`; text pieces are cut into several tokens at byte offsets taken from `splits`."""
    events: list[ParseEvent] = []
    cuts = iter(splits or [])
    for kind, value in stream:
        if kind == "special":
            events += parser.feed(IDS[value], value.encode())
            continue
        data = value.encode()
        points = sorted({min(next(cuts, 0), len(data)) for _ in range(3)} | {0, len(data)})
        for start, end in itertools.pairwise(points):
            events += parser.feed(TEXT_ID, data[start:end])
    return events + parser.finish()


def as_text(stream: list[tuple[str, str]]) -> str:
    return "".join(value for _, value in stream)


@PROPERTY_SETTINGS
@given(items, roles)
def test_non_strict_never_raises(stream: list[tuple[str, str]], role: str | None) -> None:
    feed_tokens(StreamParser(IDS, role), stream)
    parse_text(as_text(stream), role)


@PROPERTY_SETTINGS
@given(items, roles, st.lists(st.integers(0, 40), max_size=80))
def test_any_token_split_gives_the_same_messages(stream, role, splits) -> None:
    whole = StreamParser(IDS, role)
    feed_tokens(whole, stream)
    split = StreamParser(IDS, role)
    feed_tokens(split, stream, splits)
    assert split.messages == whole.messages


@PROPERTY_SETTINGS
@given(items, roles, st.lists(st.integers(0, 400), max_size=12))
def test_any_text_chunking_gives_the_same_messages(stream, role, cuts) -> None:
    text = as_text(stream)
    points = sorted({0, len(text), *(min(c, len(text)) for c in cuts)})
    chunked = TextStreamParser(role)
    for start, end in itertools.pairwise(points):
        chunked.feed(text[start:end])
    chunked.finish()
    assert chunked.messages == parse_text(text, role)


@PROPERTY_SETTINGS
@given(items, roles)
def test_no_text_is_lost(stream: list[tuple[str, str]], role: str | None) -> None:
    events = feed_tokens(StreamParser(IDS, role), stream)
    places = [e.header_text for e in events if isinstance(e, MessageStarted)] + [
        e.message.content for e in events if isinstance(e, MessageEnded)]
    for kind, value in stream:
        if kind == "text" and value:
            assert any(value in place for place in places), value


@PROPERTY_SETTINGS
@given(items, roles)
def test_events_add_up_to_the_messages(stream: list[tuple[str, str]], role: str | None) -> None:
    parser = StreamParser(IDS, role)
    events = feed_tokens(parser, stream)
    rebuilt: list[Message] = []
    open_message: MessageStarted | None = None
    parts: list[str] = []
    for event in events:
        if isinstance(event, MessageStarted):
            assert open_message is None and event.index == len(rebuilt)
            open_message, parts = event, []
        elif isinstance(event, TextDelta):
            assert open_message is not None and event.index == open_message.index
            parts.append(event.text)
        else:
            assert open_message is not None and event.index == open_message.index
            rebuilt.append(Message(open_message.role, "".join(parts), name=open_message.name,
                                   channel=open_message.channel, recipient=open_message.recipient,
                                   content_type=open_message.content_type))
            assert event.message == rebuilt[-1]
            open_message = None
    assert open_message is None and rebuilt == parser.messages


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(specials.map(lambda s: ("special", s)),
                          free_text.filter(lambda t: "<|" not in t).map(lambda t: ("text", t))), max_size=25),
       roles)
def test_text_front_end_agrees_with_token_parsing(stream, role) -> None:
    tokens = StreamParser(IDS, role)
    feed_tokens(tokens, stream)
    assert parse_text(as_text(stream), role) == tokens.messages


content = st.text(alphabet="ab é💖 <>|{}\"\n", max_size=15).filter(lambda t: "<|" not in t)
assistant_messages = st.builds(
    lambda text, channel, recipient, content_type: Message(
        "assistant", text, channel=channel, recipient=recipient, content_type=content_type),
    content, st.sampled_from([*CHANNELS, None]), st.sampled_from([None, "functions.get_weather", "python"]),
    st.sampled_from([None, "json", "code", "<|constrain|>json"]))
other_messages = st.one_of(
    st.builds(lambda text: Message("user", text), content),
    st.builds(lambda text, name: Message("user", text, name=name), content,
              st.sampled_from(["alice", "bob"])),
    st.builds(lambda text: Message("tool", text, name="functions.get_weather", channel="commentary",
                                   recipient="assistant"), content))


@PROPERTY_SETTINGS
@given(st.lists(st.one_of(assistant_messages, other_messages), max_size=8))
def test_rendered_conversations_parse_back_strictly(messages: list[Message]) -> None:
    text = segments_to_text(render_conversation(messages, None, auto_drop_analysis=False))
    assert parse_text(text, None, strict=True) == messages
