"""One stateless completion: a prompt in, the model's parsed reply out, streamed as it forms.

The render → generate → parse path that the turn loop, `ossian chat` and the API server share. A
`CompletionRequest` is Harmony messages plus the prompt settings (system message with the reasoning
effort and date, developer message with instructions and function tools) and the sampling; `complete()`
starts it on an `Engine` and returns a `Completion` at once. Iterate it for Harmony parse events as the
tokens arrive (`MessageStarted`, `TextDelta`, `MessageEnded`), or call `result()` to wait; either way the
end is a `CompletionResult`: the messages, the answer and the reasoning as text, the tool calls, why it
stopped (OpenAI's `finish_reason` words) and the token counts.

Nothing here keeps state between completions or runs a tool: a caller that wants tools runs them and
asks again with their results (the turn loop does; the API leaves that to its client). The parser follows
what the engine streams (`EngineCapabilities.stream`): Harmony's token-level parser for vocabulary ids,
its text-level parser for an engine that streams text.
"""

from __future__ import annotations

import codecs
import datetime
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from app import harmony
from app.chat.prompt import PromptSettings, developer_message, render_for_generation, system_message
from app.chat.stops import StopWatch
from app.engine.interface import (
    Done,
    Engine,
    EngineError,
    GenerateRequest,
    Generation,
    SamplingSettings,
    TokenEvent,
)
from app.harmony.segments import RETURN

FinishReason = Literal["stop", "tool_calls", "length", "cancelled", "error"]
_FUNCTIONS_PREFIX = "functions."


