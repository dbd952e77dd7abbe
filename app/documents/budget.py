"""The context meter's arithmetic: what the next prompt needs against the conversation's n_ctx.

A pure function of token counts, so the meter widget, the chat loop and the tests all agree on one
answer. The need is system + developer (instructions, tool declarations) + history + each attachment
in full + a reserve for the model's reasoning and answer. When that is more than n_ctx, nothing is cut:
the result lists the ways out, and the user picks one:

- `RaiseContext(n_ctx)`: the smallest context (rounded up to a whole step) that holds it all, offered
  only up to the model's trained context. Whether memory allows it is the planner's call, not ours.
- `UseSearchMode(names)`: attach the largest documents in search mode instead (as few as possible):
  they then cost only the document tool's declaration and room for its results, not their full text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

CONTEXT_STEP = 1024
# Search mode costs the document tool's declaration in the system message (a few hundred tokens) and
# room for a few tool results in the turn (each page the tool shows is up to ~1,500 tokens); 4,096 is a
# starting point, not a measurement: the chat should pass the declaration's counted tokens plus the
# room it wants for results.
SEARCH_MODE_TOKENS = 4096
# Room kept for reasoning and answer by reasoning effort: gpt-oss thinks longer at higher effort.
# Starting points, not measurements; the chat room may pass its own.
DEFAULT_RESERVE_TOKENS: dict[str, int] = {"low": 2048, "medium": 4096, "high": 8192}


@dataclass(frozen=True, slots=True)
class AttachmentCost:
    name: str
    tokens: int
    estimated: bool = False


@dataclass(frozen=True, slots=True)
class RaiseContext:
    """Raise the conversation's n_ctx to this (then re-plan the load); the planner decides if it fits."""

    n_ctx: int


@dataclass(frozen=True, slots=True)
class UseSearchMode:
    """Attach these documents in search mode instead; the prompt then needs `needed_after` tokens.

    `indices` are positions in the attachments given to `plan_context` (names may repeat).
    """

    indices: tuple[int, ...]
    names: tuple[str, ...]
    needed_after: int


Choice = RaiseContext | UseSearchMode


@dataclass(frozen=True)
class ContextBudget:
    n_ctx: int
    system_tokens: int
    history_tokens: int
    attachments: tuple[AttachmentCost, ...]
    reserve_tokens: int
    choices: tuple[Choice, ...] = field(default=())

    @property
    def attachment_tokens(self) -> int:
        return sum(a.tokens for a in self.attachments)

    @property
    def needed(self) -> int:
        """Everything the next turn needs, the reserve included."""
        return self.system_tokens + self.history_tokens + self.attachment_tokens + self.reserve_tokens

    @property
    def fits(self) -> bool:
        return self.needed <= self.n_ctx

    @property
    def overflow(self) -> int:
        """Tokens over n_ctx (0 when it fits)."""
        return max(0, self.needed - self.n_ctx)

    @property
    def free(self) -> int:
        """Tokens left over after the reserve (0 when it does not fit)."""
        return max(0, self.n_ctx - self.needed)

    @property
    def estimated(self) -> bool:
        """Some attachment's count is an estimate (no model loaded): the meter must say so."""
        return any(a.estimated for a in self.attachments)

    def segments(self) -> list[tuple[str, int]]:
        """The meter's bar, left to right: (label, tokens); attachments one by one."""
        parts = [("System and instructions", self.system_tokens), ("Conversation", self.history_tokens)]
        parts.extend((a.name, a.tokens) for a in self.attachments)
        parts.append(("Reserved for reasoning and answer", self.reserve_tokens))
        return parts


def plan_context(
    *,
    n_ctx: int,
    system_tokens: int,
    history_tokens: int,
    attachments: Sequence[AttachmentCost] = (),
    reserve_tokens: int,
    max_n_ctx: int | None = None,
    search_mode_tokens: int = SEARCH_MODE_TOKENS,
    search_mode_active: bool = False,
) -> ContextBudget:
    """The breakdown and, when it does not fit, the choices.

    `max_n_ctx` is the model's trained context (131,072 for gpt-oss); without it no raise is offered.
    `search_mode_active`: the document tool is already declared (its cost is in `system_tokens`), so
    moving more documents to search mode costs nothing extra.
    """
    values = {"n_ctx": n_ctx, "system_tokens": system_tokens, "history_tokens": history_tokens,
              "reserve_tokens": reserve_tokens, "search_mode_tokens": search_mode_tokens}
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative (got {value})")
    if n_ctx == 0:
        raise ValueError("n_ctx must be positive")
    for attachment in attachments:
        if attachment.tokens < 0:
            raise ValueError(f"attachment {attachment.name!r} has a negative token count")
    budget = ContextBudget(n_ctx, system_tokens, history_tokens, tuple(attachments), reserve_tokens)
    if budget.fits:
        return budget
    choices: list[Choice] = []
    if max_n_ctx is not None and budget.needed <= max_n_ctx:
        stepped = -(-budget.needed // CONTEXT_STEP) * CONTEXT_STEP
        choices.append(RaiseContext(min(stepped, max_n_ctx)))
    search = _search_mode_choice(budget, 0 if search_mode_active else search_mode_tokens)
    if search is not None:
        choices.append(search)
    return ContextBudget(n_ctx, system_tokens, history_tokens, tuple(attachments), reserve_tokens,
                         tuple(choices))


def _search_mode_choice(budget: ContextBudget, added_cost: int) -> UseSearchMode | None:
    """The fewest documents (largest first) whose move to search mode makes the prompt fit."""
    needed = budget.needed + added_cost
    moved: list[int] = []
    # Largest first; ties keep the attachment order so the answer is deterministic.
    ordered = sorted(enumerate(budget.attachments), key=lambda item: (-item[1].tokens, item[0]))
    for index, attachment in ordered:
        if needed <= budget.n_ctx:
            break
        needed -= attachment.tokens
        moved.append(index)
    if not moved or needed > budget.n_ctx:
        return None
    return UseSearchMode(tuple(moved), tuple(budget.attachments[i].name for i in moved), needed)
