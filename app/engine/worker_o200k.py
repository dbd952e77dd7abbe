"""Texts llama.cpp cuts where o200k does not, tokenized as gpt-oss was trained: o200k's own pattern and
byte-pair merges.

llama.cpp's `gpt-4o` pre-tokenizer rewrites o200k's pattern for std::regex, and the rewrite is not the
same pattern in two ways (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_GPT4O):
- it leaves the combining marks (Unicode category M) out of its letter classes (ggml-org/llama.cpp#27783),
  so a word holding one (Hindi, Tamil or Thai vowel signs, Arabic harakat, a decomposed accent) is split
  where o200k keeps it whole (Hindi "हिन्दी भारत की राजभाषा है।": 17 tokens instead of 11);
- it spells o200k's upper- and lower-case classes as "a letter but not a-z" and "a letter but not A-Z",
  so every cased letter beyond ASCII (accented Latin, Greek, Cyrillic) counts as both cases, and a word
  mixing cases is cut elsewhere: "ÍT" is one token in o200k, "Í" then "T" in llama.cpp; "ÉCOLE", "aÉ".
The same bytes, but other tokens than the model saw in training. A text holding a mark or a cased letter
beyond ASCII is therefore tokenized here, as tiktoken does it (`encode`): o200k's published pattern (its
Unicode classes built from `unicodedata`) cuts it into pieces, and each piece's bytes are merged by rank.
Letters without case (Chinese, Japanese, Thai, Arabic letters: Lo, Lm) are both cases in both patterns,
so llama.cpp keeps them.

It is only used when it agrees with llama.cpp where llama.cpp is right: the tokenizer checks a sample
without such letters both ways before relying on it (`agrees`), so a vocabulary whose ids are not its
merge ranks, as o200k's are, keeps llama.cpp's tokenization. ASCII text pays nothing; other text a set
lookup per character (a 5 MB text: 0.1 s); a text tokenized here costs about what llama.cpp takes (1 MB
of German: 0.94 s against 0.98 s; bench/o200k_tokenize.py).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping

# Unicode's White_Space property: what `\s` means in the Rust regex o200k's pattern runs on (Python's own
# `\s` also takes the separators U+001C..U+001F, which are not white space there).
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)"


class O200kTokenizer:
    """o200k's tokenization of a text, done here: its pattern's pieces, each merged by rank (`ranks`:
    bytes -> id); pieces longer than `LONG_PIECE` bytes go to `fallback` (llama.cpp) instead, since
    merging pair by pair costs the square of a piece's length."""

    LONG_PIECE = 256

    def __init__(self, ranks: Mapping[bytes, int]) -> None:
        self._ranks = ranks
        self._encode_piece = functools.lru_cache(maxsize=65536)(self._merge)

    @staticmethod
    def needed_for(text: str) -> bool:
        """Whether llama.cpp may cut this text where o200k does not: it holds a mark or a cased letter
        beyond ASCII."""
        # a set lookup per character: about 20 ns, where a regex class of them all takes 300 ns
        return not text.isascii() and not _cut_differently().isdisjoint(text)

    def encode(self, text: str, fallback: Callable[[str], list[int]]) -> list[int]:
        """The whole text as o200k tokenizes it. Every piece is merged here, not only the ones llama.cpp
        cuts wrong: it decides whitespace by looking at what follows, so a text cut around such a word
        would tokenize differently at the cut, and each call into llama.cpp has a fixed cost."""
        ids: list[int] = []
        for match in _o200k_pattern().finditer(text):
            piece = match.group()
            if len(piece) > self.LONG_PIECE and len(piece.encode("utf-8")) > self.LONG_PIECE:
                ids.extend(fallback(piece))
            else:
                ids.extend(self._encode_piece(piece))
        return ids

    def _merge(self, piece: str) -> tuple[int, ...]:
        """One piece's ids: its bytes merged pair by pair, the lowest-ranked pair first (tiktoken's rule)."""
        data = piece.encode("utf-8")
        whole = self._ranks.get(data)
        if whole is not None:
            return (whole,)
        parts = [data[i:i + 1] for i in range(len(data))]
        while len(parts) > 1:
            best, best_rank = -1, None
            for i in range(len(parts) - 1):
                rank = self._ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best_rank is None or rank < best_rank):
                    best, best_rank = i, rank
            if best < 0:
                break
            parts[best:best + 2] = [parts[best] + parts[best + 1]]
        return tuple(self._ranks[part] for part in parts)

    def agrees(self, tokenize: Callable[[str], list[int]]) -> bool:
        """Whether merging by rank gives llama.cpp's ids for text it tokenizes right (ASCII, CJK)."""
        sample = "Hello world: tokenization, unbelievably 12345 东京 😀\n\n  x"
        try:
            return self.encode(sample, tokenize) == tokenize(sample)
        except KeyError:  # a byte with no token of its own: not a byte-level vocabulary
            return False


