"""The fallback ladder, driven by an engine that fails on command, and once by the real worker engine."""

from __future__ import annotations

import concurrent.futures
import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from app.engine.interface import (
    Engine,
    EngineCapabilities,
    EngineError,
    EngineFailure,
    GenerateRequest,
    Generation,
    LoadPlan,
    ModelInfo,
)
from app.gguf import GgufProfile, read_profile
from app.planner import (
    LoadFailed,
    Machine,
    PlanRequest,
    RememberedPlans,
    Tightening,
    describe_machine,
    load_with_fallback,
    make_plan,
)
from app.planner.ladder import measured_deficit

GIB = 2**30
K = 1024
OUT_OF_MEMORY = EngineError("memory", "Not enough memory to load the model.",
                            detail="cudaMalloc failed: out of memory")


class CommandedEngine(Engine):
    """Loads succeed or fail as `decide(plan)` says: an injected failure, behind the real interface."""

    def __init__(self, decide: Callable[[LoadPlan], EngineError | None]) -> None:
        self.decide = decide
        self.loaded: list[LoadPlan] = []
        self.unloads = 0
        self._model: ModelInfo | None = None

    def load(self, plan: LoadPlan) -> concurrent.futures.Future[ModelInfo]:
        self.loaded.append(plan)
        future: concurrent.futures.Future[ModelInfo] = concurrent.futures.Future()
        error = self.decide(plan)
        if error is not None:
            future.set_exception(EngineFailure(error))
        else:
            self._model = ModelInfo(plan.model_path, plan, plan.n_ctx, 131072, 201088, "gpt-oss", {})
            future.set_result(self._model)
        return future

    def unload(self) -> concurrent.futures.Future[None]:
        self.unloads += 1
        self._model = None
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        future.set_result(None)
        return future

    def generate(self, request: GenerateRequest) -> Generation:
        raise NotImplementedError

    def count_tokens(self, texts: Sequence[str]) -> concurrent.futures.Future[list[int]]:
        raise NotImplementedError

    @property
    def model(self) -> ModelInfo | None:
        return self._model

    @property
    def capabilities(self) -> EngineCapabilities:
        return EngineCapabilities(tokenize=False, grammar=False, stream="token_ids", load_plans=True)

    def close(self) -> None:
        self._model = None


def card(gib: float = 24, ram_gib: float = 64) -> Machine:
    return describe_machine(gpu_total=int(gib * GIB), gpu_free=int((gib - 0.5) * GIB), ram=int(ram_gib * GIB),
                            cores=4)


def test_the_first_plan_loads(profile_20b: GgufProfile) -> None:
    engine = CommandedEngine(lambda plan: None)
    result = load_with_fallback(engine, profile_20b, card, remembered=RememberedPlans())
    assert [a.step for a in result.attempts] == ["the plan"]
    assert result.plan == make_plan(profile_20b, card())
    assert engine.loaded == [result.plan.load] and result.info.plan == result.plan.load
    assert result.explanation == result.plan.explanation
    assert not RememberedPlans().path.exists()  # nothing to correct, nothing written


def test_a_gpu_that_holds_less_than_it_says(profile_20b: GgufProfile) -> None:
    # the "driver" needs 2 GiB more than llama.cpp's figures: plans with more than 10 experts' blocks
    # on the GPU fail, as a card shared with another program would
    def decide(plan: LoadPlan) -> EngineError | None:
        return OUT_OF_MEMORY if 24 - len(plan.cpu_expert_blocks) > 18 else None

    engine = CommandedEngine(decide)
    seen = []
    result = load_with_fallback(engine, profile_20b, lambda: card(12), PlanRequest(n_ctx=32 * K),
                                remembered=RememberedPlans(), on_attempt=seen.append)
    assert len(result.attempts) >= 2 and result.attempts == tuple(seen)
    assert result.attempts[0].error == OUT_OF_MEMORY
    assert result.attempts[1].step.startswith("planning for")
    assert 24 - len(result.plan.cpu_expert_blocks) <= 18
    assert engine.unloads == len(result.attempts) - 1  # each failed attempt gave its memory back
    assert "The first plan did not load" in result.explanation
    # next time it starts from what worked, at once
    again = CommandedEngine(decide)
    second = load_with_fallback(again, profile_20b, lambda: card(12), PlanRequest(n_ctx=32 * K),
                                remembered=RememberedPlans())
    assert len(second.attempts) == 1
    assert second.attempts[0].step == "the plan remembered from an earlier load"
    assert second.plan.load == result.plan.load


def test_the_ladder_goes_down_in_order_and_gives_up(profile_20b: GgufProfile) -> None:
    engine = CommandedEngine(lambda plan: OUT_OF_MEMORY)
    with pytest.raises(LoadFailed) as caught:
        load_with_fallback(engine, profile_20b, lambda: card(12), PlanRequest(n_ctx=64 * K))
    steps = [a.step for a in caught.value.attempts]
    assert steps[0] == "the plan"
    order = ["planning for", "the q8_0 KV cache", "half the context (32K)", "all experts in RAM",
             "GPU layers", "the CPU only"]
    positions = [next(i for i, step in enumerate(steps) if marker in step) for marker in order]
    assert positions == sorted(positions)
    assert len(set(engine.loaded)) == len(engine.loaded)  # no plan is tried twice
    final = engine.loaded[-1]
    assert final.n_gpu_layers == 0 and final.kv_type == "q8_0" and final.n_ctx == 32 * K
    assert "could not be loaded on this machine after" in caught.value.message


