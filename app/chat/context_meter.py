"""The context meter: what the next prompt needs against the conversation's n_ctx, and the ways out.

System and developer messages, the history (the last turn's `context_used` when known, else the rendered
prompt through the engine's tokenizer, else an estimate), the pending attachments, the draft and a
reserve by reasoning effort go to the documents room's `plan_context`. Over n_ctx, sending is blocked
until the user picks a way out (`MeterReading.blocked`): nothing is ever cut silently. A larger context
is offered in sizes people think in, each checked by the planner against this machine's memory
(`raise_offer`); search mode is offered for the fewest, largest pending documents that make it fit.
Qt-free and blocking: the window computes readings off the UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from app import harmony
from app.chat import attachment_records
from app.chat.attachments import PreparedDocument, SegmentCounter, search_attachments
from app.chat.prompt import PromptSettings, conversation_messages, render_for_generation, system_message
from app.documents import (
    DEFAULT_RESERVE_TOKENS,
    AttachmentCost,
    ContextBudget,
    RaiseContext,
    TokenCount,
    UseSearchMode,
    plan_context,
)
from app.engine.interface import Engine
from app.planner import ContextOption
from app.store import Store
from app.tools import document_browser_namespace

# Search mode costs the browser declaration (counted) plus room for what the tool shows during a turn:
# each page it opens is up to ~1,500 tokens (DEFAULT_VIEW_CHARS), and a question usually takes a search
# and two or three opens. A starting point, not a measurement.
SEARCH_RESULTS_ROOM = 4096
# Context sizes offered when the documents do not fit: people think in these, and a conversation keeps
# growing after the documents, so the next step up is a better offer than the exact token count.
NICE_CONTEXTS: tuple[int, ...] = tuple(k * 1024 for k in (8, 16, 24, 32, 48, 64, 96, 128))
T = TypeVar("T")


MeterMode = Literal["inline", "search"]


@dataclass(frozen=True)
class PendingCost:
    """One attachment waiting in the composer, as the meter counts it."""

    key: str
    name: str
    tokens: int  # inline: its whole block; search: its note
    estimated: bool
    mode: MeterMode = "inline"


@dataclass(frozen=True)
class PromptTokens:
    system: int  # system + developer messages (tool declarations included)
    history: int  # everything after them: earlier messages and their documents
    estimated: bool


@dataclass(frozen=True)
class RaiseOffer:
    """A larger context the planner was asked about."""

    n_ctx: int
    fits: bool
    extra_gpu_bytes: int
    extra_host_bytes: int
    summary: str  # the planner's sentence


@dataclass(frozen=True)
class MeterReading:
    """What the meter shows and whether sending may go ahead."""

    budget: ContextBudget
    system_tokens: int  # system + developer (+ the browser's declaration when search mode turns on)
    history_tokens: int  # the conversation so far
    draft_tokens: int  # the message being written: the composer's text and its header and end
    document_tokens: int  # pending attachments (inline blocks and search notes)
    estimated: bool
    blocked: bool  # sending waits until the user picks a way out
    reason: str  # why it does not fit (empty when it fits)
    raise_offer: RaiseOffer | None = None
    search_keys: tuple[str, ...] = ()  # pending attachments that search mode would move
    search_names: tuple[str, ...] = ()

    @property
    def n_ctx(self) -> int:
        return self.budget.n_ctx

    @property
    def fits(self) -> bool:
        return self.budget.fits

    @property
    def reserve_tokens(self) -> int:
        return self.budget.reserve_tokens

    @property
    def used_fraction(self) -> float:
        return self.budget.needed / self.budget.n_ctx


def prompt_tokens(messages: Sequence[harmony.Message], counter: SegmentCounter,
                  context_used: int | None = None) -> PromptTokens:
    """System/developer and history tokens of a conversation's next prompt.

    `context_used` (the last turn's, from `TurnFinished.stats`) stands for the whole prompt when known: it
    is what the engine held, and errs high (it includes the last reasoning, which the next prompt drops).
    """
    head_count = sum(1 for m in messages[:2] if m.role in (harmony.SYSTEM, harmony.DEVELOPER))
    head = counter.segments(harmony.render_conversation(list(messages[:head_count]), next_turn_role=None))
    if context_used is not None and context_used > head.tokens:
        return PromptTokens(head.tokens, context_used - head.tokens, head.estimated)
    whole = counter.segments(render_for_generation(messages))
    return PromptTokens(head.tokens, max(0, whole.tokens - head.tokens), head.estimated or whole.estimated)


def new_message_tokens(counter: SegmentCounter, draft: str) -> TokenCount:
    """The message being written, as the next prompt renders it: the draft and the message's own header
    and end (`<|start|>user<|message|>` ... `<|end|>`, 4 tokens for gpt-oss), which the history's count
    does not hold. Its documents are counted apart, each by its block: the blank line the chat puts after
    a block costs nothing more (o200k has `>` followed by newlines as one token, as it has `>`), so the
    parts add up to the reference's count of the whole prompt (tests/chat/test_meter_real_vocabulary.py).
    """
    return counter.segments(harmony.render_message(harmony.Message(harmony.USER, draft)))


def search_mode_cost(settings: PromptSettings, counter: SegmentCounter) -> int:
    """What turning search mode on adds: the browser's declaration in the system message, plus room for
    the pages it shows during a turn."""
    with_browser = replace(settings, system_tools=(*settings.system_tools, document_browser_namespace()))
    without = harmony.render_conversation([system_message(settings)], next_turn_role=None)
    declared = harmony.render_conversation([system_message(with_browser)], next_turn_role=None)
    extra = counter.segments(declared).tokens - counter.segments(without).tokens
    return max(0, extra) + SEARCH_RESULTS_ROOM


def measure_context(
    *,
    n_ctx: int,
    prompt: PromptTokens,
    draft_tokens: TokenCount,
    pending: Sequence[PendingCost],
    effort: str,
    search_active: bool,
    search_cost: int,
    max_n_ctx: int | None = None,
    ask_planner: Callable[[int], RaiseOffer | None] | None = None,
) -> MeterReading:
    """The meter's reading: `plan_context` over the conversation, the draft and the pending attachments.

    Pending search-mode attachments count with their note; the first one also turns search mode on, so its
    cost (`search_cost`) joins the system part. When it does not fit, sending is blocked if pending
    documents are part of it, or if the prompt itself (without the reserve) does not fit; a conversation
    whose history alone eats into the reserve may still send (the reserve is a guess, and the engine
    stops cleanly at the limit), with the reason shown.
    """
    inline = [p for p in pending if p.mode == "inline"]
    notes = [p for p in pending if p.mode == "search"]
    system = prompt.system
    if notes and not search_active:
        system += search_cost
    history = prompt.history + draft_tokens.tokens + sum(p.tokens for p in notes)
    reserve = DEFAULT_RESERVE_TOKENS.get(effort, DEFAULT_RESERVE_TOKENS["medium"])
    budget = plan_context(
        n_ctx=n_ctx, system_tokens=system, history_tokens=history,
        attachments=[AttachmentCost(p.name, p.tokens, p.estimated) for p in inline],
        reserve_tokens=reserve, max_n_ctx=max_n_ctx, search_mode_tokens=search_cost,
        search_mode_active=search_active or bool(notes))
    estimated = (prompt.estimated or draft_tokens.estimated or budget.estimated
                 or any(p.estimated for p in notes))
    reading = MeterReading(budget, system, prompt.history, draft_tokens.tokens,
                           sum(p.tokens for p in pending), estimated, blocked=False, reason="")
    if budget.fits:
        return reading
    prompt_alone = budget.needed - budget.reserve_tokens
    blocked = bool(inline) or prompt_alone > n_ctx
    offer = None
    search_keys: tuple[str, ...] = ()
    search_names: tuple[str, ...] = ()
    for choice in budget.choices:
        if isinstance(choice, RaiseContext) and ask_planner is not None:
            offer = raise_offer(choice.n_ctx, max_n_ctx, ask_planner)
        elif isinstance(choice, UseSearchMode):
            search_keys = tuple(inline[i].key for i in choice.indices)
            search_names = choice.names
    return replace(reading, blocked=blocked, reason=_overflow_reason(budget, bool(inline), blocked),
                   raise_offer=offer, search_keys=search_keys, search_names=search_names)


def raise_offer(needed: int, max_n_ctx: int | None,
                ask_planner: Callable[[int], RaiseOffer | None]) -> RaiseOffer | None:
    """The context to offer: the next nice size that holds `needed` if the planner says it fits here,
    else the exact size if that fits, else the nice size with the planner's reason it does not."""
    limit = max_n_ctx or needed
    nice = next((size for size in NICE_CONTEXTS if needed <= size <= limit), None)
    first: RaiseOffer | None = None
    for size in dict.fromkeys(size for size in (nice, needed) if size is not None and size <= limit):
        offer = ask_planner(size)
        if offer is None:
            return None
        if offer.fits:
            return offer
        first = first or offer
    return first


def offer_from_option(option: ContextOption, current_gpu_bytes: int, current_host_bytes: int) -> RaiseOffer:
    """The planner's answer about one context size, with the growth split into VRAM and RAM."""
    plan = option.plan
    return RaiseOffer(option.n_ctx, option.fits, max(0, plan.gpu.total - current_gpu_bytes),
                      max(0, plan.host.total - current_host_bytes), option.summary)


def _overflow_reason(budget: ContextBudget, has_documents: bool, blocked: bool) -> str:
    over = budget.overflow
    if has_documents:
        free = max(0, budget.n_ctx - budget.system_tokens - budget.history_tokens - budget.reserve_tokens)
        return (f"The documents need {budget.attachment_tokens:,} tokens but only {free:,} are free in this "
                f"{budget.n_ctx:,}-token context: {over:,} too many. Nothing is cut: choose a larger "
                "context or search mode, or remove a document.")
    if blocked:
        prompt = budget.needed - budget.reserve_tokens
        return (f"The conversation and your message need {prompt:,} tokens, more than this "
                f"{budget.n_ctx:,}-token context holds. Nothing is cut: shorten the message, use a larger "
                "context, or start a new chat.")
    return (f"The conversation is close to its {budget.n_ctx:,}-token context: less than the "
            f"{budget.reserve_tokens:,} tokens kept for reasoning and the answer are left, so the answer may "
            "stop at the limit.")


@dataclass(frozen=True)
class PendingDocument:
    """A prepared document waiting in the composer, and how it would be sent."""

    key: str
    prepared: PreparedDocument
    mode: MeterMode = "inline"


class PromptCache:
    """The last conversation's prompt tokens and search-mode cost, kept while nothing they depend on
    changes: typing a draft must not tokenize the whole history (documents included) on every key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[object, object]] = {}

    def get(self, name: str, key: object, compute: Callable[[], T]) -> T:
        with self._lock:
            found = self._values.get(name)
        if found is not None and found[0] == key:
            return found[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._values[name] = (key, value)
        return value


def read_meter(*, store: Store, engine: Engine | None, settings: PromptSettings, conversation_id: int | None,
               draft: str, pending: Sequence[PendingDocument], n_ctx: int, context_used: int | None = None,
               max_n_ctx: int | None = None, ask_planner: Callable[[int], RaiseOffer | None] | None = None,
               cache: PromptCache | None = None) -> MeterReading:
    """One reading for the open conversation (None: a new one) with a draft and pending documents.

    Blocking: it renders the stored conversation and asks the engine's tokenizer (when a model is
    loaded); the window calls it off the UI thread, with a `cache` it keeps between readings.
    """
    counter = SegmentCounter(engine)
    cache = cache or PromptCache()
    stored = store.list_messages(conversation_id) if conversation_id is not None else []
    attachments = store.list_attachments(conversation_id) if conversation_id is not None else []
    # What the history's tokens depend on: the messages as stored, the attachments, the settings that
    # render the system and developer messages, the last turn's count, and which tokenizer counts.
    history_key = (conversation_id, context_used, counter.exact, repr(settings),
                   tuple((m.id, m.status, len(m.content)) for m in stored),
                   tuple((a.id, a.mode) for a in attachments))
    prompt = cache.get("prompt", history_key, lambda: prompt_tokens(
        conversation_messages(stored, attachments, settings), counter, context_used))
    costs = []
    for item in pending:
        document = item.prepared.document
        tokens = (item.prepared.tokens if item.mode == "inline"
                  else counter.texts([attachment_records.document_search_note(document)])[0])
        costs.append(PendingCost(item.key, document.name, tokens.tokens, tokens.estimated, item.mode))
    draft_tokens = (new_message_tokens(counter, draft) if draft.strip() or pending
                    else TokenCount(0, estimated=False))
    return measure_context(
        n_ctx=n_ctx, prompt=prompt, draft_tokens=draft_tokens, pending=costs,
        effort=settings.reasoning_effort, search_active=bool(search_attachments(attachments)),
        search_cost=cache.get("search", (repr(settings), counter.exact),
                              lambda: search_mode_cost(settings, counter)) if pending else 0,
        max_n_ctx=max_n_ctx,
        ask_planner=ask_planner)
