"""Reading a message header: `assistant to=functions.x<|channel|>commentary <|constrain|>json`.

The header is everything between `<|start|>` (or the prompt's `<|start|>assistant`) and `<|message|>`,
with specials written literally. Strict mode follows openai-harmony and raises on anything it cannot
place. Non-strict mode applies the hardening rules of SPEC section 9, each seen in real gpt-oss output:
the recipient comes only from `to=` (before or after the channel) and a bare word is a content type;
names are cut at the first `<|`; of several `<|channel|>` values the last known one wins, with a trailing
`?` stripped and an unknown value read as `analysis` (hidden); a missing role word means assistant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.harmony.errors import HarmonyParseError
from app.harmony.messages import ANALYSIS, ASSISTANT, CHANNELS, ROLES, TOOL
from app.harmony.segments import CHANNEL, CONSTRAIN

_CHANNEL_VALUE_END = re.compile(r"[\s<]")
_WORD = re.compile(r"\S+")
_RECIPIENT_PREFIX = "to="


@dataclass(frozen=True, slots=True)
class Header:
    """The parsed header of one message."""

    role: str
    name: str | None = None
    channel: str | None = None
    recipient: str | None = None
    content_type: str | None = None


def parse_header(text: str, role: str | None, *, strict: bool) -> Header:
    """The header of a message whose `<|message|>` arrived; `role` is the role known from the prompt."""
    text, channel = _take_channel(text, strict)
    words = text.replace(CONSTRAIN, " " + CONSTRAIN).split()
    if strict:
        leaked = [w for w in words if "<|" in (w[len(CONSTRAIN):] if w.startswith(CONSTRAIN) else w)]
        if leaked:
            raise HarmonyParseError(f"a special token's text leaked into the message header: {leaked[0]!r}")
    role, name, channel, words = _take_role(words, role, channel, strict=strict, salvaging=False)
    recipient = constrained = None
    bare: list[str] = []
    for word in words:
        if word.startswith(_RECIPIENT_PREFIX):
            if strict and recipient is not None:
                raise HarmonyParseError(f"the message header names two recipients: {text.strip()!r}")
            recipient = cut_name(word[len(_RECIPIENT_PREFIX):]) or None
        elif word.startswith(CONSTRAIN):
            if strict and constrained is not None:
                raise HarmonyParseError(f"the message header has two <|constrain|> types: {text.strip()!r}")
            constrained = CONSTRAIN + cut_name(word[len(CONSTRAIN):])
        else:
            word = cut_name(word)
            if not strict and channel is None and word.rstrip("?") in CHANNELS:
                channel = word.rstrip("?")  # the model left out <|channel|> before a channel name
            elif word:
                bare.append(word)
    if strict and (len(bare) > 1 or (bare and constrained)):
        raise HarmonyParseError(f"unexpected tokens remaining in message header: {' '.join(bare)!r}")
    # Several bare words are a garbled header, not a content type; the raw header stays in the event.
    content_type = constrained or (bare[0] if len(bare) == 1 else None)
    return Header(role, name, channel, recipient, content_type)


def salvage_header(text: str, role: str | None) -> tuple[Header, str]:
    """A header that never reached `<|message|>` (non-strict): its header words, and the rest as content.

    openai-harmony's non-strict mode does this for `I must refuse<|end|>` and
    `<|channel|>commentary Hello<|end|>`; here it works after any `<|start|>` too, and leading `to=` and
    `<|constrain|>` words still count as header so a tool call without `<|message|>` keeps its recipient.
    """
    text, channel = _take_channel(text.replace(CONSTRAIN, " " + CONSTRAIN), strict=False)
    spans = [(m.group(), m.start()) for m in _WORD.finditer(text)]
    words = [word for word, _ in spans]
    role, name, channel, rest = _take_role(words, role, channel, strict=False, salvaging=True)
    recipient = content_type = None
    while rest and (rest[0].startswith(_RECIPIENT_PREFIX) or rest[0].startswith(CONSTRAIN)):
        word = rest.pop(0)
        if word.startswith(_RECIPIENT_PREFIX):
            recipient = cut_name(word[len(_RECIPIENT_PREFIX):]) or None
        else:
            content_type = CONSTRAIN + cut_name(word[len(CONSTRAIN):])
    content = text[spans[len(words) - len(rest)][1]:] if rest else ""
    return Header(role, name, channel, recipient, content_type), content


def cut_name(name: str) -> str:
    """A name up to the first `<|`: `manage_cart<|channel|>commentary` is `manage_cart`."""
    cut = name.find("<|")
    return name if cut < 0 else name[:cut]


def split_role(word: str) -> tuple[str, str | None] | None:
    """`user` -> (user, None); `user:alice` -> (user, alice); not a role -> None."""
    role, _, name = word.partition(":")
    if role in ROLES and role != TOOL:
        return role, (name or None)
    return None


def _take_channel(text: str, strict: bool) -> tuple[str, str | None]:
    """The header without its `<|channel|>X` parts, and the channel they name."""
    values = []
    pieces = []
    position = 0
    while (marker := text.find(CHANNEL, position)) >= 0:
        pieces.append(text[position:marker])
        start = marker + len(CHANNEL)
        end_match = _CHANNEL_VALUE_END.search(text, start)
        end = end_match.start() if end_match else len(text)
        values.append(text[start:end])
        pieces.append(" ")
        position = end
    pieces.append(text[position:])
    text = "".join(pieces)
    if not values:
        return text, None
    if strict:
        if len(values) > 1:
            raise HarmonyParseError(f"the message header has {len(values)} <|channel|> markers")
        if not values[0]:
            raise HarmonyParseError("channel marker present but no channel value found in header")
        return text, values[0]
    known = [value.rstrip("?") for value in values if value.rstrip("?") in CHANNELS]
    return text, (known[-1] if known else ANALYSIS)


def _take_role(
    words: list[str], role: str | None, channel: str | None, *, strict: bool, salvaging: bool
) -> tuple[str, str | None, str | None, list[str]]:
    """The author (role and name) and the words left after the role word."""
    words = list(words)
    if role is not None:
        known = split_role(cut_name(words[0])) if words else None
        if known is not None and known[0] == role:
            words.pop(0)
            return role, known[1], channel, words
        return role, None, channel, words
    if not words:
        if strict:
            raise HarmonyParseError("message header did not contain a role")
        return ASSISTANT, None, channel, words
    first = cut_name(words[0])
    known = split_role(first)
    if known is not None:
        words.pop(0)
        return known[0], known[1], channel, words
    if strict:
        # The library reads an unknown first word as a tool's name when more follows.
        if first and len(words) > 1 and not first.startswith(_RECIPIENT_PREFIX):
            words.pop(0)
            return TOOL, first, channel, words
        if not first:
            raise HarmonyParseError("message header did not contain a role")
        raise HarmonyParseError(f"Unknown role: {first}")
    if first.rstrip("?") in CHANNELS:
        # `<|start|>final<|message|>`: the model wrote the channel where the role goes.
        words.pop(0)
        return ASSISTANT, None, channel or first.rstrip("?"), words
    if not first or first.startswith(_RECIPIENT_PREFIX) or first.startswith(CONSTRAIN) or salvaging:
        # No role word at all (or, without <|message|>, free text): the model only writes assistant messages.
        return ASSISTANT, None, channel, words
    words.pop(0)
    return TOOL, first, channel, words