def test_free_memory_is_read_again_before_each_step(profile_120b: GgufProfile) -> None:
    frees = iter([48.0, 30.0, 30.0, 30.0])
    reads: list[Machine] = []

    def read_machine() -> Machine:
        reads.append(card(next(frees), ram_gib=128))
        return reads[-1]

    engine = CommandedEngine(lambda plan: OUT_OF_MEMORY if len(engine.loaded) == 1 else None)
    request = PlanRequest(n_ctx=32 * K)
    result = load_with_fallback(engine, profile_120b, read_machine, request)
    assert len(reads) == 2
    first = make_plan(profile_120b, reads[0], request)
    # the second plan is made for the 30 GiB free now, less one block's experts (the failure named no size)
    deficit = Tightening(gpu_deficit=profile_120b.blocks[0].experts)
    assert result.plan == make_plan(profile_120b, reads[1], deficit.apply(request))
    same_free = make_plan(profile_120b, reads[0], deficit.apply(request))
    in_ram = [len(plan.cpu_expert_blocks) for plan in (result.plan, same_free, first)]
    assert in_ram == sorted(in_ram, reverse=True) and in_ram[0] > in_ram[1] > in_ram[2]


def test_a_crashed_worker_is_retried_a_broken_file_is_not(profile_20b: GgufProfile) -> None:
    crashed = EngineError("crashed", "The engine stopped unexpectedly.")
    engine = CommandedEngine(lambda plan: crashed if len(engine.loaded) == 1 else None)
    assert len(load_with_fallback(engine, profile_20b, card).attempts) == 2
    broken = EngineError("model", "gpt-oss-20b.gguf is damaged or incomplete. Download it again.")
    engine = CommandedEngine(lambda plan: broken)
    with pytest.raises(LoadFailed) as caught:
        load_with_fallback(engine, profile_20b, card)
    assert caught.value.message == broken.message and len(engine.loaded) == 1


def test_a_plan_that_cannot_fit_is_not_tried(profile_120b: GgufProfile) -> None:
    engine = CommandedEngine(lambda plan: None)
    with pytest.raises(LoadFailed) as caught:
        load_with_fallback(engine, profile_120b, lambda: describe_machine(ram=32 * GIB))
    assert engine.loaded == [] and "try gpt-oss-20b" in caught.value.message


def test_on_the_cpu_the_ladder_skips_gpu_steps(profile_20b: GgufProfile) -> None:
    engine = CommandedEngine(lambda plan: OUT_OF_MEMORY if plan.kv_type == "f16" else None)
    result = load_with_fallback(engine, profile_20b, lambda: describe_machine(ram=32 * GIB))
    assert [a.step for a in result.attempts] == ["the plan", "the q8_0 KV cache"]


def test_measured_deficit(profile_20b: GgufProfile) -> None:
    plan = make_plan(profile_20b, card(24))
    small = replace(OUT_OF_MEMORY,
                    detail="alloc_tensor_range: failed to allocate CUDA0 buffer of size 805306368")
    assert measured_deficit(profile_20b, plan, small) == 805306368
    cuda = replace(OUT_OF_MEMORY, detail="ggml_backend_cuda_buffer_type_alloc_buffer: allocating 512.50 MiB "
                                         "on device 0: cudaMalloc failed: out of memory")
    assert measured_deficit(profile_20b, plan, cuda) == int(512.5 * 2**20)
    whole_model = replace(OUT_OF_MEMORY, detail=f"failed to allocate CUDA0 buffer of size {11 * GIB}")
    one_block = profile_20b.blocks[0].experts
    assert measured_deficit(profile_20b, plan, whole_model) == one_block
    assert measured_deficit(profile_20b, plan, OUT_OF_MEMORY) == one_block


# ---- the real engine ----

def test_with_the_worker_engine_on_the_tiny_model(tiny_model: Path, tmp_path: Path) -> None:
    from app.engine.client import WorkerEngine

    engine = WorkerEngine()
    try:
        profile = read_profile(tiny_model)
        result = load_with_fallback(engine, profile, lambda: describe_machine(ram=8 * GIB),
                                    remembered=RememberedPlans(), timeout=120)
        assert len(result.attempts) == 1 and result.info.n_ctx == result.plan.n_ctx
        assert engine.model is not None and engine.model.plan == result.plan.load
        assert any(buffer.kind == "kv" for buffer in result.info.buffers)
        # a file that breaks after it was profiled: the engine says so, and no step is tried
        copy = tmp_path / "tiny.gguf"
        shutil.copyfile(tiny_model, copy)
        broken_profile = read_profile(copy)
        copy.write_bytes(tiny_model.read_bytes()[: tiny_model.stat().st_size // 2])
        with pytest.raises(LoadFailed) as caught:
            load_with_fallback(engine, broken_profile, lambda: describe_machine(ram=8 * GIB), timeout=120)
        assert len(caught.value.attempts) == 1 and "tiny.gguf" in caught.value.message
    finally:
        engine.close()
