"""Token counts: exact through the engine (gpt-oss's real tokenizer), or a marked estimate without a model;
both held against the reference (openai-harmony on o200k_harmony)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.documents import (
    TokenCount,
    count_attachment_tokens,
    count_texts,
    estimate_tokens,
    extract,
    format_for_prompt,
)
from app.harmony import SYSTEM, USER, Message, SystemContent
from fixtures.documents import Para, prose_lines, write_docx, write_pdf, write_text
from fixtures.o200k import reference_encoding
from tests.harmony.reference import reference_render


def test_attachment_counts_are_the_tokens_of_the_prompt_block(tmp_path, count_tokens):
    documents = [
        extract(write_pdf(tmp_path / "a.pdf", [prose_lines(10, seed=1), prose_lines(10, seed=2)])),
        extract(write_text(tmp_path / "b.md", "# Notes\n\nThe engine counts these.\n")),
    ]
    counts = count_attachment_tokens(documents, count_tokens)
    blocks = [format_for_prompt(d) for d in documents]
    assert [c.tokens for c in counts] == count_tokens(blocks)
    assert not any(c.estimated for c in counts)
    # The block costs more than the bare text: the header and page markers are paid for too.
    assert counts[0].tokens > count_tokens([documents[0].text])[0]


def reference_count(text: str) -> int:
    return len(reference_encoding().encode(text, disallowed_special=()))


def test_attachment_counts_are_what_the_reference_pays_in_the_prompt(tmp_path, count_tokens):
    """The count on the chip is what the block adds to a rendered prompt, documents first and the question
    after a blank line (app.chat.prompt.user_content), as openai-harmony renders and counts it."""
    documents = [
        extract(write_pdf(tmp_path / "a.pdf", [prose_lines(15, seed=n) for n in range(4)])),
        extract(write_docx(tmp_path / "b.docx", [Para(line) for line in prose_lines(10, seed=9)])),
        extract(write_text(tmp_path / "c.md", "# Notizen\n\nGrüße aus Köln: 1234567 €, 東京 🎉\n  x = 1\n")),
    ]
    counts = count_attachment_tokens(documents, count_tokens)
    system = Message(SYSTEM, SystemContent(conversation_start_date="2025-08-05"))
    question = "Summarize these, please."
    without = len(reference_render([system, Message(USER, question)], "assistant"))
    blocks = [format_for_prompt(d) for d in documents]
    with_all = len(reference_render([system, Message(USER, "\n\n".join([*blocks, question]))], "assistant"))
    assert sum(c.tokens for c in counts) == with_all - without
    assert [c.tokens for c in counts] == [reference_count(block) for block in blocks]
    assert [count_tokens([d.text])[0] for d in documents] == [reference_count(d.text) for d in documents]


ESTIMATE_CORPUS = {
    "english prose": "\n".join(prose_lines(200, seed=4)),
    "python": "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
              * 30,
    "markdown table": "\n".join(f"| {i} | {i * 3.14:.2f} | item {i} |" for i in range(200)),
    "json": '{"name": "Ossian", "tokens": [1, 22, 333, 4444], "nested": {"ok": true, "pi": 3.14159}}\n' * 40,
    "numbers": " ".join(str(i * 7919) for i in range(1000)),
    "german": "Die Straße ist schön, aber übermäßig große Äpfel fallen öfter als Birnen. " * 30,
    "french": "L'été dernier, nous sommes allés à la plage près de Saint-Malo — c'était magnifique. " * 30,
    "vietnamese": "Tiếng Việt có dấu rất khó đọc nếu không quen. " * 30,
    "russian": "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 30,
    "chinese": "我们今天去北京大学图书馆看书，然后在食堂吃饭。人工智能正在改变世界。" * 30,
    "emoji": "🎉👍🏽 ok " * 200,
}


@pytest.mark.parametrize("name", sorted(ESTIMATE_CORPUS))
def test_the_estimate_errs_high_against_the_real_count(name):
    """Calibration, not assumption: never below the real count, and not wildly above it."""
    text = ESTIMATE_CORPUS[name]
    real, estimate = reference_count(text), estimate_tokens(text)
    assert real <= estimate <= 1.7 * real, (real, estimate)


def test_without_a_model_counts_are_marked_estimates(tmp_path):
    document = extract(write_text(tmp_path / "a.txt", "\n".join(prose_lines(50, seed=3))))
    (count,) = count_attachment_tokens([document], None)
    assert count.estimated
    assert count.tokens == estimate_tokens(format_for_prompt(document))
    assert "estimate" in count.label()


def test_a_tokenizer_that_miscounts_is_caught():
    with pytest.raises(ValueError, match="2 texts"):
        count_texts(["a", "b"], lambda texts: [1])


def test_labels():
    assert TokenCount(12_345, estimated=False).label() == "12,345 tokens"
    assert TokenCount(1, estimated=False).label() == "1 token"
    assert TokenCount(12_345, estimated=True).label() == "≈12,300 tokens (estimate)"
    assert TokenCount(987, estimated=True).label() == "≈987 tokens (estimate)"


ENGLISH = (
    "Users drag reports, papers and source code into a conversation and then ask questions about "
    "them. The application shows exactly what fits in the context window, uses the whole window when "
    "the machine has enough memory, and otherwise lets the model search the documents that do not fit. "
    "Nothing is ever cut off silently; when an attachment is too large, the person decides what happens."
)


def test_estimate_of_english_prose_errs_high_but_not_wildly():
    # A BPE tokenizer spends at least one token per word and per punctuation mark; o200k spends about
    # that on plain English like this, whose every word is common. So that is the floor, and the
    # estimate may be above it (err high) by a quarter at most.
    floor = len(re.findall(r"\w+|[^\w\s]", ENGLISH))
    estimate = estimate_tokens(ENGLISH)
    assert floor <= estimate <= 1.25 * floor


def test_estimate_splits_numbers_and_long_words():
    assert estimate_tokens("") == 0
    assert estimate_tokens("cat") == 1
    assert estimate_tokens(" cat") == 1  # the leading space rides with the word
    assert estimate_tokens("internationalization") == 4
    assert estimate_tokens("1234567") == 3
    assert estimate_tokens("東京都") == 3


def test_estimate_counts_cjk_per_character_not_per_word():
    assert estimate_tokens("東京で会いましょう") > estimate_tokens("Tokyo meeting")


@given(st.text(max_size=300), st.text(max_size=300))
def test_estimate_is_about_additive(left, right):
    # Joining two texts can merge one word or whitespace run at the seam, never more.
    joined = estimate_tokens(left + right)
    separate = estimate_tokens(left) + estimate_tokens(right)
    assert separate - 2 <= joined <= separate + 2


@given(st.text(max_size=500))
def test_estimate_is_never_negative_and_grows_with_text(text):
    assert estimate_tokens(text) >= 0
    assert estimate_tokens(text + " token") >= estimate_tokens(text)


def test_estimate_of_a_long_text_comes_from_samples_close_to_the_whole():
    from app.documents.tokens import SAMPLE_CHARS, _estimate_all

    text = ("\n".join(prose_lines(2_000, seed=21)) + "\n\n    indented code();\n" * 200) * 10
    assert len(text) > 4 * SAMPLE_CHARS
    whole = _estimate_all(text)
    assert abs(estimate_tokens(text) - whole) <= 0.03 * whole
