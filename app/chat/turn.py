"""One assistant turn, start to end: render → engine → parse → store → tools → again.

A turn is one or more generation *steps*. Each step renders the conversation as stored (this turn's
reasoning, tool calls and results included: SPEC section 7 keeps them), streams tokens through the
Harmony parser, and stores every message as it forms (`MessageStream` writes the growing text about
once a second, so a crash loses at most a second). A step that ends in a tool call runs the tool
(through the approval gate), stores the result as a tool message on the call's channel, and the next
step begins; a step that ends in `<|return|>` ends the turn. Whatever happens — stop, a dead engine, a
full disk — the turn ends with one `TurnFinished` and nothing already said is lost.

Runs on the caller's thread (the session gives it one); observers hear about it through events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app import harmony
from app.chat import prompt
from app.chat.completion import Completion, complete, new_parser
from app.chat.events import (
    ChatListener,
    ItemDelta,
    ItemFinished,
    ItemKind,
    ItemStarted,
    Notice,
    ToolCallChanged,
    TurnFinished,
    TurnStats,
    TurnStatus,
)
from app.chat.outcome import answer_status
from app.engine.interface import Done, Engine, EngineError, GenerateRequest, SamplingSettings
from app.harmony.segments import CHANNEL, MESSAGE
from app.store import (
    MessageRecord,
    MessageStatus,
    MessageStream,
    NewMessage,
    Store,
    StoreError,
    ToolCallState,
    TurnFigures,
)
from app.tools import ToolCall, ToolResult, ToolSession

log = logging.getLogger(__name__)

DEFAULT_MAX_TOOL_STEPS = 8
_DISPLAY_TO_ITEM: dict[harmony.DisplayKind, ItemKind] = {
    harmony.DisplayKind.ANSWER: "answer",
    harmony.DisplayKind.PREAMBLE: "preamble",
    harmony.DisplayKind.THINKING: "reasoning",
    harmony.DisplayKind.TOOL_CALL: "tool_call",
}
# A finished call's result status, as the state kept for its card.
_RESULT_STATES = {"ok": ToolCallState.DONE, "denied": ToolCallState.DENIED, "error": ToolCallState.FAILED,
                  "cancelled": ToolCallState.CANCELLED}


@dataclass(frozen=True)
class TurnOptions:
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    # GBNF (tests, structured output); None lets the model write freely. A tuple gives one grammar per
    # generation step of the turn (the last one repeats), e.g. "call a tool first, then answer".
    grammar: str | tuple[str, ...] | None = None
    max_tool_steps: int = DEFAULT_MAX_TOOL_STEPS

    def grammar_for_step(self, step: int) -> str | None:
        if self.grammar is None or isinstance(self.grammar, str):
            return self.grammar
        return self.grammar[min(step, len(self.grammar) - 1)] if self.grammar else None


def item_kind(role: str, channel: str | None, recipient: str | None) -> ItemKind:
    message = harmony.Message(role if role in harmony.ROLES else harmony.ASSISTANT, "",
                              name="tool" if role == harmony.TOOL else None,
                              channel=channel, recipient=recipient)
    return _DISPLAY_TO_ITEM.get(harmony.display_kind(message), "answer")


@dataclass
class _LiveMessage:
    """A message the parser is building, tied to its stored row."""

    stored_id: int
    kind: ItemKind
    stream: MessageStream
    started: float
    role: str
    channel: str | None
    recipient: str | None


@dataclass
class _StepResult:
    done: Done | None = None
    error: EngineError | None = None
    tool_calls: list[MessageRecord] = field(default_factory=list)
    produced_text: bool = False


class TurnRunner:
    """Runs one turn of one conversation. Create one per turn; `stop()` may come from any thread."""

    def __init__(self, *, store: Store, engine: Engine, tools: ToolSession, conversation_id: int,
                 turn_id: int, settings: prompt.PromptSettings, listener: ChatListener,
                 options: TurnOptions | None = None) -> None:
        self._store = store
        self._engine = engine
        self._tools = tools
        self._conversation_id = conversation_id
        self._turn_id = turn_id
        self._settings = settings
        self._emit = listener
        self._options = options or TurnOptions()
        self._stop = threading.Event()
        self._generation: Completion | None = None
        self._lock = threading.Lock()
        self._store_failed = False

    # ------------------------------------------------------------------------------------- control

    def stop(self) -> None:
        """Stop generating (and any tool waiting for approval or running); the turn ends 'stopped'."""
        with self._lock:
            self._stop.set()
            generation = self._generation
        if generation is not None:
            generation.cancel()

    @property
    def turn_id(self) -> int:
        return self._turn_id

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # ---------------------------------------------------------------------------------------- run

    def run(self, continue_message: MessageRecord | None = None) -> TurnFinished:
        """Generate until the turn ends; `continue_message` resumes an interrupted message in place."""
        unsubscribe = self._tools.add_listener(self._on_tool_call)
        started = time.monotonic()
        totals = _Totals()
        try:
            self._prepare_tools()
            finished = self._run_steps(continue_message, totals)
        except StoreError as exc:  # the environment's fault (disk full, locked): say so, keep going no more
            log.warning("turn %s stopped by a store error: %s", self._turn_id, exc)
            finished = self._finish("interrupted", totals, f"Could not save the conversation: {exc}")
        finally:
            unsubscribe()
        log.info("turn %s: %s in %.1f s", self._turn_id, finished.status, time.monotonic() - started)
        return finished

    def _prepare_tools(self) -> None:
        """Start the conversation's MCP servers and list their tools here, on the turn's thread (never the
        window's), then declare what is listed; a server that cannot run is said once, not fatal."""
        if not self._tools.selection.mcp:
            return
        for problem in self._tools.prepare(self._stop):
            self._emit(Notice("warning", problem))
        self._settings = replace(self._settings, developer_tools=self._tools.developer_tools())

    def _run_steps(self, continue_message: MessageRecord | None, totals: _Totals) -> TurnFinished:
        tool_steps = 0
        while True:
            if self._stop.is_set():
                return self._finish(TurnStatus.STOPPED, totals)
            step = self._generate_step(continue_message, totals)
            continue_message = None
            if step.error is not None:
                produced = step.produced_text or totals.steps > 1
                status = TurnStatus.INTERRUPTED if produced else TurnStatus.FAILED
                return self._finish(status, totals, self._error_text(step.error))
            assert step.done is not None
            if step.done.reason == "cancelled" or self._stop.is_set():
                return self._finish(TurnStatus.STOPPED, totals)
            if step.tool_calls:
                for call in step.tool_calls:
                    if tool_steps >= self._options.max_tool_steps:
                        return self._finish(TurnStatus.MAX_STEPS, totals, (
                            f"Stopped after {tool_steps} tool calls in one turn (the limit); "
                            "ask again to let the model go on."))
                    tool_steps += 1
                    self._run_tool(call)
                    if self._stop.is_set():
                        return self._finish(TurnStatus.STOPPED, totals)
                continue
            if step.done.reason == "length":
                return self._finish(self._answer_status(), totals, (
                    f"The answer stopped at the context limit ({totals.n_ctx:,} tokens)."))
            return self._finish(self._answer_status(), totals)

    # ------------------------------------------------------------------------------ one generation

    def _generate_step(self, continue_message: MessageRecord | None, totals: _Totals) -> _StepResult:
        stored = self._store.list_messages(self._conversation_id)
        attachments = self._store.list_attachments(self._conversation_id)
        model = self._engine.model
        if model is None:
            return _StepResult(error=EngineError("not_loaded", "No model is loaded. Load a model first."))
        parser = new_parser(self._engine)
        live: dict[int, _LiveMessage] = {}
        conversation: tuple[harmony.Message, ...] | None = None  # none for a continuation
        if continue_message is not None:
            history = [m for m in stored if m.id != continue_message.id]
            messages = prompt.conversation_messages(history, attachments, self._settings)
            partial = prompt.to_harmony(continue_message)
            segments = prompt.render_for_continuation(messages, partial)
            self._resume_in_parser(parser, continue_message, live)
        else:
            messages = prompt.conversation_messages(stored, attachments, self._settings)
            segments = prompt.render_for_generation(messages)
            conversation = tuple(messages)
        request = GenerateRequest(tuple(segments), self._options.sampling,
                                  self._options.grammar_for_step(totals.steps), conversation=conversation)
        with self._lock:
            if self._stop.is_set():
                return _StepResult(done=Done("cancelled"))
            completion = complete(self._engine, request, parser=parser)
            self._generation = completion
        result = _StepResult()
        try:
            for parsed in completion:
                # Events after the engine's last word close what is still open: complete only when the
                # model ended its turn there, interrupted when a limit, a stop or an error cut it off.
                clean = not completion.finished or completion.ended_cleanly
                self._apply(parsed, live, result, status="complete" if clean else "interrupted")
        finally:
            with self._lock:
                self._generation = None
        result.done, result.error = completion.done, completion.error
        totals.add(result.done, model.n_ctx)
        return result

    def _resume_in_parser(self, parser: harmony.HarmonyParser, message: MessageRecord,
                          live: dict[int, _LiveMessage]) -> None:
        """Put the parser inside `message`'s content, as if it had just read its header."""
        if message.channel:
            parser.feed_special(CHANNEL)
            parser.feed_text(message.channel)
        events = parser.feed_special(MESSAGE)
        started = next(e for e in events if isinstance(e, harmony.MessageStarted))
        self._store.update_message_content(message.id, message.content, "streaming")
        live[started.index] = _LiveMessage(
            stored_id=message.id, kind=item_kind(message.role, message.channel, message.recipient),
            stream=MessageStream(self._store, message.id, message.content), started=time.monotonic(),
            role=message.role, channel=message.channel, recipient=message.recipient)

    def _apply(self, event: harmony.ParseEvent, live: dict[int, _LiveMessage], result: _StepResult,
               status: str = "complete") -> None:
        if isinstance(event, harmony.TextDelta):
            item = live.get(event.index)
            if item is None:
                return
            result.produced_text = True
            self._append(item, event.text)
            self._emit(ItemDelta(item.stored_id, event.text))
        elif isinstance(event, harmony.MessageStarted):
            kind = item_kind(event.role, event.channel, event.recipient)
            stored = self._store.append_message(self._conversation_id, NewMessage(
                role=event.role if event.role in harmony.ROLES else harmony.ASSISTANT,
                name=event.name, channel=event.channel, recipient=event.recipient,
                content_type=event.content_type, status="streaming"), turn_id=self._turn_id)
            live[event.index] = _LiveMessage(stored.id, kind, MessageStream(self._store, stored.id),
                                             time.monotonic(), event.role, event.channel, event.recipient)
            self._emit(ItemStarted(self._turn_id, stored.id, kind, event.channel, event.recipient))
        elif isinstance(event, harmony.MessageEnded):
            item = live.pop(event.index, None)
            if item is None:
                return
            final_status: MessageStatus = "complete" if status == "complete" else "interrupted"
            item.stream.finish(final_status)
            self._emit(ItemFinished(item.stored_id, item.kind, time.monotonic() - item.started))
            if item.kind == "tool_call" and final_status == "complete":
                result.tool_calls.append(self._store.get_message(item.stored_id))

    def _append(self, item: _LiveMessage, text: str) -> None:
        try:
            item.stream.append(text)
        except StoreError as exc:
            # The text stays in the stream and the next write retries with all of it; tell the user once.
            if not self._store_failed:
                self._store_failed = True
                self._emit(Notice("warning", f"The answer could not be saved yet: {exc}"))

    # --------------------------------------------------------------------------------------- tools

    def _run_tool(self, call: MessageRecord) -> None:
        assert call.recipient is not None
        channel = call.channel or harmony.COMMENTARY
        result: ToolResult = self._tools.run_call(call.recipient, call.content, cancel=self._stop,
                                                  call_id=str(call.id))
        tool_message = self._store.append_message(self._conversation_id, NewMessage(
            role="tool", name=result.author, recipient=harmony.ASSISTANT, channel=channel,
            content=result.content), turn_id=self._turn_id)
        state = _RESULT_STATES[result.status]
        self._store.set_tool_call(call.id, state, result_message_id=tool_message.id,
                                  duration_s=result.duration_s,
                                  error=None if result.status == "ok" else result.status)

    def _on_tool_call(self, call: ToolCall) -> None:
        """Relay the tool session's live call states to our observers as card updates."""
        if call.call_id is None or not str(call.call_id).isdigit():
            return
        state = call.state
        if not state.finished:
            try:
                self._store.set_tool_call(int(call.call_id), state)
            except StoreError as exc:
                log.warning("tool call %s state not saved: %s", call.call_id, exc)
        self._emit(ToolCallChanged(
            turn_id=self._turn_id, call_id=int(call.call_id), tool_name=call.tool,
            arguments=call.code if call.code is not None else call.arguments,
            state=state,
            result=(call.result.content if call.result is not None else call.output) or "",
            duration_s=max(0.0, call.duration_s or 0.0)))

    # -------------------------------------------------------------------------------------- ending

    def _answer_status(self) -> TurnStatus:
        messages = [m for m in self._store.list_messages(self._conversation_id) if m.turn_id == self._turn_id]
        return answer_status([m for m in messages if m.role != "user"])

    def _error_text(self, error: EngineError) -> str:
        if error.kind == "crashed" and not self._store_failed:
            # The engine cannot know what became of the conversation; here it is known: every message was
            # written as it formed, and the one cut off was closed as interrupted.
            return f"{error.message} Your conversation is saved up to here."
        return error.message

    def _finish(self, status: TurnStatus, totals: _Totals, message: str = "") -> TurnFinished:
        stats = totals.stats()
        try:
            self._store.record_turn_stats(self._turn_id, TurnFigures(
                prompt_tokens=stats.prompt_tokens, reused_tokens=stats.reused_tokens,
                generated_tokens=stats.generated_tokens, time_to_first_token_s=stats.time_to_first_token_s,
                tokens_per_second=stats.tokens_per_second, finish_reason=status))
        except StoreError as exc:
            log.warning("turn %s stats not saved: %s", self._turn_id, exc)
        finished = TurnFinished(self._turn_id, status, stats, message)
        self._emit(finished)
        return finished


@dataclass
class _Totals:
    """Stats over a turn's steps: the first step's wait, the last step's context, all tokens generated."""

    steps: int = 0
    prompt_tokens: int = 0
    reused_tokens: int = 0
    evaluated_tokens: int = 0
    generated_tokens: int = 0
    first_token_s: float = 0.0
    generation_seconds: float = 0.0
    context_used: int = 0
    n_ctx: int = 0

    def add(self, done: Done | None, n_ctx: int) -> None:
        self.steps += 1
        self.n_ctx = n_ctx
        if done is None:
            return
        if self.steps == 1:
            self.first_token_s = done.time_to_first_token_s
        self.prompt_tokens = done.prompt_tokens
        self.reused_tokens += done.reused_tokens
        self.evaluated_tokens += done.evaluated_tokens
        self.generated_tokens += done.generated_tokens
        if done.tokens_per_second > 0:
            self.generation_seconds += done.generated_tokens / done.tokens_per_second
        self.context_used = done.prompt_tokens + done.generated_tokens

    def stats(self) -> TurnStats:
        rate = self.generated_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0
        return TurnStats(self.prompt_tokens, self.reused_tokens, self.evaluated_tokens,
                         self.generated_tokens, self.first_token_s, rate, self.context_used, self.n_ctx)


def turn_messages(messages: Sequence[MessageRecord], turn_id: int) -> list[MessageRecord]:
    return [m for m in messages if m.turn_id == turn_id]
