"""app/harmony against OpenAI's own openai-harmony 0.0.8, the reference, on random conversations.

The reference runs offline on the real o200k_harmony vocabulary (`fixtures.o200k`). Render: a random
conversation (system and developer content, function tools with JSON schemas, users, reasoning,
preambles, tool calls and results, answers) rendered by both must give the same text, and the app's
segments must tokenize to the reference's very ids (text runs encoded as plain text, specials by id).
Parse: random well-formed completions rendered by the reference are parsed back by both into the same
messages. Earlier reasoning is never dropped here (`auto_drop_analysis=False` for both): where the app
drops it, it follows SPEC section 7 rather than the library, which tests/harmony/test_render*.py cover.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from openai_harmony import Message as ReferenceMessage
from openai_harmony import Role

from app.harmony import (
    ASSISTANT,
    SYSTEM,
    USER,
    Message,
    StreamParser,
    SystemContent,
    messages_to_json,
    render_conversation,
    segments_to_text,
)
from fixtures.o200k import ranks, reference_encoding
from tests.harmony.reference import (
    ORACLE_SETTINGS,
    assistant_turn,
    conversations,
    encode_segments,
    reference_messages,
    reference_render,
)


@ORACLE_SETTINGS
@given(conversations(), st.sampled_from([ASSISTANT, None]))
def test_a_random_conversation_renders_as_the_reference_renders_it(messages: list[Message],
                                                                   next_turn_role: str | None) -> None:
    expected = reference_render(messages, next_turn_role)
    segments = render_conversation(messages, next_turn_role, auto_drop_analysis=False)
    assert segments_to_text(segments) == reference_encoding().decode_utf8(expected)
    assert encode_segments(segments) == expected


def test_the_oracle_sees_a_difference() -> None:
    """The comparison above can fail: one changed word in a message changes the reference's ids."""
    messages = [Message(SYSTEM, SystemContent()), Message(USER, "Hello world")]
    segments = render_conversation(messages, ASSISTANT, auto_drop_analysis=False)
    changed = [Message(SYSTEM, SystemContent()), Message(USER, "Hello world!")]
    assert encode_segments(segments) == reference_render(messages, ASSISTANT)
    assert encode_segments(segments) != reference_render(changed, ASSISTANT)


@st.composite
def completions(draw: st.DrawFn) -> list[Message]:
    """What a model writes after `<|start|>assistant`: one turn, ending in a tool call or an answer."""
    turn = draw(assistant_turn(("lookup", "get_time")))
    if draw(st.booleans()):  # stop at a tool call: the turn's last message is the call
        calls = [i for i, message in enumerate(turn) if message.recipient]
        if calls:
            turn = turn[:calls[0] + 1]
    return [message for message in turn if message.role == ASSISTANT]


def completion_ids(messages: list[Message]) -> list[int]:
    """The reference's rendering of the messages as generated: the first `<|start|>assistant` is the
    prompt's, and a final answer ends in `<|return|>` as sampled (the reference renders `<|end|>`)."""
    encoding = reference_encoding()
    ids: list[int] = []
    for message in reference_messages(messages):
        ids += encoding.render(message)
    start = encoding.encode("<|start|>assistant", allowed_special="all")
    assert ids[:len(start)] == start
    ids = ids[len(start):]
    end, done = (encoding.encode(token, allowed_special="all")[0] for token in ("<|end|>", "<|return|>"))
    if ids[-1] == end:
        ids[-1] = done
    return ids


def app_parse(ids: list[int]) -> list[Message]:
    encoding = reference_encoding()
    special_ids = {encoding.decode_utf8([token]): token
                   for token in set(ids) if encoding.is_special_token(token)}
    parser = StreamParser({**_required_specials(), **special_ids})
    pieces = _pieces()
    parser.feed_all((token, pieces.get(token) or encoding.decode_utf8([token]).encode()) for token in ids)
    return parser.messages


@functools.cache
def _pieces() -> dict[int, bytes]:
    """Each ordinary token's bytes, as an engine hands them to the parser (a character may be split)."""
    return {token: data for data, token in ranks().items()}


def _reference_json(message: ReferenceMessage) -> dict[str, Any]:
    """A parsed reference message in the app's JSON shape (text content as one string, no nulls)."""
    document: dict[str, Any] = {"role": message.author.role.value}
    if message.author.name is not None:
        document["name"] = message.author.name
    document["content"] = "".join(part.text for part in message.content)
    for key in ("channel", "recipient", "content_type"):
        if getattr(message, key) is not None:
            document[key] = getattr(message, key)
    return document


def _required_specials() -> dict[str, int]:
    encoding = reference_encoding()
    names = ("<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>")
    return {name: encoding.encode(name, allowed_special="all")[0] for name in names}


@ORACLE_SETTINGS
@given(completions())
def test_a_random_completion_parses_as_the_reference_parses_it(messages: list[Message]) -> None:
    ids = completion_ids(messages)
    expected = [_reference_json(m) for m in reference_encoding().parse_messages_from_completion_tokens(
        ids, Role.ASSISTANT)]
    parsed = messages_to_json(app_parse(ids))
    assert parsed == expected
    assert parsed == messages_to_json(messages)  # and both give back what was rendered
