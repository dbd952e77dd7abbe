"""Prefix reuse that stays correct with gpt-oss's small sliding-window cache: context checkpoints.

The KV cache holds the tokens of the last prompt and its answer. A new prompt that starts with some of
them needs only the rest evaluated. With `swa_full=False` (a sliding-window cache of about window + ubatch
cells instead of n_ctx) that is only true while the window before the divergence point is still in the
cache: every Harmony turn rewinds (the previous turn's reasoning is dropped from the prompt), and after
a long answer the sliding-window layers no longer hold the positions before the rewind point. Reusing
anyway computes with a hole in the window (measured on the tiny model: logits off by 12 to 66 times the
numerical noise; llama-cpp-python's own prefix reuse does exactly that).

So, like llama-server, this keeps checkpoints: right after each prompt is evaluated, the sliding-window
part of the cache is copied out (`llama_state_seq_get_data_ext` with `LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY`;
about 18 MiB for gpt-oss-20b). On a rewind the tail is removed (`llama_memory_seq_rm`); if
`llama_memory_seq_pos_min` shows the window before the divergence point is gone, the checkpoint that
keeps the most of the prompt is restored (`llama_state_seq_set_data_ext`), its own tail beyond the
divergence point removed, and evaluation resumes there; with no checkpoint that fits, the prompt is
evaluated from scratch. A checkpoint holds exactly the window of its last position, so it also serves a
rewind to that position: regenerating an answer evaluates one token, not the whole prompt.

The window rule is llama.cpp's own (a key is masked when query position - key position >= n_swa), so a
token at position p needs positions p - n_swa + 1 .. p - 1; tests compare logits after reuse with a fresh
evaluation to hold this to account.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

from llama_cpp import llama_cpp as llama_c

_SEQ = 0  # the worker runs one sequence
_PARTIAL = llama_c.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
MAX_CHECKPOINTS = 4


@dataclass
class Checkpoint:
    """The sliding-window cache right after position `pos_max` was evaluated; it holds positions
    `pos_min`..`pos_max`. `valid` counts the leading positions whose tokens the cache still agrees on."""

    pos_min: int
    pos_max: int
    data: ctypes.Array
    valid: int


@dataclass(frozen=True)
class Reuse:
    """What `PrefixCache.prepare` did: `n_past` prompt tokens are in the cache and need no evaluation."""

    n_past: int
    common_prefix: int  # tokens the prompt shares with the cache before any window repair
    restored_checkpoint: int | None = None  # pos_max of the checkpoint restored, if one was
    from_scratch: bool = False  # the cache was cleared: no usable prefix


class PrefixCache:
    """The token ids the KV cache of one context holds, position by position, and its checkpoints."""

    def __init__(self, ctx: llama_c.llama_context_p, memory: llama_c.llama_memory_t, n_swa: int,
                 swa_full: bool, use_checkpoints: bool = True) -> None:
        self._ctx = ctx
        self._memory = memory
        self._n_swa = n_swa
        # Only a pruned sliding-window cache loses positions that a rewind needs back.
        self.partial_window = n_swa > 0 and not swa_full
        self.use_checkpoints = use_checkpoints  # off only to show, in tests, what goes wrong without them
        self.tokens: list[int] = []
        self.checkpoints: list[Checkpoint] = []

    def prepare(self, prompt: list[int]) -> Reuse:
        """Make the cache hold the longest usable prefix of `prompt`, leaving at least one token to
        evaluate (sampling needs the logits of the prompt's last position)."""
        common = 0
        for cached, wanted in zip(self.tokens, prompt, strict=False):
            if cached != wanted:
                break
            common += 1
        n_past = min(common, len(prompt) - 1)
        if n_past <= 0:
            had_tokens = bool(self.tokens)
            self.clear()
            return Reuse(0, common, from_scratch=had_tokens)
        if n_past < len(self.tokens):
            if not llama_c.llama_memory_seq_rm(self._memory, _SEQ, n_past, -1):
                self.clear()
                return Reuse(0, common, from_scratch=True)
            self._truncate(n_past)
        if not self.partial_window or not self.use_checkpoints or self._window_intact(n_past):
            return Reuse(n_past, common)
        restored = self._restore_checkpoint(n_past)
        if restored is None:
            self.clear()
            return Reuse(0, common, from_scratch=True)
        checkpoint, resume = restored
        return Reuse(resume, common, restored_checkpoint=checkpoint.pos_max)

    def appended(self, tokens: list[int]) -> None:
        """Record tokens that a decode just put into the cache, after the ones already there."""
        self.tokens.extend(tokens)

    def take_checkpoint(self) -> None:
        """Copy out the sliding-window cache as it is now (call right after a prompt is evaluated)."""
        if not (self.partial_window and self.use_checkpoints and self.tokens):
            return
        pos_max = len(self.tokens) - 1
        if self.checkpoints and self.checkpoints[-1].pos_max == pos_max:
            return
        size = llama_c.llama_state_seq_get_size_ext(self._ctx, _SEQ, _PARTIAL)
        data = (ctypes.c_uint8 * size)()
        if llama_c.llama_state_seq_get_data_ext(self._ctx, data, size, _SEQ, _PARTIAL) != size:
            return  # a checkpoint we could not take is one we do without
        pos_min = llama_c.llama_memory_seq_pos_min(self._memory, _SEQ)
        self.checkpoints.append(Checkpoint(pos_min=pos_min, pos_max=pos_max, data=data, valid=pos_max + 1))
        del self.checkpoints[:-MAX_CHECKPOINTS]

    def resync(self) -> None:
        """After a failed or aborted decode, believe llama.cpp about what the cache still holds (an
        aborted decode drops the positions of the batch it was working on)."""
        pos_max = llama_c.llama_memory_seq_pos_max(self._memory, _SEQ)
        if pos_max < 0:
            self.clear()
        elif pos_max + 1 < len(self.tokens):
            self._truncate(pos_max + 1)

    def clear(self) -> None:
        llama_c.llama_memory_clear(self._memory, True)
        self.tokens.clear()
        self.checkpoints.clear()

    def _oldest_needed(self, position: int) -> int:
        """The oldest position a token at `position` attends to in a sliding-window layer (llama.cpp
        masks a key when query - key >= n_swa)."""
        return max(0, position - self._n_swa + 1)

    def _window_intact(self, n_past: int) -> bool:
        pos_min = llama_c.llama_memory_seq_pos_min(self._memory, _SEQ)
        return 0 <= pos_min <= self._oldest_needed(n_past)

    def _resume_point(self, checkpoint: Checkpoint, n_past: int) -> int:
        """How many prompt tokens can be kept by restoring `checkpoint` (0: none)."""
        resume = min(n_past, checkpoint.pos_max + 1, checkpoint.valid)
        return resume if resume > 0 and checkpoint.pos_min <= self._oldest_needed(resume) else 0

    def _restore_checkpoint(self, n_past: int) -> tuple[Checkpoint, int] | None:
        best, resume = None, 0
        for checkpoint in self.checkpoints:
            point = self._resume_point(checkpoint, n_past)
            if point >= resume and point > 0:
                best, resume = checkpoint, point
        if best is None:
            return None
        size = len(best.data)
        if not llama_c.llama_memory_seq_rm(self._memory, _SEQ, resume, -1):
            return None
        if llama_c.llama_state_seq_set_data_ext(self._ctx, best.data, size, _SEQ, _PARTIAL) != size:
            return None
        # the checkpoint may reach past the resume point: drop its tail
        if not llama_c.llama_memory_seq_rm(self._memory, _SEQ, resume, -1):
            return None
        self._truncate(resume)
        if not self._window_intact(resume):
            return None
        return best, resume

    def _truncate(self, length: int) -> None:
        del self.tokens[length:]
        kept = []
        for checkpoint in self.checkpoints:
            checkpoint.valid = min(checkpoint.valid, length)
            if self._resume_point(checkpoint, length) > 0:
                kept.append(checkpoint)
        self.checkpoints = kept
