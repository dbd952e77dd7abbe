"""o200k's tokenization done in the worker for texts llama.cpp cuts wrong (app/engine/worker_o200k.py),
against the reference on the real ranks; the worker's use of it is in test_real_vocabulary.py."""

from __future__ import annotations

import pytest

from app.engine.worker_o200k import O200kTokenizer
from fixtures import o200k


@pytest.fixture(scope="module")
def own() -> O200kTokenizer:
    return O200kTokenizer(o200k.ranks())


def reference_ids(text: str) -> list[int]:
    return o200k.reference_encoding().encode(text, disallowed_special=())


def no_fallback(piece: str) -> list[int]:
    raise AssertionError(f"a piece of {len(piece)} characters went to the fallback")


@pytest.mark.parametrize("text", [
    "हिन्दी भारत की राजभाषा है। यह देवनागरी लिपि में लिखी जाती है।",
    "cafe\u0301's menu\t\t-\u0352 2",
    "مَرْحَبًا بِكُمْ  <|start|>assistant 12345",
    "Z\u0351\u0325a\u0301\u0301\u0301lgo\u20dd text\r\n\r\n  end  ",
    "ÍT ÉCOLE aÉb caféBar ÜBER'S ΑΘΗΝΑ Αθήνα МОСКВА москваМосква ǅemal",
])
def test_texts_llama_cpp_cuts_wrong_tokenize_as_the_reference(own: O200kTokenizer, text: str) -> None:
    assert O200kTokenizer.needed_for(text)
    assert own.encode(text, no_fallback) == reference_ids(text)


def test_marks_and_cased_letters_beyond_ascii_are_what_llama_cpp_cuts_wrong() -> None:
    assert not O200kTokenizer.needed_for("plain ASCII, Mixed CASE")
    assert not O200kTokenizer.needed_for("東京 ภาษาไทย مرحبا 🎉 — 12½")  # letters without case, symbols
    assert O200kTokenizer.needed_for("cafe\u0301")  # a mark
    assert O200kTokenizer.needed_for("Í") and O200kTokenizer.needed_for("naïve")  # cased, beyond ASCII
    assert O200kTokenizer.needed_for("Москва") and O200kTokenizer.needed_for("ǅ")


def test_a_long_piece_goes_to_the_fallback(own: O200kTokenizer) -> None:
    """Merging costs the square of a piece's length, so a long piece is llama.cpp's (a whitespace run
    here; a word of hundreds of marks in real text)."""
    calls: list[str] = []

    def fallback(piece: str) -> list[int]:
        calls.append(piece)
        return reference_ids(piece)

    text = "a\u0301 " + " " * 1000 + "b"
    assert own.encode(text, fallback) == reference_ids(text)
    assert len(calls) == 1 and len(calls[0]) > O200kTokenizer.LONG_PIECE


def test_a_vocabulary_whose_ids_are_not_its_ranks_is_not_trusted() -> None:
    ranks = o200k.ranks()
    shuffled = O200kTokenizer({token: len(ranks) - rank for token, rank in ranks.items()})
    assert O200kTokenizer(ranks).agrees(reference_ids)
    assert not shuffled.agrees(reference_ids)
    assert not O200kTokenizer({b"a": 0}).agrees(reference_ids)  # not byte-level at all