@dataclass(frozen=True)
class CompletionRequest:
    """What to complete: the conversation after the system and developer messages, and how."""

    messages: tuple[harmony.Message, ...]
    settings: PromptSettings = field(default_factory=PromptSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    grammar: str | None = None  # GBNF; may name Harmony specials (tests, structured output)
    stop: tuple[str, ...] = ()  # the answer ends before the first of these (OpenAI's `stop`)

    @property
    def function_names(self) -> frozenset[str]:
        """The function tools the developer message declares (a function really named `python` stays one)."""
        return frozenset(tool.name for namespace in self.settings.developer_tools for tool in namespace.tools)

    def harmony_messages(self) -> list[harmony.Message]:
        head = [system_message(self.settings)]
        developer = developer_message(self.settings)
        if developer is not None:
            head.append(developer)
        return [*head, *self.messages]

    def generate_request(self) -> GenerateRequest:
        messages = self.harmony_messages()
        segments = render_for_generation(messages)
        return GenerateRequest(tuple(segments), self.sampling, self.grammar, conversation=tuple(messages))


def prompt_settings(effort: harmony.ReasoningEffort | str = harmony.ReasoningEffort.MEDIUM, *,
                    instructions: str | None = None,
                    functions: Sequence[harmony.ToolDescription] = (),
                    today: datetime.date | None = None) -> PromptSettings:
    """Settings for a one-off completion: today's date, function tools only (no builtin tool is declared,
    so the model is never invited to call python or the browser)."""
    return PromptSettings(
        reasoning_effort=harmony.ReasoningEffort(effort),
        start_date=today or datetime.date.today(),
        instructions=instructions,
        developer_tools=(harmony.function_tools(tuple(functions)),) if functions else (),
    )


@dataclass(frozen=True)
class ToolCallOut:
    """A tool call the model made: `name` is the tool (`get_weather`, or a builtin such as `python`)."""

    name: str
    recipient: str  # as the model addressed it, e.g. `functions.get_weather`
    arguments: str  # the raw text; `harmony.parse_tool_arguments` reads it
    channel: str | None
    content_type: str | None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of the prompt, reused from the engine's cache
    reasoning_tokens: int = 0  # of the completion, written on the analysis channel

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class CompletionResult:
    """A finished completion. `messages` are the complete ones (a message cut off by a limit, a stop or an
    error is in `partial`); `finish_reason` is `stop`, `tool_calls`, `length`, `cancelled` or `error`."""

    messages: tuple[harmony.Message, ...]
    partial: harmony.Message | None
    finish_reason: FinishReason
    usage: Usage
    done: Done | None = None
    error: EngineError | None = None
    function_names: frozenset[str] = frozenset()

    @property
    def all_messages(self) -> tuple[harmony.Message, ...]:
        return self.messages + ((self.partial,) if self.partial is not None else ())

    @property
    def answer(self) -> str:
        """The `final` channel's text (a cut-off one included)."""
        return "".join(m.text for m in self.all_messages if _kind(m) == harmony.DisplayKind.ANSWER)

    @property
    def preamble(self) -> str:
        """What the model said to the user on `commentary` before its tool calls."""
        return "".join(m.text for m in self.all_messages if _kind(m) == harmony.DisplayKind.PREAMBLE)

    @property
    def reasoning(self) -> str:
        """The chain of thought (`analysis`), messages joined by a blank line."""
        return "\n\n".join(m.text for m in self.all_messages if _kind(m) == harmony.DisplayKind.THINKING)

    @property
    def tool_calls(self) -> tuple[ToolCallOut, ...]:
        """The complete tool calls, in order; a call cut off mid-arguments is not one."""
        return tuple(tool_call_out(m, self.function_names) for m in self.messages if harmony.is_tool_call(m))


def tool_call_out(message: harmony.Message, function_names: frozenset[str] = frozenset()) -> ToolCallOut:
    target = harmony.tool_call_target(message, function_names) or message.recipient or ""
    return ToolCallOut(name=target.removeprefix(_FUNCTIONS_PREFIX), recipient=message.recipient or target,
                       arguments=message.text, channel=message.channel, content_type=message.content_type)


def _kind(message: harmony.Message) -> harmony.DisplayKind:
    return harmony.display_kind(message)


class Completion:
    """A running completion: iterate for parse events, `result()` for the end, `cancel()` from any thread.

    Events come as the engine's tokens do; after the last one `finished` is true and `ended_cleanly` says
    whether a message the parser closes at the very end was complete (the model ended its turn) or cut
    off (a limit, a stop, an error). Iterate once.
    """

    def __init__(self, generation: Generation, feed: Callable[[TokenEvent], list[harmony.ParseEvent]],
                 finish: Callable[[], list[harmony.ParseEvent]],
                 function_names: frozenset[str] = frozenset(), stop: Sequence[str] = ()) -> None:
        self._generation = generation
        self._stops = tuple(stop)
        self._watches: dict[int, StopWatch] = {}  # answer messages read for a stop string, by index
        self._stopped = False  # a stop string ended the answer (the generation was cancelled for it)
        self._feed = feed
        self._finish = finish
        self._function_names = function_names
        self._messages: list[harmony.Message] = []
        self._partial: harmony.Message | None = None
        self._open: dict[int, harmony.MessageStarted] = {}
        self._analysis_open = 0  # how many open messages are on the analysis channel (0 or 1)
        self._tokens = 0
        self._reasoning_tokens = 0
        self._done: Done | None = None
        self._error: EngineError | None = None
        self._finished = False
        self._iterated = False

    # --------------------------------------------------------------------------------- reading

    def __iter__(self) -> Iterator[harmony.ParseEvent]:
        if self._iterated:
            raise RuntimeError("a completion streams once")
        self._iterated = True
        feed, note = self._feed, self._note
        for event in self._generation:
            if isinstance(event, TokenEvent):
                self._tokens += 1
                if self._analysis_open:
                    self._reasoning_tokens += 1
                for parsed in feed(event):
                    for kept in (self._watch(parsed) if self._stops else (parsed,)):
                        note(kept)
                        yield kept
            elif isinstance(event, Done):
                self._done = event
            else:
                self._error = event
        if self._done is None and self._error is None:
            self._error = EngineError("internal", "The engine ended the reply without saying why.")
        self._finished = True
        for parsed in self._finish():
            for kept in (self._watch(parsed) if self._stops else (parsed,)):
                note(kept)
                yield kept

    def _watch(self, event: harmony.ParseEvent) -> list[harmony.ParseEvent]:
        """`event` as the stop strings leave it: the answer up to the first stop string, nothing after."""
        if isinstance(event, harmony.MessageStarted):
            if self._stopped:
                return []
            if event.channel == harmony.FINAL and event.recipient is None:
                self._watches[event.index] = StopWatch(self._stops)
            return [event]
        watch = self._watches.get(event.index)
        if watch is None:
            return [] if self._stopped else [event]
        if isinstance(event, harmony.TextDelta):
            text = watch.feed(event.text)
            if watch.hit and not self._stopped:
                self._stopped = True
                self._generation.cancel()
            return [harmony.TextDelta(event.index, text)] if text else []
        del self._watches[event.index]
        rest = watch.flush()
        ended = event
        if watch.hit or rest:
            ended = harmony.MessageEnded(event.index, replace(event.message, content=watch.text),
                                         event.terminator or (RETURN if watch.hit else None))
        return [*([harmony.TextDelta(event.index, rest)] if rest else []), ended]

    def result(self) -> CompletionResult:
        """Wait for the end (reading whatever events are left) and return what came of it."""
        if not self._iterated:
            for _ in self:
                pass
        elif not self._finished:
            raise RuntimeError("the completion is still being read; call result() after the last event")
        return CompletionResult(
            messages=tuple(self._messages), partial=self._partial, finish_reason=self._finish_reason(),
            usage=self._usage(), done=self._done, error=self._error, function_names=self._function_names)

    def cancel(self) -> None:
        """Ask the engine to stop; the completion then ends with `finish_reason` "cancelled"."""
        self._generation.cancel()

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def ended_cleanly(self) -> bool:
        """Whether the reply ended by itself (`<|return|>`, `<|call|>`, end of generation, a stop string)."""
        return self._stopped or (self._done is not None and self._done.reason in ("return", "call", "eog"))

    @property
    def done(self) -> Done | None:
        return self._done

    @property
    def error(self) -> EngineError | None:
        return self._error

    # -------------------------------------------------------------------------------- bookkeeping

    def _note(self, event: harmony.ParseEvent) -> None:
        if isinstance(event, harmony.MessageStarted):
            self._open[event.index] = event
            if event.channel == harmony.ANALYSIS and event.recipient is None:
                self._analysis_open = 1
        elif isinstance(event, harmony.MessageEnded):
            started = self._open.pop(event.index, None)
            if started is not None and started.channel == harmony.ANALYSIS:
                self._analysis_open = 0
            # A message the parser closes only because the stream ended is complete when the model ended
            # its turn there (a reply that stops at the end of its last message), cut off otherwise.
            if event.terminator is None and not self.ended_cleanly:
                self._partial = event.message
            else:
                self._messages.append(event.message)

    def _finish_reason(self) -> FinishReason:
        if self._error is not None:
            return "error"
        assert self._done is not None
        if self._stopped:
            return "stop"
        if self._done.reason == "cancelled":
            return "cancelled"
        if any(harmony.is_tool_call(m) for m in self._messages):
            return "tool_calls"
        if self._done.reason == "length":
            return "length"
        return "stop"

    def _usage(self) -> Usage:
        done = self._done
        if done is None:
            return Usage(completion_tokens=self._tokens, reasoning_tokens=self._reasoning_tokens)
        return Usage(prompt_tokens=done.prompt_tokens,
                     completion_tokens=done.generated_tokens or self._tokens,
                     cached_tokens=done.reused_tokens, reasoning_tokens=self._reasoning_tokens)


def complete(engine: Engine, request: CompletionRequest | GenerateRequest, *,
             parser: harmony.HarmonyParser | None = None,
             function_names: frozenset[str] | None = None) -> Completion:
    """Start `request` on `engine` (no waiting) and return the running completion.

    A `GenerateRequest` is a prompt the caller rendered itself (the turn loop renders stored messages,
    and continues a cut-off message with a `parser` it has put inside that message); a `CompletionRequest`
    is rendered here. The engine must have a model loaded (its special-token ids set up the parser).
    """
    if isinstance(request, CompletionRequest):
        names = request.function_names if function_names is None else function_names
        generate_request = request.generate_request()
    else:
        names = function_names or frozenset()
        generate_request = request
    if parser is None:
        parser = new_parser(engine)
    feed, finish = _feeder(parser)
    stop = request.stop if isinstance(request, CompletionRequest) else ()
    return Completion(engine.generate(generate_request), feed, finish, names, stop)


def new_parser(engine: Engine) -> harmony.HarmonyParser:
    """The parser for what this engine streams, positioned after a prompt that ends `<|start|>assistant`."""
    if engine.capabilities.stream == "text":
        return harmony.TextStreamParser(role=harmony.ASSISTANT)
    model = engine.model
    # Without a model there are no special ids; the generation will say "not loaded" on its own.
    return harmony.StreamParser(model.special_ids if model is not None else _PLACEHOLDER_IDS,
                                role=harmony.ASSISTANT)


# Only ever used when no model is loaded, so that the engine's own "not loaded" error is what is reported.
_PLACEHOLDER_IDS = {token: -1 - index for index, token in enumerate(harmony.REQUIRED_SPECIALS)}


_Feed = Callable[[TokenEvent], list[harmony.ParseEvent]]
_Finish = Callable[[], list[harmony.ParseEvent]]


def _feeder(parser: harmony.HarmonyParser) -> tuple[_Feed, _Finish]:
    if isinstance(parser, harmony.StreamParser):
        stream_feed = parser.feed

        def feed_token(event: TokenEvent) -> list[harmony.ParseEvent]:
            return stream_feed(event.id, event.piece)

        return feed_token, parser.finish
    if isinstance(parser, harmony.TextStreamParser):
        decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        text_feed = parser.feed

        def feed_text(event: TokenEvent) -> list[harmony.ParseEvent]:
            return text_feed(decode(event.piece))

        def finish_text() -> list[harmony.ParseEvent]:
            return text_feed(decode(b"", final=True)) + parser.finish()

        return feed_text, finish_text
    raise TypeError(f"no way to feed a {type(parser).__name__}: use a StreamParser or a TextStreamParser")
