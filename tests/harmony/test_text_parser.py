"""The text-level front end: literal specials, chunks that split them, reserved tokens."""

from __future__ import annotations

import itertools

from app.harmony import Message, Special, Text, TextStreamParser, parse_text, split_specials

TRANSCRIPT = ("<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
              'to=functions.get_weather <|constrain|>json<|message|>{"city": "Bergen"}<|call|>')
EXPECTED = [
    Message("assistant", "Need weather.", channel="analysis"),
    Message("assistant", '{"city": "Bergen"}', channel="commentary", recipient="functions.get_weather",
            content_type="<|constrain|>json"),
]


def chunked(text: str, cuts: list[int], role: str | None = "assistant") -> list[Message]:
    parser = TextStreamParser(role)
    points = [0, *cuts, len(text)]
    for start, end in itertools.pairwise(points):
        parser.feed(text[start:end])
    parser.finish()
    return parser.messages


def test_whole_text() -> None:
    assert parse_text(TRANSCRIPT) == EXPECTED


def test_every_single_split_point() -> None:
    for cut in range(len(TRANSCRIPT) + 1):
        assert chunked(TRANSCRIPT, [cut]) == EXPECTED, cut


def test_one_character_at_a_time() -> None:
    assert chunked(TRANSCRIPT, list(range(1, len(TRANSCRIPT)))) == EXPECTED


def test_a_split_special_is_held_back_until_it_is_complete() -> None:
    parser = TextStreamParser()
    parser.feed("<|channel|>final<|message|>Hi <|en")
    assert parser.current_content == "Hi "
    parser.feed("d|>")
    assert parser.messages == [Message("assistant", "Hi ", channel="final")]


def test_text_that_only_looks_like_a_special_is_content() -> None:
    text = "<|channel|>final<|message|>a <|b|> c <| <|endx|> <|reserved_x|><"
    content = "a <|b|> c <| <|endx|> <|reserved_x|><"
    assert parse_text(text) == [Message("assistant", content, channel="final")]
    assert chunked(text, list(range(1, len(text)))) == parse_text(text)


def test_reserved_tokens_are_dropped_even_when_split() -> None:
    text = "<|channel|>final<|message|>a<|reserved_200014|>b<|return|>"
    assert chunked(text, [30, 33, 40]) == [Message("assistant", "ab", channel="final")]


def test_split_specials() -> None:
    assert split_specials("a<|start|>b<|reserved_7|>c<|end|>") == [
        Text("a"), Special("<|start|>"), Text("b"), Text("c"), Special("<|end|>")]
    assert split_specials("") == []
