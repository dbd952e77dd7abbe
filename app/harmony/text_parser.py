"""The text-level front end: Harmony text with the special tokens written literally.

For the CLI, golden files and remote engines that stream raw completion text. A literal `<|start|>` (or
any special this package names, or `<|reserved_N|>`, which is dropped) counts as the special token; all
other text is content. Chunks may split a special anywhere (`<|cha` + `nnel|>`): the possible beginning
of one is held back until the next chunk decides it, so the result never depends on the chunking.
"""

from __future__ import annotations

import re

from app.harmony.messages import ASSISTANT, Message
from app.harmony.parser import HarmonyParser, ParseEvent
from app.harmony.segments import SPECIAL_TOKENS, Segment, Special, Text

_RESERVED = r"<\|reserved_\d{1,9}\|>"
_SPECIAL = re.compile("|".join(re.escape(token) for token in SPECIAL_TOKENS) + "|" + _RESERVED)
_RESERVED_PREFIX = "<|reserved_"
_PARTIAL_RESERVED = re.compile(r"<\|reserved_\d{1,9}\|?")
# A held-back tail is never longer than the longest special (a reserved token with nine digits).
_HOLD_BACK = len("<|reserved_123456789|>")


class TextStreamParser(HarmonyParser):
    """Parses Harmony text chunk by chunk: `feed(chunk)` for each, then `finish()`."""

    def __init__(self, role: str | None = ASSISTANT, *, strict: bool = False) -> None:
        super().__init__(role, strict=strict)
        self._pending = ""

    def feed(self, chunk: str) -> list[ParseEvent]:
        text = self._pending + chunk
        events: list[ParseEvent] = []
        position = 0
        for match in _SPECIAL.finditer(text):
            if match.start() > position:
                events += self.feed_text(text[position:match.start()])
            events += self.feed_special(match.group())
            position = match.end()
        held = _partial_special_start(text, position)
        if held > position:
            events += self.feed_text(text[position:held])
        self._pending = text[held:]
        return events

    def finish(self) -> list[ParseEvent]:
        events = self.feed_text(self._pending) if self._pending else []
        self._pending = ""
        return events + super().finish()


def parse_text(text: str, role: str | None = ASSISTANT, *, strict: bool = False) -> list[Message]:
    """Every message in `text`; `role` is the role known from the prompt (None: it starts at `<|start|>`)."""
    parser = TextStreamParser(role, strict=strict)
    parser.feed(text)
    parser.finish()
    return parser.messages


def split_specials(text: str) -> list[Segment]:
    """`text` as segments: each literal special a `Special`, the rest `Text` (reserved tokens dropped)."""
    segments: list[Segment] = []
    position = 0
    for match in _SPECIAL.finditer(text):
        if match.start() > position:
            segments.append(Text(text[position:match.start()]))
        if match.group() in SPECIAL_TOKENS:
            segments.append(Special(match.group()))
        position = match.end()
    if position < len(text):
        segments.append(Text(text[position:]))
    return segments


def _partial_special_start(text: str, position: int) -> int:
    """Where a tail of `text[position:]` that may grow into a special begins (len(text) if none)."""
    window = max(position, len(text) - _HOLD_BACK)
    start = text.find("<", window)
    while start >= 0:
        tail = text[start:]
        if any(token.startswith(tail) for token in SPECIAL_TOKENS) or _RESERVED_PREFIX.startswith(tail) \
                or _PARTIAL_RESERVED.fullmatch(tail):
            return start
        start = text.find("<", start + 1)
    return len(text)
