"""Token counts for attachments: exact through the loaded model's tokenizer, or an estimate.

Exact counts come from the engine (`count_tokens(texts) -> list[int]`, run in the worker where the
vocabulary lives; this room never imports llama_cpp). With no model loaded the chip still needs a
number, so `estimate_tokens` guesses one and every count carries `estimated` so the UI can say so.

The estimate imitates the shape of gpt-oss's o200k tokenizer instead of dividing characters by a
constant: its pre-tokenizer splits text into words (with their leading space), numbers of up to three
digits, punctuation runs and whitespace, and most common words are one token. So: one token per word
plus one per further 6 letters (long or rare words split), one more for each run of accented Latin
letters (o200k splits `Straße` and `película` there) and for a capitalized word of four letters or more
(names split: `Ossian` is three tokens), one per 3 letters of other alphabets (Cyrillic,
Greek, Arabic, Indic), one per 3 digits, one per 2 punctuation marks, one per 8 characters of a
whitespace run (a lone space between words is free: it rides with the next word, but not with a
number, where o200k gives it a token of its own), one per CJK character and two per other symbol
(emoji).

Calibrated against the real tokenizer (o200k_harmony through openai-harmony, in
tests/documents/test_tokens.py): on English prose, code, Markdown, JSON, tables, numbers, German,
French, Spanish, Vietnamese, Russian, Chinese and emoji it errs high by 0 to 66% (English prose and code
about 10 to 30%), never low, because an estimate that is too low is exactly the silent overflow the meter
exists to prevent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.documents.document import ExtractedDocument
from app.documents.prompt_block import format_for_prompt

CountTokens = Callable[[Sequence[str]], list[int]]
"""The engine's tokenizer: texts in, one count per text out (blocking; call it off the UI thread)."""

SAMPLE_CHARS = 1 << 18
_SAMPLE_SLICES = 32
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PUNCT = r"!-/:-@\[-`{-~"  # ASCII punctuation (underscore included)
# Each rule is a regex whose every match is one estimated token, so counting is done by the regex
# engine (re.subn) rather than a Python loop: a 6-letter slice of a word, a 3-digit slice of a number,
# 2 punctuation marks, 8 characters of a whitespace run.
_LATIN = r"A-Za-z\u00c0-\u024f\u1e00-\u1eff"  # ASCII, Latin-1, Latin Extended-A/B and Additional
_ACCENTED = r"\u00c0-\u024f\u1e00-\u1eff"
_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"[{_LATIN}]{{1,6}}"), 1),
    (re.compile(rf"[{_ACCENTED}]+"), 1),  # o200k splits a Latin word at its accented letters
    (re.compile(r"(?<![A-Za-z])[A-Z][a-z]{3,}"), 1),  # names and rare capitalized words split more
    (re.compile(rf"[^\W\d_{_LATIN}{_CJK}]{{1,3}}"), 1),  # other alphabets: shorter pieces
    (re.compile(r"\d{1,3}"), 1),
    (re.compile(rf"[{_PUNCT}]{{1,2}}"), 1),
    (re.compile(r"\s{1,8}"), 1),
    # a lone space rides with the next word or punctuation: take it back; before a digit it is a token
    (re.compile(r"(?<!\s) (?![\s\d])"), -1),
    (re.compile(rf"[{_CJK}]"), 1),
    (re.compile(rf"[^\w\s{_PUNCT}]"), 2),  # symbols and emoji
)


@dataclass(frozen=True, slots=True)
class TokenCount:
    tokens: int
    estimated: bool  # True: no model was loaded, this is estimate_tokens' guess

    def label(self) -> str:
        """'12,345 tokens' or '≈12,300 tokens (estimate)' for the chip."""
        if self.estimated:
            return f"≈{_round_estimate(self.tokens):,} tokens (estimate)"
        return f"{self.tokens:,} token{'s' if self.tokens != 1 else ''}"


def estimate_tokens(text: str) -> int:
    """A deliberately generous guess of the o200k token count of `text` (see the module docstring).

    Texts over `SAMPLE_CHARS` are estimated from evenly spread slices of that much text, scaled up:
    the regexes run at about 2 million characters a second, and a chip should not wait seconds for a
    guess.
    """
    if len(text) <= SAMPLE_CHARS:
        return _estimate_all(text)
    step = len(text) // _SAMPLE_SLICES
    size = SAMPLE_CHARS // _SAMPLE_SLICES
    sampled = sum(_estimate_all(text[i * step:i * step + size]) for i in range(_SAMPLE_SLICES))
    return round(sampled * len(text) / (size * _SAMPLE_SLICES))


def _estimate_all(text: str) -> int:
    return sum(weight * pattern.subn("", text)[1] for pattern, weight in _TOKEN_PATTERNS)


def count_texts(texts: Sequence[str], count_tokens: CountTokens | None) -> list[TokenCount]:
    """Exact counts when a tokenizer is given, estimates otherwise; one per text, in order."""
    if count_tokens is None:
        return [TokenCount(estimate_tokens(text), estimated=True) for text in texts]
    counts = count_tokens(list(texts))
    if len(counts) != len(texts):
        raise ValueError(f"count_tokens returned {len(counts)} counts for {len(texts)} texts")
    return [TokenCount(int(count), estimated=False) for count in counts]


def count_attachment_tokens(
    documents: Sequence[ExtractedDocument], count_tokens: CountTokens | None
) -> list[TokenCount]:
    """What each attachment costs in the prompt: the tokens of its prompt block, not of its raw text."""
    return count_texts([format_for_prompt(document) for document in documents], count_tokens)


def _round_estimate(tokens: int) -> int:
    # Three significant figures: showing an estimate to the last token would claim a precision it lacks.
    if tokens < 1000:
        return tokens
    magnitude = 10 ** (len(str(tokens)) - 3)
    return round(tokens / magnitude) * magnitude
