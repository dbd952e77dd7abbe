"""Prompt segments: what the renderer hands the engine.

A rendered prompt is a list of `Text` pieces and `Special` markers. The engine tokenizes `Text` as
plain text (breaking up any special-token literal inside it) and inserts each `Special` by the id it
looks up in the loaded model's vocabulary, so text a user typed can never become a special token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The Harmony special tokens by their text. Ids are never hard-coded: the engine looks these up in
# the loaded vocabulary (the test models put them at other ids than the real gpt-oss on purpose).
START = "<|start|>"
END = "<|end|>"
MESSAGE = "<|message|>"
CHANNEL = "<|channel|>"
CONSTRAIN = "<|constrain|>"
RETURN = "<|return|>"
CALL = "<|call|>"
START_OF_TEXT = "<|startoftext|>"
END_OF_TEXT = "<|endoftext|>"

SPECIAL_TOKENS: tuple[str, ...] = (
    START_OF_TEXT, END_OF_TEXT, RETURN, CONSTRAIN, CHANNEL, START, END, MESSAGE, CALL,
)
# Sampling stops on these (never on <|end|>: one turn spans analysis -> final).
STOP_TOKENS: tuple[str, ...] = (RETURN, CALL)


@dataclass(frozen=True, slots=True)
class Text:
    """Ordinary text, tokenized without special-token parsing."""

    text: str


@dataclass(frozen=True, slots=True)
class Special:
    """A special token, named by its text (e.g. "<|start|>")."""

    token: str


Segment = Text | Special


def segments_to_text(segments: Iterable[Segment]) -> str:
    """The prompt as text with specials written literally (for display, golden files, remote engines)."""
    return "".join(s.text if isinstance(s, Text) else s.token for s in segments)
