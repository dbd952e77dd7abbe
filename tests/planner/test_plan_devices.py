"""Plans over real device lists: what a device refuses, margins for small cards, several GPUs, which
devices are used at all (software renderers, a card seen twice, an integrated beside a discrete GPU, a
pinned device), and the CPU plan keeping every device out.

The devices are described as the probe reports them; the weight limits are the kind the probe measures
(`app.engine.worker_ops`). The Vulkan tests check the same arithmetic against llama.cpp on a device.
"""

from __future__ import annotations

from dataclasses import replace

from app.gguf import ContextSettings, GgufProfile
from app.planner import Gpu, Machine, PlanRequest, make_plan
from app.planner.plan import gpu_margin_for
from app.planner.sizes import Layout, device_use, layer_devices, refusals

GIB = 2**30
MIB = 2**20
K = 1024


def machine(*gpus: Gpu, ram_gib: float = 64) -> Machine:
    ram = int(ram_gib * GIB)
    return Machine(gpus=gpus, ram_total=ram, ram_available=ram, physical_cores=8)


def card(name: str, gib: float, *, kind: str = "gpu", free_gib: float | None = None, **extra) -> Gpu:
    free = int((gib - 0.5 if free_gib is None else free_gib) * GIB)
    return Gpu(name, extra.pop("description", f"{gib:.0f} GB card"), kind, free, int(gib * GIB), **extra)


# lavapipe's answers, as the probe reads them: no expert product at all, no single weight over 128 MiB
LAVAPIPE_LIMITS = {"mul_mat/f32": 128 * MIB, "mul_mat/f16": 128 * MIB, "mul_mat/q8_0": 128 * MIB,
                   "mul_mat/mxfp4": 128 * MIB, "mul_mat_id/f32": 0, "mul_mat_id/f16": 0,
                   "mul_mat_id/q8_0": 0, "mul_mat_id/mxfp4": 0}


def test_the_margin_suits_the_card() -> None:
    assert gpu_margin_for(2 * GIB) == 256 * MIB  # a fixed 1 GiB would be half of it
    assert gpu_margin_for(4 * GIB) == 512 * MIB
    assert gpu_margin_for(8 * GIB) == GIB
    assert gpu_margin_for(80 * GIB) == GIB
    assert gpu_margin_for(512 * MIB) == 256 * MIB


def test_refusals_follow_the_limits(profile_20b: GgufProfile) -> None:
    none = refusals(profile_20b, {})
    assert not none.any
    refused = refusals(profile_20b, LAVAPIPE_LIMITS)
    assert all(refused.experts[i] == profile_20b.blocks[i].experts for i in range(24))
    output = next(t for t in profile_20b.tensors if t.name == "output.weight")
    assert refused.output == output.nbytes > 128 * MIB
    assert not any(refused.dense)  # attention matrices are a few MiB each
    # a limit just above the largest expert tensor takes them all
    largest = max(t.nbytes for t in profile_20b.tensors if "_exps.weight" in t.name)
    assert not any(refusals(profile_20b, {"mul_mat_id/mxfp4": largest}).experts)
    assert all(refusals(profile_20b, {"mul_mat_id/mxfp4": largest - 1}).experts)


def test_a_device_that_runs_no_expert_product_gets_the_dense_part_only(profile_20b: GgufProfile) -> None:
    small = card("Vulkan0", 2, free_gib=2, description="llvmpipe (LLVM 15.0.6, 256 bits)",
                 backend="Vulkan", software=True, weight_limits=LAVAPIPE_LIMITS)
    plan = make_plan(profile_20b, replace(machine(small), allow_software_gpus=True), PlanRequest(n_ctx=4 * K))
    # every layer on the device, every expert in RAM (llama.cpp would put them there anyway), and the
    # prediction counts on the device only what it takes: the blocks' dense parts, not the output matrix
    assert plan.fits and plan.load.n_gpu_layers == -1 and plan.load.devices == ("Vulkan0",)
    assert plan.cpu_expert_blocks == tuple(range(24))
    device = plan.devices[0].predicted
    output_matrix = next(t.nbytes for t in profile_20b.tensors if t.name == "output.weight")
    assert device.model == profile_20b.dense_block_bytes + profile_20b.output_bytes - output_matrix
    assert plan.host.model == profile_20b.expert_bytes + output_matrix + profile_20b.token_embd_bytes
    assert device.total < 2 * GIB - 256 * MIB
    assert "does not take them" in plan.explanation
    assert "output layer" in plan.explanation


def test_without_limits_the_same_device_fell_back_to_fewer_layers(profile_20b: GgufProfile) -> None:
    """The planner's old arithmetic, which the issue measured as 13 of 25 layers: the limits are what
    let it run every layer."""
    small = card("Vulkan0", 2, free_gib=2, backend="Vulkan")
    plan = make_plan(profile_20b, machine(small), PlanRequest(n_ctx=4 * K, gpu_margin=GIB))
    assert plan.mode == "partial"


