"""The streaming parser: model output, one token at a time, into messages and UI events.

States follow openai-harmony's `StreamableParser`: expect `<|start|>`, read a header up to `<|message|>`,
then stream content until `<|end|>`, `<|return|>`, `<|call|>` or end of text. Content is decoded
incrementally: an incomplete UTF-8 character is held back until its last byte arrives and invalid bytes
become U+FFFD, with nothing carried over into the next message. Feeding is cheap: a dict lookup and an
incremental decode per content token, never a re-scan of what came before.

Non-strict mode (the default) never raises and loses no text, whatever the model writes (SPEC section 9):
a header cut short by an end token becomes content; `<|channel|>` or `<|message|>` without `<|start|>`
opens an implicit assistant message, and so does stray text; `<|start|>` or `<|channel|>` inside a
message closes it; stray end tokens, `<|startoftext|>` and reserved tokens are dropped. Strict mode raises
`HarmonyParseError` on all of these, for tests.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.harmony.errors import HarmonyError, HarmonyParseError
from app.harmony.header import Header, parse_header, salvage_header
from app.harmony.messages import ASSISTANT, ROLES, Message
from app.harmony.segments import (
    CALL,
    CHANNEL,
    CONSTRAIN,
    END,
    END_OF_TEXT,
    MESSAGE,
    RETURN,
    START,
)

# Without these a vocabulary cannot carry Harmony at all.
REQUIRED_SPECIALS: tuple[str, ...] = (START, END, MESSAGE, CHANNEL, CONSTRAIN, RETURN, CALL)
# Tokens that end a message's content (openai-harmony's stop_tokens(), plus end of text).
MESSAGE_END_TOKENS: frozenset[str] = frozenset({END, RETURN, CALL, END_OF_TEXT})

_EXPECT_START, _HEADER, _CONTENT = "expect_start", "header", "content"


@dataclass(frozen=True, slots=True)
class MessageStarted:
    """A message's header is complete. `header_text` is the header as received (specials literal)."""

    index: int
    role: str
    name: str | None
    channel: str | None
    recipient: str | None
    content_type: str | None
    header_text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    """More content of message `index`."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class MessageEnded:
    """Message `index` is complete. `terminator` is the special that ended it (`<|end|>`, `<|return|>`,
    `<|call|>`, `<|endoftext|>`, or `<|start|>`/`<|channel|>` for a message cut short by the next one),
    or None when `finish()` ended it."""

    index: int
    message: Message
    terminator: str | None


ParseEvent = MessageStarted | TextDelta | MessageEnded


class HarmonyParser:
    """The parser's state machine over text and specials named by their text; see `StreamParser` for
    token ids and `TextStreamParser` for text with the specials written literally."""

    def __init__(self, role: str | None = ASSISTANT, *, strict: bool = False) -> None:
        if role is not None and role not in ROLES:
            raise HarmonyError(f"unknown role {role!r}: use one of {', '.join(ROLES)}, or None")
        self.strict = strict
        self._messages: list[Message] = []
        self._index = 0
        # The prompt ends in `<|start|>{role}`, so output begins inside that message's header.
        self._state = _HEADER if role is not None else _EXPECT_START
        self._role = role
        self._header_parts: list[str] = []
        self._header: Header | None = None
        self._content_parts: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._decode = self._decoder.decode

    @property
    def messages(self) -> list[Message]:
        """The completed messages so far."""
        return list(self._messages)

    @property
    def state(self) -> str:
        """`expect_start`, `header` or `content`."""
        return self._state

    @property
    def current_header(self) -> Header | None:
        """The header of the message being streamed, if its `<|message|>` has arrived."""
        return self._header if self._state == _CONTENT else None

    @property
    def current_content(self) -> str:
        """The content of the message being streamed so far."""
        return "".join(self._content_parts) if self._state == _CONTENT else ""

    def feed_text(self, text: str) -> list[ParseEvent]:
        """Ordinary text (never a special token, whatever it spells)."""
        events = self._flush_bytes()
        if text:
            events += self._on_text(text)
        return events

    def feed_special(self, token: str) -> list[ParseEvent]:
        """A special token by its text, e.g. `<|end|>`; one this parser does not use is dropped."""
        events = self._flush_bytes()
        events += self._on_special(token)
        return events

    def finish(self) -> list[ParseEvent]:
        """The stream is over: flush held-back bytes and close an open message."""
        events = self._flush_bytes()
        if self._state == _CONTENT:
            events += self._end_message(None)
        elif self._state == _HEADER and self._header_parts:
            if self.strict:
                raise HarmonyParseError("Unexpected EOS while waiting for message header to complete")
            events += self._salvage(None)
        self._state, self._role, self._header_parts = _EXPECT_START, None, []
        return events

    # -- text and specials ------------------------------------------------------------------------

    def _flush_bytes(self) -> list[ParseEvent]:
        tail = self._decode(b"", True)
        return self._on_text(tail) if tail else []

    def _on_text(self, text: str) -> list[ParseEvent]:
        if self._state == _CONTENT:
            self._content_parts.append(text)
            return [TextDelta(self._index, text)]
        if self._state == _HEADER:
            self._header_parts.append(text)
            return []
        if self.strict:
            raise HarmonyParseError(f"Unexpected text {text[:40]!r} while expecting start token {START}")
        # Stray text between messages: keep it, as an assistant message without a header.
        return self._start_message(Header(ASSISTANT), "") + self._on_text(text)

    def _on_special(self, token: str) -> list[ParseEvent]:
        state = self._state
        if token == START:
            return self._interrupt(token) + self._open_header(None)
        if token == MESSAGE:
            if state == _HEADER:
                text = "".join(self._header_parts)
                return self._start_message(parse_header(text, self._role, strict=self.strict), text)
            if state == _EXPECT_START and not self.strict:
                return self._start_message(Header(ASSISTANT), "")
            return self._unexpected(token)
        if token in (CHANNEL, CONSTRAIN):
            if state == _HEADER:
                self._header_parts.append(token)
                return []
            if token == CHANNEL and not self.strict:
                # A header without <|start|> (also in the middle of a message: it ends that message).
                events = self._interrupt(token)
                self._open_header(ASSISTANT)
                self._header_parts.append(token)
                return events
            return self._unexpected(token)
        if token in MESSAGE_END_TOKENS:
            if state == _CONTENT:
                return self._end_message(token)
            if state == _HEADER:
                if self.strict:
                    if token == END_OF_TEXT:
                        raise HarmonyParseError("Unexpected EOS while waiting for message header to complete")
                    raise HarmonyParseError(
                        f"unexpected tokens remaining in message header: {''.join(self._header_parts)!r} "
                        f"ended with {token} before {MESSAGE}")
                if not self._header_parts:
                    self._state, self._role = _EXPECT_START, None
                    return []
                return self._salvage(token)
            if token == END_OF_TEXT:
                return []
            return self._unexpected(token)
        return self._unexpected(token)  # <|startoftext|>, reserved tokens

    def _unexpected(self, token: str) -> list[ParseEvent]:
        if self.strict:
            where = {_EXPECT_START: "while expecting start token " + START, _HEADER: "in a message header",
                     _CONTENT: "in a message's content"}[self._state]
            raise HarmonyParseError(f"Unexpected token {token} {where}")
        return []

    def _interrupt(self, token: str) -> list[ParseEvent]:
        """Close whatever is open because `token` begins a new message."""
        if self._state == _CONTENT:
            if self.strict:
                raise HarmonyParseError(f"{token} inside a message's content: the message was never ended")
            return self._end_message(token)
        if self._state == _HEADER and self._header_parts:
            if self.strict:
                header_text = "".join(self._header_parts)
                raise HarmonyParseError(f"{token} inside a message header: {header_text!r} has no {MESSAGE}")
            return self._salvage(token)
        return []

    def _open_header(self, role: str | None) -> list[ParseEvent]:
        self._state, self._role, self._header_parts = _HEADER, role, []
        return []

    # -- messages ---------------------------------------------------------------------------------

    def _start_message(self, header: Header, header_text: str) -> list[ParseEvent]:
        self._state, self._header, self._content_parts, self._header_parts = _CONTENT, header, [], []
        return [MessageStarted(self._index, header.role, header.name, header.channel, header.recipient,
                               header.content_type, header_text)]

    def _end_message(self, terminator: str | None) -> list[ParseEvent]:
        header = self._header
        assert header is not None
        message = Message(header.role, "".join(self._content_parts), name=header.name, channel=header.channel,
                          recipient=header.recipient, content_type=header.content_type)
        self._messages.append(message)
        event = MessageEnded(self._index, message, terminator)
        self._index += 1
        self._state, self._role, self._header, self._content_parts = _EXPECT_START, None, None, []
        return [event]

    def _salvage(self, terminator: str | None) -> list[ParseEvent]:
        """A header that ended before `<|message|>` becomes a message with the header text as content."""
        text = "".join(self._header_parts)
        header, content = salvage_header(text, self._role)
        events = self._start_message(header, text)
        if content:
            events += self._on_text(content)
        return events + self._end_message(terminator)


class StreamParser(HarmonyParser):
    """Parses generated tokens: `feed(token_id, piece)` for each, then `finish()`.

    `special_ids` maps special-token text to its id in the loaded model's vocabulary (looked up by the
    caller, never hard-coded); any further names in it (e.g. `<|reserved_200013|>`) are tokens to drop.
    `piece` is the token's raw bytes; a UTF-8 character may be split across tokens.
    """

    def __init__(self, special_ids: Mapping[str, int], role: str | None = ASSISTANT, *,
                 strict: bool = False) -> None:
        super().__init__(role, strict=strict)
        missing = [name for name in REQUIRED_SPECIALS if name not in special_ids]
        if missing:
            raise HarmonyError(
                f"the model's vocabulary has no {', '.join(missing)} token: it does not speak Harmony "
                "(is this a gpt-oss model?)")
        self._special_by_id: dict[int, str] = {}
        for name, token_id in special_ids.items():
            if not isinstance(token_id, int) or isinstance(token_id, bool):
                raise HarmonyError(f"the id of {name} must be an integer, not {token_id!r}")
            if token_id in self._special_by_id:
                raise HarmonyError(f"{name} and {self._special_by_id[token_id]} have the same id {token_id}")
            self._special_by_id[token_id] = name

    def feed(self, token_id: int, piece: bytes) -> list[ParseEvent]:
        """One generated token; returns the events it completes (often one TextDelta, often none)."""
        special = self._special_by_id.get(token_id)
        if special is None:
            text = self._decode(piece)
            if not text:
                return []
            if self._state == _CONTENT:
                self._content_parts.append(text)
                return [TextDelta(self._index, text)]
            return self._on_text(text)
        return self.feed_special(special)

    def feed_all(self, tokens: Iterable[tuple[int, bytes]]) -> list[ParseEvent]:
        """Every token of a finished generation, then `finish()`."""
        events: list[ParseEvent] = []
        for token_id, piece in tokens:
            events += self.feed(token_id, piece)
        return events + self.finish()