def prepare() -> None:
    """Build the Unicode classes now (a worker does it in the background when its model loads), so the
    first text with a letter beyond ASCII does not wait for them."""
    _o200k_pattern()
    _cut_differently()


@functools.cache
def _category_ranges() -> dict[str, list[tuple[int, int]]]:
    """Code point ranges of the Unicode classes o200k's pattern names, and of the characters llama.cpp's
    pattern classes otherwise (`CUT`: marks, and cased letters, whose case llama.cpp knows only for
    ASCII): one scan of every code point, built once (about 0.4 s)."""
    groups: dict[str, list[tuple[int, int]]] = {name: [] for name in ("L", "ULT", "LOW", "N", "M", "CUT")}
    members = {"Lu": ("L", "ULT", "CUT"), "Lt": ("L", "ULT", "CUT"), "Lm": ("L", "ULT", "LOW"),
               "Lo": ("L", "ULT", "LOW"), "Ll": ("L", "LOW", "CUT"), "Mn": ("M", "ULT", "LOW", "CUT"),
               "Mc": ("M", "ULT", "LOW", "CUT"), "Me": ("M", "ULT", "LOW", "CUT"), "Nd": ("N",), "Nl": ("N",),
               "No": ("N",)}
    for code in range(sys.maxunicode + 1):
        for name in members.get(unicodedata.category(chr(code)), ()):
            ranges = groups[name]
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return groups


def _categories() -> dict[str, str]:
    """Regex class bodies of o200k's Unicode classes."""
    return {name: "".join(_range(low, high) for low, high in ranges)
            for name, ranges in _category_ranges().items() if name != "CUT"}


def _range(low: int, high: int) -> str:
    return re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"


@functools.cache
def _cut_differently() -> frozenset[str]:
    """The characters beyond ASCII that llama.cpp's pattern classes otherwise than o200k's (ASCII's own
    letters it classes alike)."""
    return frozenset(chr(code) for low, high in _category_ranges()["CUT"]
                     for code in range(max(low, 128), high + 1))


@functools.cache
def _o200k_pattern() -> re.Pattern[str]:
    """o200k_base's pre-tokenizer pattern (tiktoken's `o200k_base`), with its classes spelled out."""
    c = _categories()
    letters, numbers, space = c["L"], c["N"], _WHITE_SPACE
    return re.compile("|".join((
        rf"[^\r\n{letters}{numbers}]?[{c['ULT']}]*[{c['LOW']}]+{_CONTRACTIONS}?",
        rf"[^\r\n{letters}{numbers}]?[{c['ULT']}]+[{c['LOW']}]*{_CONTRACTIONS}?",
        rf"[{numbers}]{{1,3}}",
        rf" ?[^{space}{letters}{numbers}]+[\r\n/]*",
        rf"[{space}]*[\r\n]+",
        rf"[{space}]+(?![^{space}])",
        rf"[{space}]+",
    )))
