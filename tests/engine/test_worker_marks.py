"""o200k's tokenization done in the worker for texts with combining marks (app/engine/worker_marks.py),
against the reference on the real ranks; the worker's use of it is in test_real_vocabulary.py."""

from __future__ import annotations

import pytest

from app.engine.worker_marks import MarkedWords
from fixtures import o200k


@pytest.fixture(scope="module")
def marked() -> MarkedWords:
    return MarkedWords(o200k.ranks())


def reference_ids(text: str) -> list[int]:
    return o200k.reference_encoding().encode(text, disallowed_special=())


def no_fallback(piece: str) -> list[int]:
    raise AssertionError(f"a piece of {len(piece)} characters went to the fallback")


@pytest.mark.parametrize("text", [
    "हिन्दी भारत की राजभाषा है। यह देवनागरी लिपि में लिखी जाती है।",
    "cafe\u0301's menu\t\t-\u0352 2",
    "مَرْحَبًا بِكُمْ  <|start|>assistant 12345",
    "Z\u0351\u0325a\u0301\u0301\u0301lgo\u20dd text\r\n\r\n  end  ",
])
def test_marked_texts_tokenize_as_the_reference(marked: MarkedWords, text: str) -> None:
    assert MarkedWords.has_mark(text)
    assert marked.encode(text, no_fallback) == reference_ids(text)


def test_only_marks_count_as_marks() -> None:
    assert not MarkedWords.has_mark("plain ASCII")
    assert not MarkedWords.has_mark("naïve café 東京 🎉")  # precomposed letters and symbols are no marks
    assert MarkedWords.has_mark("cafe\u0301")


def test_a_long_piece_goes_to_the_fallback(marked: MarkedWords) -> None:
    """Merging costs the square of a piece's length, so a long piece is llama.cpp's (a whitespace run
    here; a word of hundreds of marks in real text)."""
    calls: list[str] = []

    def fallback(piece: str) -> list[int]:
        calls.append(piece)
        return reference_ids(piece)

    text = "a\u0301 " + " " * 1000 + "b"
    assert marked.encode(text, fallback) == reference_ids(text)
    assert len(calls) == 1 and len(calls[0]) > MarkedWords.LONG_PIECE


def test_a_vocabulary_whose_ids_are_not_its_ranks_is_not_trusted() -> None:
    ranks = o200k.ranks()
    shuffled = MarkedWords({token: len(ranks) - rank for token, rank in ranks.items()})
    assert MarkedWords(ranks).agrees(reference_ids)
    assert not shuffled.agrees(reference_ids)
    assert not MarkedWords({b"a": 0}).agrees(reference_ids)  # not byte-level at all
