"""The parser against openai/harmony's parse vectors: golden files, inline cases, UTF-8 streaming cases.

Token-id golden files are fed with their real o200k_harmony ids: specials by the ids the file holds
(looked up by name in inline.json, as the engine looks them up in the loaded vocabulary), and the bytes
of the known decoded text spread over the ordinary ids between them, splitting characters on purpose.
"""

from __future__ import annotations

import pytest

from app.harmony import (
    MESSAGE_END_TOKENS,
    STOP_TOKENS,
    HarmonyParseError,
    MessageEnded,
    Special,
    StreamParser,
    TextDelta,
    messages_to_json,
    parse_text,
    split_specials,
)
from app.harmony.segments import CHANNEL, END, MESSAGE, START
from tests.harmony.golden import (
    decoded_text,
    golden_text,
    inline,
    o200k_special_ids,
    text_parse_cases,
    token_ids,
    token_parse_cases,
)

# A vocabulary with the specials somewhere else: nothing in the parser may assume the real ids.
SHIFTED_IDS = {name: 300_000 + index for index, name in enumerate(o200k_special_ids())}
ORDINARY = 50_000


def pairs_from_ids(ids: list[int], text: str, special_ids: dict[str, int]) -> list[tuple[int, bytes]]:
    """(id, piece) pairs for token `ids` whose decoded text is `text` (see the module docstring)."""
    by_id = {token_id: name for name, token_id in special_ids.items()}
    segments = split_specials(text)
    pairs: list[tuple[int, bytes]] = []
    position = 0
    while position < len(ids):
        token_id = ids[position]
        if token_id in by_id:
            assert segments.pop(0) == Special(by_id[token_id]), f"special mismatch at {position}"
            pairs.append((token_id, b""))
            position += 1
            continue
        run_end = position
        while run_end < len(ids) and ids[run_end] not in by_id:
            run_end += 1
        data = segments.pop(0).text.encode()
        count = run_end - position
        cuts = [len(data) * i // count for i in range(count + 1)]
        pairs += [(ids[position + i], data[cuts[i]:cuts[i + 1]]) for i in range(count)]
        position = run_end
    assert not segments, "the decoded text has more than the token file"
    return pairs


def stream_messages(pairs: list[tuple[int, bytes]], special_ids: dict[str, int], role: str | None,
                    strict: bool = True) -> list[dict]:
    parser = StreamParser(special_ids, role, strict=strict)
    parser.feed_all(pairs)
    return messages_to_json(parser.messages)


@pytest.mark.parametrize("case", text_parse_cases(), ids=lambda case: case["file"])
def test_text_golden_files(case: dict) -> None:
    assert messages_to_json(parse_text(golden_text(case["file"]), case["role"], strict=case["strict"])) \
        == case["expected_messages"]


@pytest.mark.parametrize("case", token_parse_cases(), ids=lambda case: case["file"])
def test_token_golden_files_with_their_real_ids(case: dict) -> None:
    ids = token_ids(case["file"])
    pairs = pairs_from_ids(ids, decoded_text(case), o200k_special_ids())
    assert stream_messages(pairs, o200k_special_ids(), case["role"]) == case["expected_messages"]


@pytest.mark.parametrize("case", token_parse_cases(), ids=lambda case: case["file"])
def test_token_golden_files_with_other_ids(case: dict) -> None:
    real = o200k_special_ids()
    remap = {real[name]: SHIFTED_IDS[name] for name in real}
    pairs = pairs_from_ids(token_ids(case["file"]), decoded_text(case), real)
    shifted = [(remap.get(token_id, token_id), piece) for token_id, piece in pairs]
    assert stream_messages(shifted, SHIFTED_IDS, case["role"]) == case["expected_messages"]
    # Nothing special about the real ids any more: read with the shifted map they are plain text.
    assert stream_messages(pairs, SHIFTED_IDS, case["role"], strict=False) != case["expected_messages"]


@pytest.mark.parametrize("vector", inline()["parse_token_vectors"], ids=lambda vector: vector["name"])
def test_inline_token_vectors(vector: dict) -> None:
    text = vector["decoded_note"].split("  (", 1)[0]
    # One note abbreviates the first message's content; the expected messages hold it in full.
    text = text.replace("...tool.", vector["expected_messages"][0]["content"])
    pairs = pairs_from_ids(vector["tokens"], text, o200k_special_ids())
    assert stream_messages(pairs, o200k_special_ids(), vector["role"]) == vector["expected_messages"]


@pytest.mark.parametrize("vector", inline()["parse_text_vectors"], ids=lambda vector: vector["test"][-60:])
def test_inline_text_vectors(vector: dict) -> None:
    if "expected_messages" in vector:
        assert messages_to_json(parse_text(vector["text"], vector["role"], strict=vector["strict"])) \
            == vector["expected_messages"]
        return
    with pytest.raises(HarmonyParseError, match="unexpected tokens remaining in message header"):
        parse_text(vector["text"], vector["role"], strict=True)
    expected = vector["non_strict_expected_messages"]
    assert messages_to_json(parse_text(vector["text"], vector["role"])) == expected


def test_constrained_output_without_recipient() -> None:
    # tests/test_harmony.py::test_streamable_parser_constrained_output_without_recipient
    text = '<|start|>assistant<|channel|>final <|constrain|>json<|message|>{"result":true}<|return|>'
    assert messages_to_json(parse_text(text, None, strict=True)) == [
        {"role": "assistant", "content": '{"result":true}', "channel": "final",
         "content_type": "<|constrain|>json"}]


# -- UTF-8 streaming (inline.json utf8_streaming_vectors) ---------------------------------------------

IDS = o200k_special_ids()
TOKEN_9552 = (9552, bytes(next(t["bytes"] for t in inline()["tokenizer"]
                               if t.get("op") == "token 9552 bytes")))


def special(name: str) -> tuple[int, bytes]:
    return IDS[name], b""


def text_token(text: str | bytes) -> tuple[int, bytes]:
    return ORDINARY, text.encode() if isinstance(text, str) else text


def assistant_prefix() -> list[tuple[int, bytes]]:
    return [special(START), text_token("assistant"), special(MESSAGE)]


def parse_pairs(*groups: list[tuple[int, bytes]]) -> list[str]:
    parser = StreamParser(IDS, None, strict=True)
    parser.feed_all(pair for group in groups for pair in group)
    return [m.content for m in parser.messages]


def test_invalid_bytes_become_replacement_characters() -> None:
    assert TOKEN_9552[1] == b" \xf0\x9f"
    prefix = assistant_prefix()
    assert parse_pairs(prefix, [TOKEN_9552, TOKEN_9552, text_token("worked"), special(END)]) \
        == [" \ufffd \ufffdworked"]
    assert parse_pairs(prefix, [TOKEN_9552, text_token("X"), text_token("Y"), special(END)]) == [" \ufffdXY"]
    assert parse_pairs(prefix, [TOKEN_9552, text_token(" interesting"), special(END)]) \
        == [" \ufffd interesting"]


def test_partial_bytes_are_flushed_at_the_end_and_never_leak_into_the_next_message() -> None:
    prefix = assistant_prefix()
    assert parse_pairs(prefix, [TOKEN_9552, text_token("Hi")]) == [" \ufffdHi"]
    first, second = [TOKEN_9552, TOKEN_9552, special(END)], [text_token("Hi"), special(END)]
    assert parse_pairs(prefix, first, prefix, second) == [" \ufffd \ufffd", "Hi"]
    assert parse_pairs(prefix, [text_token("ok"), text_token(b"\xf0\x9f"), special(END)]) == ["ok\ufffd"]
    # An id the vocabulary cannot decode arrives as bytes that are not UTF-8.
    invalid = [special(START), text_token("assistant"), special(CHANNEL), text_token("analysis"),
               special(MESSAGE), text_token("Practice invalid token handling."), text_token(b"\xff")]
    assert parse_pairs(invalid) == ["Practice invalid token handling.\ufffd"]


def test_a_character_split_over_tokens_waits_for_its_last_byte() -> None:
    parser = StreamParser(IDS, None)
    for pair in assistant_prefix():
        parser.feed(*pair)
    heart = "💖".encode()
    assert parser.feed(ORDINARY, heart[:2]) == []
    assert parser.current_content == ""
    assert parser.feed(ORDINARY, heart[2:]) == [TextDelta(0, "💖")]
    (ended,) = parser.feed(*special(END))
    assert isinstance(ended, MessageEnded) and ended.message.content == "💖"


def test_deltas_add_up_to_the_content_without_an_end_token() -> None:
    parser = StreamParser(IDS, None)
    deltas = []
    for pair in [*assistant_prefix(), TOKEN_9552, text_token(" interesting"), text_token(" story")]:
        deltas += [event.text for event in parser.feed(*pair) if isinstance(event, TextDelta)]
    assert parser.current_content == "".join(deltas) == " \ufffd interesting story"
    assert parser.feed(*text_token("Y")) == [TextDelta(0, "Y")]
    assert parser.current_content == " \ufffd interesting storyY"


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_tricky_utf8_in_any_byte_split(size: int) -> None:
    tricky = next(v for v in inline()["utf8_streaming_vectors"] if "tricky" in v["test"])["text"]
    data = tricky.encode()
    parser = StreamParser(IDS, None, strict=True)
    deltas = []
    pieces = [text_token(data[i:i + size]) for i in range(0, len(data), size)]
    for pair in [*assistant_prefix(), *pieces, special(END)]:
        deltas += [event.text for event in parser.feed(*pair) if isinstance(event, TextDelta)]
    assert [m.content for m in parser.messages] == [tricky]
    assert "".join(deltas) == tricky


# -- the rest of inline.json: stop sets and reserved tokens -------------------------------------------


def test_stop_sets_match_the_library() -> None:
    by_id = {token_id: name for name, token_id in IDS.items()}
    stops = inline()["stop_tokens"]
    assert {by_id[i] for i in stops["stop_tokens_for_assistant_actions()"]} == set(STOP_TOKENS)
    # The parser ends a message on the library's stop_tokens(), and on end of text as well.
    assert {by_id[i] for i in stops["stop_tokens()"]} == MESSAGE_END_TOKENS - {"<|endoftext|>"}


def test_reserved_tokens_as_the_tokenizer_decodes_them_are_dropped() -> None:
    for case in inline()["tokenizer"]:
        if case["op"] == "decode" and case["text"].startswith("<|reserved_"):
            text = f"<|channel|>final<|message|>a{case['text']}b<|return|>"
            assert [m.content for m in parse_text(text)] == ["ab"]
