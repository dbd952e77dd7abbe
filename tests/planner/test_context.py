"""Can the context be raised to N here, and how far can it go: the documents feature's questions."""

from __future__ import annotations

from app.gguf import GgufProfile
from app.planner import PlanRequest, context_option, describe_machine, make_plan, max_context

GIB = 2**30
K = 1024


def card(gib: float, ram_gib: float = 64):
    return describe_machine(gpu_total=int(gib * GIB), gpu_free=int((gib - 0.5) * GIB), ram=int(ram_gib * GIB))


def test_raising_the_context_where_it_costs_nothing_but_memory(profile_20b: GgufProfile) -> None:
    machine = card(16)
    current = make_plan(profile_20b, machine)
    option = context_option(profile_20b, machine, 128 * K, current)
    assert option.fits and option.n_ctx == 128 * K
    assert option.extra_cpu_expert_blocks == 0
    kv_growth = option.plan.gpu.kv - current.gpu.kv
    assert kv_growth == (128 - 32) * K * 12 * 2048  # 12 full-attention blocks, 2 KiB a cell
    assert option.extra_bytes >= kv_growth
    assert "fits as the model is placed now" in option.summary


def test_raising_the_context_that_moves_experts(profile_20b: GgufProfile) -> None:
    machine = card(8)
    current = make_plan(profile_20b, machine)
    option = context_option(profile_20b, machine, 128 * K, current)
    assert option.fits and option.extra_cpu_expert_blocks >= 5
    assert f"{option.extra_cpu_expert_blocks} more blocks move to RAM" in option.summary


def test_a_context_that_does_not_fit(profile_120b: GgufProfile) -> None:
    option = context_option(profile_120b, describe_machine(ram=32 * GIB), 64 * K)
    assert not option.fits and option.summary.startswith("A 64K context does not fit")


def test_max_context_keeping_the_placement_is_an_edge(profile_20b: GgufProfile) -> None:
    machine = card(8)
    current = make_plan(profile_20b, machine)
    edge = max_context(profile_20b, machine, keep_placement_of=current)
    assert edge >= current.n_ctx
    assert context_option(profile_20b, machine, edge, current).extra_cpu_expert_blocks == 0
    beyond = context_option(profile_20b, machine, edge + K, current)
    assert beyond.extra_cpu_expert_blocks > 0 or not beyond.fits or edge == 128 * K


def test_max_context_on_the_cpu_is_what_ram_allows(profile_20b: GgufProfile) -> None:
    assert max_context(profile_20b, describe_machine(ram=32 * GIB)) == 128 * K
    tight = describe_machine(ram=int(13.5 * GIB))
    edge = max_context(profile_20b, tight)
    assert 4 * K <= edge < 128 * K
    assert make_plan(profile_20b, tight, PlanRequest(n_ctx=edge)).fits
    assert not make_plan(profile_20b, tight, PlanRequest(n_ctx=edge + K)).fits
    assert max_context(profile_20b, describe_machine(ram=8 * GIB)) == 0
