"""One loaded model in the worker and what it does: evaluate prompts, generate, tokenize, cancel.

A generation tokenizes the segments (`worker_tokens`), reuses the cached prefix (`worker_cache`),
evaluates the rest in batches, checkpoints the sliding-window cache, then samples token by token until
`<|return|>`, `<|call|>`, another end-of-generation token, `max_tokens` or a full context. Each token goes
out at once as (id, piece bytes); the stop token is sent too, because the Harmony parser needs it to close
the message.

Cancel: `request_abort()` (called from the worker's pipe-reading thread) sets a flag that the loop checks
between tokens and that llama.cpp's abort callback returns between graph nodes, so a long prompt
evaluation stops within milliseconds without losing the model. The callback costs a Python call per
graph node, so it is installed for prompt batches, and for single-token decodes only once one has been
seen to take longer than `SLOW_DECODE_S` (big models on slow machines); fast decodes are short enough to
finish. After an aborted or failed decode the cache is re-read from llama.cpp.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from llama_cpp import _internals as llama_wrappers
from llama_cpp import llama_cpp as llama_c

from app.engine.interface import (
    Done,
    DoneReason,
    EngineError,
    EngineFailure,
    GenerateRequest,
    LoadPlan,
    ModelInfo,
)
from app.engine.worker_cache import PrefixCache, Reuse
from app.engine.worker_load import LoadedModel, LoadedVocabulary, load_model, load_vocabulary
from app.engine.worker_log import LlamaLog
from app.engine.worker_sampling import build_sampler
from app.engine.worker_tokens import PromptTokenizer
from app.harmony.segments import CALL, RETURN, Segment

SLOW_DECODE_S = 0.02
_ABORTED = 2  # llama_decode's status when the abort callback stopped it

TokenSink = Callable[[int, bytes], None]


@dataclass(frozen=True)
class PromptResult:
    prompt_tokens: int
    reuse: Reuse

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.reuse.n_past


class Cancelled(Exception):
    """The abort flag stopped a decode; during a prompt, `reuse` says what the cache had reused."""

    reuse: Reuse | None = None


class Session:
    """The worker's model, if any. Methods run on the worker's main thread, except `request_abort` and
    the tokenizing methods, which are safe from other threads."""

    def __init__(self, log: LlamaLog) -> None:
        self._log = log
        log.install()  # llama.cpp's log is process-wide: the session that drives llama.cpp takes it
        self._loaded: LoadedModel | None = None
        self._cache: PrefixCache | None = None
        self._vocabulary: LoadedVocabulary | None = None  # a vocab-only load (`LoadPlan.vocab_only`)
        self._lock = threading.RLock()  # held while the model is being replaced
        self._abort = False
        self._abort_installed = False
        self._slow_decodes = False
        self._abort_callback = llama_c.ggml_abort_callback(lambda _data: self._abort)

    # Loading

    def load(self, plan: LoadPlan) -> ModelInfo:
        with self._lock:
            self.unload()
            if plan.vocab_only:
                self._vocabulary = load_vocabulary(plan, self._log)
                return self._vocabulary.info
            loaded = load_model(plan, self._log)
            self._loaded = loaded
            self._cache = PrefixCache(loaded.ctx, loaded.memory, loaded.n_swa, plan.swa_full)
            self._abort_installed = False
            self._slow_decodes = False
            return loaded.info

    def unload(self) -> None:
        with self._lock:
            if self._loaded is not None:
                self._loaded.close()
            if self._vocabulary is not None:
                self._vocabulary.close()
            self._loaded = None
            self._cache = None
            self._vocabulary = None

    @property
    def info(self) -> ModelInfo | None:
        if self._vocabulary is not None:
            return self._vocabulary.info
        return self._loaded.info if self._loaded else None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def cache(self) -> PrefixCache:
        return self._require()[1]

    # Tokenizing (any thread)

    def count_tokens(self, texts: Sequence[str]) -> tuple[int, ...]:
        with self._lock:
            tokenizer = self._tokenizer()
            return tuple(len(tokenizer.tokenize_text(text)) for text in texts)

    def tokenize(self, segments: Sequence[Segment]) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._tokenizer().tokenize_segments(segments))

    # Generating (main thread)

    def request_abort(self) -> None:
        self._abort = True

    def clear_abort(self) -> None:
        self._abort = False

    def generate(self, request: GenerateRequest, emit: TokenSink) -> Done:
        started = time.perf_counter()
        loaded, _ = self._require()
        tokenizer = loaded.tokenizer
        prompt = tokenizer.tokenize_segments(request.segments)
        if not prompt:
            raise EngineFailure(EngineError("protocol", "The prompt is empty."))
        if len(prompt) >= loaded.n_ctx:
            raise EngineFailure(EngineError(
                "too_long", f"The conversation is {len(prompt):,} tokens long and the model was loaded "
                            f"with room for {loaded.n_ctx:,}. Start a new conversation, remove attachments, "
                            "or load the model with a longer context."))
        sampler = build_sampler(loaded.model.vocab, tokenizer, request.sampling, request.grammar, self._log)
        try:
            return self._generate(request, prompt, sampler, emit, started)
        finally:
            sampler.close()

    def evaluate_prompt(self, prompt: list[int]) -> PromptResult:
        """Bring the cache to hold `prompt` (reusing what it can) and leave the logits of its last token."""
        _, cache = self._require()
        reuse = cache.prepare(prompt)
        try:
            self._decode(prompt[reuse.n_past:], reuse.n_past, abortable=True)
        except Cancelled as stop:
            stop.reuse = reuse
            raise
        cache.take_checkpoint()
        return PromptResult(len(prompt), reuse)

    def last_logits(self) -> np.ndarray:
        """The logits after the last decode (a copy), for tests that compare evaluations."""
        loaded, _ = self._require()
        pointer = llama_c.llama_get_logits_ith(loaded.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(loaded.tokenizer.n_vocab,)).copy()

    def _generate(self, request: GenerateRequest, prompt: list[int], sampler: llama_wrappers.LlamaSampler,
                  emit: TokenSink, started: float) -> Done:
        loaded, cache = self._require()
        tokenizer = loaded.tokenizer
        stops = {tokenizer.special_id(RETURN): "return", tokenizer.special_id(CALL): "call"}
        limit = request.sampling.max_tokens
        try:
            prompt_result = self.evaluate_prompt(prompt)
        except Cancelled as stop:
            reused = stop.reuse.n_past if stop.reuse else 0
            evaluated = max(0, min(len(cache.tokens), len(prompt)) - reused)  # what the cache kept
            return Done("cancelled", prompt_tokens=len(prompt), reused_tokens=reused,
                        evaluated_tokens=evaluated, prompt_seconds=time.perf_counter() - started)
        prompt_done = time.perf_counter()
        generated, first_token_at = 0, 0.0
        reason: DoneReason = "length"
        position = len(prompt)
        while True:
            if self._abort:
                reason = "cancelled"
                break
            token = sampler.sample(loaded.context, -1)
            generated += 1
            if generated == 1:
                first_token_at = time.perf_counter()
            emit(token, tokenizer.piece(token))
            if token in stops:
                reason = stops[token]
                break
            if tokenizer.is_end_of_generation(token):
                reason = "eog"
                break
            if (limit is not None and generated >= limit) or position >= loaded.n_ctx:
                reason = "length"
                break
            try:
                self._decode([token], position, abortable=self._slow_decodes)
            except Cancelled:
                reason = "cancelled"
                break
            position += 1
        finished = time.perf_counter()
        sampling_seconds = finished - prompt_done
        return Done(
            reason=reason,
            prompt_tokens=prompt_result.prompt_tokens,
            reused_tokens=prompt_result.reuse.n_past,
            evaluated_tokens=prompt_result.evaluated_tokens,
            generated_tokens=generated,
            time_to_first_token_s=(first_token_at - started) if generated else 0.0,
            prompt_seconds=prompt_done - started,
            tokens_per_second=generated / sampling_seconds if generated and sampling_seconds > 0 else 0.0,
        )

    def _decode(self, tokens: list[int], position: int, abortable: bool) -> None:
        loaded, cache = self._require()
        batch, step = loaded.batch, loaded.batch.capacity
        self._install_abort(abortable)
        for start in range(0, len(tokens), step):
            chunk = tokens[start:start + step]
            batch.fill(chunk, position + start)
            began = time.perf_counter()
            status = llama_c.llama_decode(loaded.ctx, batch.batch)
            if status != 0:
                cache.resync()
                if status == _ABORTED or self._abort:
                    raise Cancelled
                raise EngineFailure(EngineError(
                    "internal", f"llama.cpp could not evaluate the prompt (llama_decode status {status}).",
                    detail="; ".join(self._log.recent_errors(limit=5))))
            cache.appended(chunk)
            if len(chunk) == 1 and time.perf_counter() - began > SLOW_DECODE_S:
                self._slow_decodes = True
        if self._abort:
            raise Cancelled

    def _install_abort(self, enabled: bool) -> None:
        if enabled == self._abort_installed:
            return
        loaded, _ = self._require()
        callback = self._abort_callback if enabled else ctypes.cast(None, llama_c.ggml_abort_callback)
        llama_c.llama_set_abort_callback(loaded.ctx, callback, None)
        self._abort_installed = enabled

    def _tokenizer(self) -> PromptTokenizer:
        if self._vocabulary is not None:
            return self._vocabulary.tokenizer
        return self._require()[0].tokenizer

    def _require(self) -> tuple[LoadedModel, PrefixCache]:
        if self._vocabulary is not None:
            raise EngineFailure(EngineError(
                "not_loaded", "The model was loaded for counting tokens only. Load it to generate."))
        if self._loaded is None or self._cache is None:
            raise EngineFailure(EngineError("not_loaded", "No model is loaded. Load a model first."))
        return self._loaded, self._cache
