"""Prompt segments to token ids, so that text can never become a special token; ids to piece bytes.

`Special` segments are inserted by the id the loaded vocabulary gives their text (never a hard-coded id).
`Text` segments are tokenized as plain text (`parse_special=False`). That alone is not enough: for gpt-oss
vocabularies llama.cpp marks `<|start|>`, `<|channel|>`, `<|message|>`, `<|constrain|>` and `<|end|>` as
user-defined tokens and matches them inside plain text anyway (SPEC section 9). So every text's ids are
checked against the vocabulary's special tokens; when one slipped in, the text is cut inside each such
literal (after its first character, so `<|start|>` is tokenized as `<` then `|start|>...`) and the parts
are tokenized on their own. Ordinary text pays one set lookup per token.

On gpt-oss's vocabulary the ids are the reference's (openai-harmony's o200k_harmony), literals in text
included (tests/engine/test_real_vocabulary.py). llama.cpp alone would differ where its `gpt-4o`
pre-tokenizer is not o200k's pattern: it leaves combining marks (Unicode category M) out of its letter
classes (ggml-org/llama.cpp#27783), and it knows case only for ASCII letters, so words with a vowel sign
or harakat, or with accented capitals ("ÍT", "ÉCOLE"), are cut where o200k does not cut them. Texts
holding such characters go through `worker_o200k`, which tokenizes them as o200k does.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import threading
from collections.abc import Iterable

from llama_cpp import llama_cpp as llama_c

from app.engine.interface import EngineError, EngineFailure
from app.engine.worker_o200k import O200kTokenizer
from app.engine.worker_o200k import prepare as prepare_o200k
from app.harmony.segments import SPECIAL_TOKENS, Segment, Special, Text

_SPECIAL_ATTRS = llama_c.LLAMA_TOKEN_ATTR_CONTROL | llama_c.LLAMA_TOKEN_ATTR_USER_DEFINED
_TEXT_CACHE_SIZE = 4096  # distinct texts remembered: a long conversation re-renders the same messages


class PromptTokenizer:
    """Tokenizes prompts for one loaded vocabulary (a `llama_vocab *`)."""

    def __init__(self, vocab: llama_c.llama_vocab_p) -> None:
        self._vocab = vocab
        self.n_vocab = llama_c.llama_vocab_n_tokens(vocab)
        self._pieces: list[bytes | None] = [None] * self.n_vocab
        # Every control or user-defined token: none of them may come out of plain text.
        self.guarded_ids = frozenset(
            i for i in range(self.n_vocab) if llama_c.llama_vocab_get_attr(vocab, i) & _SPECIAL_ATTRS)
        self.special_ids: dict[str, int] = {}
        for text in SPECIAL_TOKENS:
            token = self.lookup_special(text)
            if token is not None:
                self.special_ids[text] = token
        self.tokenize_text = functools.lru_cache(maxsize=_TEXT_CACHE_SIZE)(self._tokenize_text)
        self._o200k: O200kTokenizer | None = None
        self._o200k_checked = False
        self._o200k_lock = threading.Lock()
        # the Unicode classes take about 0.4 s to build: not on the first prompt's path
        threading.Thread(target=prepare_o200k, name="o200k-classes", daemon=True).start()

    def lookup_special(self, text: str) -> int | None:
        """The id of the special token written `text` in this vocabulary, or None."""
        ids = self._tokenize(text.encode(), parse_special=True)
        if len(ids) == 1 and ids[0] in self.guarded_ids and self.piece(ids[0]) == text.encode():
            return ids[0]
        return None

    def is_end_of_generation(self, token: int) -> bool:
        return bool(llama_c.llama_vocab_is_eog(self._vocab, token))

    def tokenize_segments(self, segments: Iterable[Segment]) -> list[int]:
        ids: list[int] = []
        for segment in segments:
            if isinstance(segment, Text):
                ids.extend(self.tokenize_text(segment.text))
            elif isinstance(segment, Special):
                ids.append(self.special_id(segment.token))
            else:
                raise EngineFailure(EngineError(
                    "protocol", f"The prompt holds a {type(segment).__name__}, which is not a segment."))
        return ids

    def special_id(self, text: str) -> int:
        token = self.special_ids.get(text)
        if token is None:
            token = self.lookup_special(text)
            if token is None:
                raise EngineFailure(EngineError(
                    "model", f"The loaded model's vocabulary has no {text} token, so a Harmony prompt "
                             "cannot be written for it. Load a gpt-oss model."))
            self.special_ids[text] = token
        return token

    def piece(self, token: int) -> bytes:
        """The bytes of one token, special tokens written as their text."""
        cached = self._pieces[token]
        if cached is None:
            cached = self._pieces[token] = self._piece(token)
        return cached

    def _tokenize_text(self, text: str) -> tuple[int, ...]:
        if O200kTokenizer.needed_for(text):
            o200k = self._o200k_tokenizer()
            if o200k is not None:
                return tuple(o200k.encode(text, self._tokenize_by_llama))
        return tuple(self._tokenize_by_llama(text))

    def _o200k_tokenizer(self) -> O200kTokenizer | None:
        """Merges by rank for texts llama.cpp cuts wrong, once they have been seen to agree with
        llama.cpp on text it cuts right (None: this vocabulary's ids are not its ranks; llama.cpp decides)."""
        with self._o200k_lock:
            if not self._o200k_checked:
                self._o200k_checked = True
                ranks = {self.piece(token): token for token in range(self.n_vocab)
                         if token not in self.guarded_ids}
                o200k = O200kTokenizer(ranks)
                if o200k.agrees(self._tokenize_by_llama):
                    self._o200k = o200k
            return self._o200k

    def _tokenize_by_llama(self, text: str) -> list[int]:
        ids = self._tokenize(text.encode("utf-8", errors="replace"))
        if self.guarded_ids.isdisjoint(ids):
            return ids
        return self._tokenize_guarded(text, ids)

    def _tokenize_guarded(self, text: str, ids: list[int]) -> list[int]:
        cuts: set[int] = set()
        for token in self.guarded_ids.intersection(ids):
            literal = self.piece(token).decode("utf-8", errors="replace")
            start = text.find(literal)
            while start >= 0 and len(literal) > 1:
                cuts.add(start + 1)
                start = text.find(literal, start + 1)
        bounds = [0, *sorted(cuts), len(text)]
        result: list[int] = []
        for begin, end in itertools.pairwise(bounds):
            result.extend(self._tokenize_plain(text[begin:end]))
        return result

    def _tokenize_plain(self, text: str) -> list[int]:
        """Tokenize a part known to hold no whole special literal; halve any part that still yields one
        (a literal llama.cpp matched in a form we did not find, e.g. after normalization)."""
        ids = self._tokenize(text.encode("utf-8", errors="replace"))
        if self.guarded_ids.isdisjoint(ids):
            return ids
        if len(text) < 2:
            raise EngineFailure(EngineError(
                "internal", f"The text {text!r} tokenizes to a special token in this vocabulary."))
        middle = len(text) // 2
        return self._tokenize_plain(text[:middle]) + self._tokenize_plain(text[middle:])

    def _tokenize(self, data: bytes, parse_special: bool = False) -> list[int]:
        if not data:
            return []
        capacity = len(data) + 16
        buffer = (llama_c.llama_token * capacity)()
        count = llama_c.llama_tokenize(self._vocab, data, len(data), buffer, capacity, False, parse_special)
        if count < 0:  # the buffer was too small: llama.cpp says how many it needs
            capacity = -count
            buffer = (llama_c.llama_token * capacity)()
            count = llama_c.llama_tokenize(self._vocab, data, len(data), buffer, capacity, False,
                                           parse_special)
            if count < 0:
                raise EngineFailure(EngineError("internal", "llama.cpp could not tokenize the prompt text."))
        return buffer[:count]

    def _piece(self, token: int) -> bytes:
        # a buffer per call: pieces are cached, and the tokenizing thread may ask at the same time
        buffer = ctypes.create_string_buffer(64)
        size = llama_c.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, True)
        if size < 0:
            buffer = ctypes.create_string_buffer(-size)
            size = llama_c.llama_token_to_piece(self._vocab, token, buffer, len(buffer), 0, True)
        return buffer.raw[:size]