def test_120b_over_two_24_gb_cards_splits_by_free_memory(profile_120b: GgufProfile) -> None:
    first = card("CUDA0", 24, free_gib=23.0, description="NVIDIA GeForce RTX 3090", backend="CUDA",
                 device_id="0000:01:00.0")
    second = card("CUDA1", 24, free_gib=21.0, description="NVIDIA GeForce RTX 3090", backend="CUDA",
                  device_id="0000:02:00.0")
    plan = make_plan(profile_120b, machine(first, second, ram_gib=128))
    assert plan.fits and plan.mode == "hybrid"
    assert plan.load.devices == ("CUDA0", "CUDA1")
    split = plan.load.tensor_split  # layer counts, which llama.cpp's rule places exactly
    assert len(split) == 2 and sum(split) == 37
    # the first card holds the blocks whose experts stay in RAM, so it takes more of the layers
    assert split[0] > split[1]
    for use, gpu in zip(plan.devices, (first, second), strict=True):
        assert 0 < use.predicted.total <= gpu.memory_free - GIB
    # both cards are used well: a single card would keep far more experts in RAM
    one = make_plan(profile_120b, machine(first, ram_gib=128))
    assert len(plan.cpu_expert_blocks) < len(one.cpu_expert_blocks) - 8
    assert plan.cpu_expert_blocks == tuple(range(len(plan.cpu_expert_blocks)))  # experts to RAM from block 0
    assert "split over 2 GPUs" in plan.explanation and "CUDA0" in plan.explanation


def test_layers_go_to_devices_by_llama_cpps_rule() -> None:
    layout = Layout(24, True)
    assert layer_devices(layout, 24, (0.5, 0.5)) == [0] * 13 + [1] * 12
    assert layer_devices(layout, 24, (1.0,)) == [0] * 25
    assert layer_devices(Layout(10, True), 24, (1.0,)) == [None] * 14 + [0] * 11
    assert layer_devices(Layout(0, False), 24, (1.0,)) == [None] * 25


def test_device_shares_add_up_to_the_whole(profile_120b: GgufProfile) -> None:
    settings = ContextSettings(n_ctx=32 * K, n_outputs=1)
    layout = Layout(36, True, frozenset(range(20)))
    one = device_use(profile_120b, layout, settings, (1.0,))
    two = device_use(profile_120b, layout, settings, (0.5, 0.5))
    assert two[0].model + two[1].model == one[0].model
    assert two[0].kv + two[1].kv == one[0].kv
    assert two[-1] == one[-1]  # host memory does not depend on the split


def test_an_integrated_gpu_beside_a_discrete_one_is_left_alone() -> None:
    igpu = card("Vulkan0", 16, kind="igpu", description="AMD Radeon 780M", backend="Vulkan")
    dgpu = card("Vulkan1", 12, description="AMD Radeon RX 7700 XT", backend="Vulkan")
    described = machine(igpu, dgpu)
    assert described.usable_gpus == (dgpu,)
    assert described.unused_gpus == (igpu,)


def test_a_card_seen_through_two_backends_counts_once() -> None:
    cuda = card("CUDA0", 24, description="NVIDIA GeForce RTX 4090", backend="CUDA", device_id="0000:01:00.0")
    vulkan = card("Vulkan0", 24, description="NVIDIA GeForce RTX 4090", backend="Vulkan",
                  device_id="0000:01:00.0")
    assert machine(cuda, vulkan).usable_gpus == (cuda,)


def test_a_software_renderer_is_never_chosen_for_speed(profile_20b: GgufProfile) -> None:
    lavapipe = card("Vulkan0", 2, free_gib=2, description="llvmpipe (LLVM 15.0.6, 256 bits)",
                    backend="Vulkan", software=True)
    plan = make_plan(profile_20b, machine(lavapipe))
    assert plan.mode == "cpu" and plan.load.devices == () and plan.devices == ()
    assert replace(machine(lavapipe), allow_software_gpus=True).usable_gpus == (lavapipe,)


def test_a_pinned_device_is_used_alone(profile_20b: GgufProfile) -> None:
    big = card("CUDA0", 24, backend="CUDA", device_id="a")
    small = card("CUDA1", 8, backend="CUDA", device_id="b")
    pinned = replace(machine(big, small), pinned_gpu="CUDA1")
    assert pinned.usable_gpus == (small,)
    plan = make_plan(profile_20b, pinned)
    assert plan.load.devices == ("CUDA1",) and plan.load.tensor_split == ()
    # a pin that names a device no longer there is ignored rather than leaving the model on the CPU
    gone = replace(machine(big, small), pinned_gpu="CUDA7")
    assert gone.usable_gpus == (big, small)


def test_a_cpu_plan_keeps_every_device_out(profile_20b: GgufProfile) -> None:
    gpu = card("Vulkan0", 8, backend="Vulkan")
    plan = make_plan(profile_20b, machine(gpu), PlanRequest(cpu_only=True))
    assert plan.mode == "cpu" and plan.load.n_gpu_layers == 0
    assert plan.load.devices == ()  # no device, so the worker turns operation offload off too
