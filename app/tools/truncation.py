"""Fitting tool output into the character budget the model's context can take.

Output is cut in the middle: the head says what the code started doing and the tail holds the end of a
traceback or the final result, which matter most. A marker says how much was left out, so the model
knows the text is incomplete. `StreamingTruncator` does the same on a stream without ever holding more
than about twice the budget, so a `while True: print(...)` cannot fill the app's memory.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass


@dataclass(frozen=True)
class Fitted:
    """Text cut to a budget. `total_chars` is the length before cutting."""

    text: str
    truncated: bool
    total_chars: int


def omission_marker(omitted: int) -> str:
    return f"\n[… {omitted:,} characters omitted …]\n"


def _split_budget(budget: int) -> tuple[int, int]:
    # The marker is not counted: the budget is about context size, and the marker is a few tokens.
    head = budget // 2
    return head, budget - head


def truncate_middle(text: str, budget: int) -> Fitted:
    """Keep the first and last `budget // 2` characters of `text`, with a marker between them."""
    if budget < 2:
        raise ValueError(f"an output budget must be at least 2 characters, not {budget}")
    if len(text) <= budget:
        return Fitted(text, False, len(text))
    head, tail = _split_budget(budget)
    omitted = len(text) - head - tail
    return Fitted(text[:head] + omission_marker(omitted) + text[-tail:], True, len(text))


class StreamingTruncator:
    """Collects a byte stream (UTF-8, decoded leniently) into a head and a bounded tail."""

    def __init__(self, budget: int) -> None:
        if budget < 2:
            raise ValueError(f"an output budget must be at least 2 characters, not {budget}")
        self._head_size, self._tail_size = _split_budget(budget)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self._total = 0

    def feed(self, data: bytes, final: bool = False) -> str:
        """Add raw bytes; returns the newly decoded text (for live display)."""
        text = self._decoder.decode(data, final)
        self._total += len(text)
        room = self._head_size - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += min(room, len(text))
            text_for_tail = text[room:]
        else:
            text_for_tail = text
        if text_for_tail:
            # Trim only when the tail has grown well past its size, so long streams cost O(n) overall.
            self._tail += text_for_tail
            if len(self._tail) > 2 * self._tail_size:
                self._tail = self._tail[-self._tail_size:]
        return text

    def result(self) -> Fitted:
        """What was collected, cut to the budget (call after the last `feed`)."""
        self.feed(b"", final=True)
        head = "".join(self._head)
        tail = self._tail[-self._tail_size:] if self._tail_size else ""
        omitted = self._total - len(head) - len(tail)
        if omitted <= 0:
            return Fitted(head + self._tail, False, self._total)
        return Fitted(head + omission_marker(omitted) + tail, True, self._total)
