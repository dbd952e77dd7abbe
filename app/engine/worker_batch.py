"""The token batch handed to `llama_decode`, filled without a Python loop per token.

llama-cpp-python's batch wrapper sets five C fields per token in Python, which costs a quarter of a
second on a 50,000-token prompt. Here the per-token fields that never change in this worker (one
sequence, id 0) are set once, and token ids, positions and the logits flags are written through numpy
views of the C arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from llama_cpp import llama_cpp as llama_c


class TokenBatch:
    """A `llama_batch` of up to `capacity` tokens of sequence 0; logits only for the last token."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.batch = llama_c.llama_batch_init(capacity, 0, 1)
        self._tokens = np.ctypeslib.as_array(self.batch.token, shape=(capacity,))
        self._positions = np.ctypeslib.as_array(self.batch.pos, shape=(capacity,))
        self._logits = np.ctypeslib.as_array(self.batch.logits, shape=(capacity,))
        np.ctypeslib.as_array(self.batch.n_seq_id, shape=(capacity,))[:] = 1
        for i in range(capacity):
            self.batch.seq_id[i][0] = 0
        self._closed = False

    def fill(self, tokens: Sequence[int], first_position: int) -> None:
        count = len(tokens)
        if count == 1:  # the generation loop: plain ctypes stores beat numpy's call overhead
            self.batch.token[0] = tokens[0]
            self.batch.pos[0] = first_position
            self.batch.logits[0] = 1
        else:
            self._tokens[:count] = tokens
            self._positions[:count] = np.arange(first_position, first_position + count, dtype=np.int32)
            self._logits[:count] = 0
            self._logits[count - 1] = 1
        self.batch.n_tokens = count

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            llama_c.llama_batch_free(self.batch)
