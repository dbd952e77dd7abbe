"""The sampler chain of one generation: optional grammar and suppressed specials, then the settings.

Only samplers that change something are added, so gpt-oss's defaults (temperature 1.0, top_p 1.0) are
just a temperature and a draw. A GBNF grammar may name special tokens (`<|channel|>`); llama.cpp returns
no sampler for a grammar it cannot parse, and the reason is in its log, which becomes the error message.
Suppressed specials get a logit bias of minus infinity: with a grammar that ends in a tool call, a
finished grammar allows only end-of-generation tokens, and suppressing `<|return|>` and `<|endoftext|>`
leaves `<|call|>` as the only way to end.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Iterator

from llama_cpp import _internals as llama_wrappers
from llama_cpp import llama_cpp as llama_c

from app.engine import llama_log
from app.engine.interface import EngineError, EngineFailure, SamplingSettings
from app.engine.worker_log import LlamaLog
from app.engine.worker_tokens import PromptTokenizer

PENALTY_LAST_N = 64


def build_sampler(vocab: llama_c.llama_vocab_p, tokenizer: PromptTokenizer, settings: SamplingSettings,
                  grammar: str | None, log: LlamaLog) -> llama_wrappers.LlamaSampler:
    chain = llama_wrappers.LlamaSampler()
    try:
        if grammar is not None:
            _add(chain, _grammar_sampler(vocab, grammar, log))
        if settings.suppress_specials:
            ids = [tokenizer.special_id(text) for text in settings.suppress_specials]
            chain.add_logit_bias(tokenizer.n_vocab, {token: -math.inf for token in ids})
        if settings.repeat_penalty != 1.0:
            chain.add_penalties(tokenizer.n_vocab, PENALTY_LAST_N, settings.repeat_penalty, 0.0, 0.0)
        if settings.temperature <= 0.0:
            chain.add_greedy()
            return chain
        if settings.top_k > 0:
            chain.add_top_k(settings.top_k)
        if settings.top_p < 1.0:
            chain.add_top_p(settings.top_p, 1)
        if settings.min_p > 0.0:
            chain.add_min_p(settings.min_p, 1)
        chain.add_temp(settings.temperature)
        chain.add_dist(llama_c.LLAMA_DEFAULT_SEED if settings.seed is None else settings.seed)
    except BaseException:
        chain.close()
        raise
    return chain


def _grammar_sampler(vocab: llama_c.llama_vocab_p, grammar: str, log: LlamaLog) -> llama_c.llama_sampler_p:
    with log.capture() as lines, _stderr_captured() as printed:
        sampler = llama_c.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        # llama.cpp prints the parse error itself (not through its log): take the line that says why
        reasons = [line for line in printed if "error parsing grammar" in line] or [line for _, line in lines]
        said = llama_log.explanation(reasons) or "llama.cpp did not say why"
        raise EngineFailure(EngineError("grammar", f"The grammar could not be used: {said}. Check the GBNF "
                                                   "syntax and that it defines `root`.", detail=said))
    return sampler


@contextlib.contextmanager
def _stderr_captured() -> Iterator[list[str]]:
    """What native code writes to file descriptor 2 inside the block, as lines (also passed on)."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", errors="replace")
            lines.extend(line for line in text.splitlines() if line.strip())
            if text:
                sys.stderr.write(text)


def _add(chain: llama_wrappers.LlamaSampler, sampler: llama_c.llama_sampler_p) -> None:
    llama_c.llama_sampler_chain_add(chain.sampler, sampler)
