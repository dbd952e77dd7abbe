"""Conversation titles: the automatic one made from the first user message, and checking a new name.

The automatic title needs no model call: the first line of the message with Markdown decoration and
extra spaces removed, cut at a word boundary. A renamed title is the user's and is never replaced.
"""

from __future__ import annotations

import re

from app.store.errors import InvalidInput

AUTO_TITLE_CHARS = 60
MAX_TITLE_CHARS = 200

_LEADING_MARKUP = re.compile(r"^(?:[#>*+\-]+|\d+[.)])\s+")
# Paired emphasis or code marks around text, not touching a letter outside: "**bold**" loses its stars,
# "2**10" and "snake_case" keep theirs.
_INLINE_MARKUP = re.compile(r"(?<![\w*_~`])(\*\*|__|~~|\*|_|`)(?=\S)(.+?)(?<=\S)\1(?![\w*_~`])")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SPACES = re.compile(r"\s+")


def auto_title(text: str, limit: int = AUTO_TITLE_CHARS) -> str | None:
    """A short title from a message's text, or None if it has nothing to make one from."""
    for line in text.splitlines():
        line = _LINK.sub(r"\1", line)
        line = _LEADING_MARKUP.sub("", line.strip())
        line = _SPACES.sub(" ", _INLINE_MARKUP.sub(r"\2", line)).strip()
        if line:
            return _shorten(line, limit)
    return None


def _shorten(line: str, limit: int) -> str:
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    # Prefer ending on a whole word unless that throws away most of the line (one very long word).
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def checked_title(title: str) -> str:
    """A title the user typed, with its whitespace tidied; raises InvalidInput if it is unusable."""
    if not isinstance(title, str):
        raise InvalidInput(f"A title must be text, not {type(title).__name__}.")
    tidy = _SPACES.sub(" ", title).strip()
    if not tidy:
        raise InvalidInput("A title cannot be empty; type at least one character.")
    if len(tidy) > MAX_TITLE_CHARS:
        raise InvalidInput(
            f"A title can be at most {MAX_TITLE_CHARS} characters; this one has {len(tidy)}. Shorten it.")
    return tidy
