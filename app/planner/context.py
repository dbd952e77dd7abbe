"""Questions about the context: can it be raised to N on this machine, and how far can it go?

The documents feature asks before it fills a long context: `context_option` answers for one size with
what it costs against the plan in use (experts moved to RAM, more memory); `max_context` finds the
largest context that fits at all, or that fits without moving anything more off the GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.gguf import GgufProfile
from app.planner.devices import Machine
from app.planner.plan import MIN_CTX, Plan, PlanRequest, make_plan
from app.units import context_label, format_gib

STEP = 1024


@dataclass(frozen=True)
class ContextOption:
    n_ctx: int
    fits: bool
    plan: Plan
    extra_cpu_expert_blocks: int  # more blocks whose experts move to RAM than in the current plan
    extra_bytes: int  # more memory (GPU and RAM together) than the current plan
    summary: str  # one sentence for the person deciding


def context_option(profile: GgufProfile, machine: Machine, n_ctx: int, current: Plan | None = None,
                   request: PlanRequest | None = None) -> ContextOption:
    """What a context of `n_ctx` tokens would take, against `current` (the plan in use) if given."""
    plan = make_plan(profile, machine, replace(request or PlanRequest(), n_ctx=n_ctx))
    base = current or make_plan(profile, machine, request)
    extra_blocks = len(plan.cpu_expert_blocks) - len(base.cpu_expert_blocks)
    extra = (plan.gpu.total + plan.host.total) - (base.gpu.total + base.host.total)
    size = context_label(plan.n_ctx)
    if not plan.fits:
        summary = f"A {size} does not fit: {plan.explanation}"
    elif _same_placement(plan, base):
        summary = f"A {size} fits as the model is placed now, using {format_gib(extra)} more memory."
    elif extra_blocks > 0:
        summary = (f"A {size} fits if the experts of {extra_blocks} more blocks move to RAM, which "
                   f"makes answers slower; it uses {format_gib(extra)} more memory.")
    else:
        summary = f"A {size} fits with another placement: {plan.explanation}"
    return ContextOption(plan.n_ctx, plan.fits, plan, extra_blocks, extra, summary)


def max_context(profile: GgufProfile, machine: Machine, request: PlanRequest | None = None,
                keep_placement_of: Plan | None = None) -> int:
    """The largest context (a multiple of 1024, up to the trained length) that fits, or 0 if not even 4K
    does. With `keep_placement_of`, also without moving more of the model off the GPU than that plan."""
    request = request or PlanRequest()

    def ok(n_ctx: int) -> bool:
        plan = make_plan(profile, machine, replace(request, n_ctx=n_ctx))
        if not plan.fits:
            return False
        return keep_placement_of is None or _same_placement(plan, keep_placement_of)

    low, high = MIN_CTX // STEP, profile.hparams.n_ctx_train // STEP
    if not ok(low * STEP):
        return 0
    while low < high:  # memory grows with the context, so the answer is the edge of a monotone test
        middle = (low + high + 1) // 2
        if ok(middle * STEP):
            low = middle
        else:
            high = middle - 1
    return low * STEP


def _same_placement(plan: Plan, base: Plan) -> bool:
    return (plan.load.n_gpu_layers == base.load.n_gpu_layers
            and len(plan.cpu_expert_blocks) <= len(base.cpu_expert_blocks) and plan.mode == base.mode)
