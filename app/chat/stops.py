"""Stop sequences: an answer ends before the first of the strings the caller named (OpenAI's `stop`).

`StopWatch` reads an answer's text as it streams and passes on what can no longer be the start of a stop
string; when one appears, everything from it on is dropped and `hit` is set, so the caller ends the
generation. What is held back is at most the longest stop string less one character.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_STOPS = 4  # OpenAI's limit, kept so that a request means the same here as there


class StopWatch:
    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.hit = False
        self.text = ""  # everything passed on so far

    def feed(self, text: str) -> str:
        """The part of `text` (with what was held) that is safe to show now; "" after a hit."""
        if self.hit:
            return ""
        pending = self._held + text
        # The stop string completed first ends the answer, as a model streaming token by token meets it.
        found = [(at + len(stop), at) for stop in self._stops if (at := pending.find(stop)) != -1]
        if found:
            self.hit = True
            self._held = ""
            return self._pass(pending[:min(found)[1]])
        keep = self._partial_tail(pending)
        self._held = pending[len(pending) - keep:] if keep else ""
        return self._pass(pending[:len(pending) - keep])

    def flush(self) -> str:
        """What was held back, at the end of the answer (no stop string came)."""
        held, self._held = self._held, ""
        return self._pass(held)

    def _partial_tail(self, text: str) -> int:
        """The length of the longest end of `text` that begins some stop string."""
        longest = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), longest, -1):
                if stop.startswith(text[-size:]):
                    longest = size
                    break
        return longest

    def _pass(self, text: str) -> str:
        self.text += text
        return text
