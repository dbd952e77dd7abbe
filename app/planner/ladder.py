"""The fallback ladder: load the planned model, and when the load or its warm-up decode runs out of
memory, step down and try again, saying what was chosen and why.

Steps, in order, each skipped when it would not change the plan: more experts to RAM by the measured
deficit (twice) → q8_0 KV cache → half the context (not below 4K) → all experts in RAM → half the GPU
layers → CPU only. Free memory is read again before every step (`read_machine`), and the engine gives
the failed attempt's memory back first (a failed worker is a new process next time). What worked is
remembered per model, device, runtime and total memory (`RememberedPlans`), so the next load starts from
it. Errors that are not about memory (a broken file, say) end the ladder at once: no step would help.

Works against the `Engine` interface, so any engine — the local worker, or a test engine that fails on
command — can be driven by it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from app.engine.interface import Engine, EngineError, EngineFailure, LoadPlan, ModelInfo
from app.errors import OssianError
from app.gguf import GgufProfile
from app.planner import explain
from app.planner.devices import Machine
from app.planner.plan import MIN_CTX, Plan, PlanRequest, make_plan
from app.planner.remembered import RememberedPlans, Tightening
from app.units import format_context, format_gib

RETRYABLE = frozenset({"memory", "crashed"})  # a worker killed by the OS for memory reports "crashed"
_SIZE_PATTERNS = (
    (re.compile(r"of size (\d+)"), 1),  # ggml-alloc: failed to allocate CUDA0 buffer of size 1294991360
    (re.compile(r"allocating ([\d.]+) MiB"), 2**20),  # ggml-cuda: allocating 1234.56 MiB on device 0
)


@dataclass(frozen=True)
class Attempt:
    step: str  # what this attempt changed, in words ("the plan", "q8_0 KV cache", ...)
    plan: Plan
    error: EngineError | None = None


@dataclass(frozen=True)
class LadderResult:
    info: ModelInfo
    plan: Plan
    attempts: tuple[Attempt, ...]
    explanation: str  # the plan's sentence, and what it took to get there


class LoadFailed(OssianError):
    """No step of the ladder could load the model; the message says why and what to do."""

    def __init__(self, message: str, attempts: tuple[Attempt, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts


def load_with_fallback(engine: Engine, profile: GgufProfile, read_machine: Callable[[], Machine],
                       request: PlanRequest | None = None, remembered: RememberedPlans | None = None,
                       on_attempt: Callable[[Attempt], None] | None = None,
                       timeout: float | None = None) -> LadderResult:
    """Load `profile` on `engine`, stepping down on memory failures. Raises LoadFailed."""
    request = request or PlanRequest()
    machine = read_machine()
    tightening = remembered.recall(profile, machine) if remembered else Tightening()
    plan = make_plan(profile, machine, tightening.apply(request))
    step = "the plan remembered from an earlier load" if not tightening.is_empty else "the plan"
    attempts: list[Attempt] = []
    tried: set[LoadPlan] = set()
    next_rung = 0  # the ladder only goes down: a rung used once is not used again
    while True:
        if not plan.fits:
            raise LoadFailed(plan.explanation, tuple(attempts))
        tried.add(plan.load)
        try:
            info = engine.load(plan.load).result(timeout=timeout)
        except EngineFailure as failure:
            attempt = Attempt(step, plan, failure.error)
            attempts.append(attempt)
            _report(on_attempt, attempt)
            if failure.error.kind not in RETRYABLE:
                raise LoadFailed(failure.error.message, tuple(attempts)) from failure
            _release(engine, timeout)
            machine = read_machine()
            found = _next_step(profile, machine, request, tightening, plan, failure.error, tried, next_rung)
            if found is None:
                raise LoadFailed(_gave_up(profile, attempts), tuple(attempts)) from failure
            rung, step, tightening, plan = found
            next_rung = rung + 1
            continue
        attempt = Attempt(step, plan)
        attempts.append(attempt)
        _report(on_attempt, attempt)
        if remembered:
            remembered.remember(profile, machine, tightening)
        return LadderResult(info, plan, tuple(attempts), _explanation(plan, attempts))


RUNGS = ("deficit", "double deficit", "q8_0", "half context", "all experts", "fewer layers", "cpu only")


def ladder_steps(profile: GgufProfile, tightening: Tightening, plan: Plan, error: EngineError,
                 first_rung: int = 0) -> Iterator[tuple[int, str, Tightening]]:
    """The step-downs after `plan` failed with `error`, from rung `first_rung` down, each as
    (rung, what it changes, the new tightening)."""
    deficit = measured_deficit(profile, plan, error)
    layers = plan.load.n_gpu_layers if plan.load.n_gpu_layers >= 0 else profile.hparams.n_blocks + 1
    half = max(MIN_CTX, plan.n_ctx // 2)
    steps: dict[str, tuple[str, Tightening] | None] = {
        "deficit": (f"planning for {format_gib(deficit)} less GPU memory, so more experts in RAM",
                    replace(tightening, gpu_deficit=tightening.gpu_deficit + deficit)),
        "double deficit": (f"planning for {format_gib(2 * deficit)} less GPU memory",
                           replace(tightening, gpu_deficit=tightening.gpu_deficit + 2 * deficit)),
        "q8_0": (("the q8_0 KV cache", replace(tightening, kv_type="q8_0"))
                 if plan.load.kv_type != "q8_0" else None),
        "half context": ((f"half the context ({format_context(half)})", replace(tightening, max_ctx=half))
                         if plan.n_ctx > MIN_CTX else None),
        "all experts": ("all experts in RAM", replace(tightening, all_experts_on_cpu=True)),
        "fewer layers": ((f"{layers // 2} GPU layers",
                          replace(tightening, all_experts_on_cpu=True, max_gpu_layers=layers // 2))
                         if layers > 1 else None),
        "cpu only": ("the CPU only", replace(tightening, cpu_only=True)),
    }
    for rung in range(first_rung, len(RUNGS)):
        step = steps[RUNGS[rung]]
        if step is not None:
            yield rung, *step


def measured_deficit(profile: GgufProfile, plan: Plan, error: EngineError) -> int:
    """How much more GPU memory the failed load needed than planned: the size of the allocation that
    failed when llama.cpp said it and it is a small part of the plan (KV or compute buffers), otherwise
    one block's experts (a failed model buffer only says the whole buffer did not fit)."""
    one_block = max(block.experts for block in profile.blocks)
    text = f"{error.message}\n{error.detail}"
    for pattern, unit in _SIZE_PATTERNS:
        sizes = [int(float(m) * unit) for m in pattern.findall(text)]
        small = [size for size in sizes if 0 < size <= plan.gpu.total // 4]
        if small:
            return max(small)
    return one_block


def _next_step(profile: GgufProfile, machine: Machine, request: PlanRequest, tightening: Tightening,
               failed: Plan, error: EngineError, tried: set[LoadPlan],
               first_rung: int) -> tuple[int, str, Tightening, Plan] | None:
    for rung, step, candidate in ladder_steps(profile, tightening, failed, error, first_rung):
        plan = make_plan(profile, machine, candidate.apply(request))
        if plan.load not in tried and plan.fits:
            return rung, step, candidate, plan
    return None


def _release(engine: Engine, timeout: float | None) -> None:
    """Give the failed attempt's memory back before measuring again."""
    try:
        engine.unload().result(timeout=timeout)
    except EngineFailure:
        pass  # nothing was loaded, or the worker is gone: either way nothing is held


def _report(on_attempt: Callable[[Attempt], None] | None, attempt: Attempt) -> None:
    if on_attempt is not None:
        on_attempt(attempt)


def _explanation(plan: Plan, attempts: list[Attempt]) -> str:
    failed = [a for a in attempts if a.error is not None]
    if not failed:
        return plan.explanation
    first = failed[0].error
    assert first is not None
    steps = "; then ".join(a.step for a in attempts[1:])
    return (f"{plan.explanation} The first plan did not load ({first.message.rstrip('.')}); "
            f"what worked: {steps}.")


def _gave_up(profile: GgufProfile, attempts: list[Attempt]) -> str:
    last = attempts[-1].error
    reason = last.message.rstrip(".") if last else "it did not load"
    return (f"{explain.model_label(profile)} could not be loaded on this machine after {len(attempts)} "
            f"attempts (last: {reason}). Close programs that use the GPU or RAM and try again, or choose a "
            "smaller model.")
