"""The plan in one sentence, with its numbers: what goes where, on which device, with which context.

The model picker shows it as is, so it names things as a person would (the GPU's marketing name, GiB
with one decimal, "32K" contexts: both worded by `app.units`) and always says why when the choice is not
the obvious one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.gguf import GgufProfile
from app.planner.devices import Machine
from app.planner.sizes import Buffers, Layout, MemoryUse
from app.units import context_label, format_gib

if TYPE_CHECKING:
    from app.planner.plan import DeviceUse, PlanMode, PlanRequest

KNOWN_SHAPES = {(24, 32): "gpt-oss-20b", (36, 128): "gpt-oss-120b"}


def model_label(profile: GgufProfile) -> str:
    h = profile.hparams
    return KNOWN_SHAPES.get((h.n_blocks, h.n_experts), profile.name or profile.path.stem)


def placed(profile: GgufProfile, machine: Machine, mode: PlanMode, layout: Layout, use: MemoryUse,
           n_ctx: int, kv_type: str, devices: tuple[DeviceUse, ...] = (), forced: int = 0,
           refused_output: bool = False) -> str:
    name, gpu, n = model_label(profile), machine.gpu_label, profile.hparams.n_blocks
    free = sum(g.memory_free for g in machine.usable_gpus)
    gpu_use = f"{format_gib(use.gpu.total)} of {format_gib(free)} free"
    in_ram = f"{format_gib(use.host.total)} of {format_gib(machine.ram_available)} available RAM"
    ctx = f"a {context_label(n_ctx)}" + (" (q8_0 KV cache)" if kv_type == "q8_0" else "")
    split = _split(devices)
    blocks = len(layout.cpu_expert_blocks)
    if mode == "gpu" or (mode == "hybrid" and forced and blocks == forced):
        sentence = f"All of {name} runs on the {gpu}{split} ({gpu_use}) with {ctx}."
        if forced:
            sentence = (f"{name} runs on the {gpu}{split} ({gpu_use}) with {ctx}; the experts of {forced} of "
                        f"its {n} blocks stay in RAM ({in_ram}) because the device does not take them "
                        "(its backend refuses weights of that kind or size, so llama.cpp keeps them on "
                        "the CPU).")
    elif mode == "hybrid":
        sentence = (f"{name} runs on the {gpu}{split} with the experts of {blocks} of its {n} blocks kept in "
                    f"RAM because the whole model does not fit ({gpu_use} on the GPU; {in_ram}), with {ctx}.")
    else:
        sentence = (f"Only {layout.n_gpu_blocks} of {name}'s {n} blocks fit on the {gpu}{split} ({gpu_use}); "
                    f"the rest runs on the CPU ({in_ram}), with {ctx}, so answers will be slow.")
    if refused_output:
        sentence = (sentence[:-1] + "; its output layer is larger than the device takes at once, so it runs "
                    "on the CPU.")
    return sentence


def _split(devices: tuple[DeviceUse, ...]) -> str:
    """" split over 2 GPUs (12.3 GiB on CUDA0, 10.1 GiB on CUDA1)" for a multi-GPU plan."""
    used = [d for d in devices if d.predicted.total]
    if len(used) < 2:
        return ""
    parts = ", ".join(f"{format_gib(d.predicted.total)} on {d.name}" for d in used)
    return f" split over {len(used)} GPUs ({parts})"


def on_cpu(profile: GgufProfile, machine: Machine, reason: str, use: MemoryUse, n_ctx: int) -> str:
    return (f"{reason}: {model_label(profile)} runs on the CPU using {format_gib(use.host.total)} of "
            f"{format_gib(machine.ram_available)} available RAM, with a {context_label(n_ctx)}.")


def unified(profile: GgufProfile, machine: Machine, use: MemoryUse, pool: int, n_ctx: int) -> str:
    need = use.gpu.total + use.host.total
    return (f"All of {model_label(profile)} runs on the {machine.gpu_label} in unified memory "
            f"({format_gib(need)} of the {format_gib(pool)} it can use), with a {context_label(n_ctx)}.")


def why_cpu(machine: Machine, request: PlanRequest) -> str:
    if request.cpu_only:
        return "Asked to use the CPU only"
    if machine.source == "described":
        return "CPU only (no GPU described)"
    if not machine.gpu_offload and machine.source == "llama.cpp":
        return "This llama.cpp build is CPU only"
    return "CPU only (no GPU that llama.cpp can use)"


def gpu_too_small(machine: Machine) -> str:
    free = sum(g.memory_free for g in machine.usable_gpus)
    return f"The {machine.gpu_label} has too little free memory to help ({format_gib(free)} free)"


def too_big(profile: GgufProfile, machine: Machine, devices: tuple[DeviceUse, ...], host: Buffers,
            suggestion: str | None, pool: int | None) -> str:
    name = model_label(profile)
    gpu_part = sum(d.predicted.total for d in devices)
    need = gpu_part + host.total
    if pool is not None:
        where = f"the {format_gib(pool)} of unified memory the GPU can use"
    elif devices:
        free = sum(d.memory_free for d in devices)
        ram = format_gib(machine.ram_available)
        where = (f"{format_gib(free)} free on the {machine.gpu_label} plus {ram} of RAM "
                 f"(it would need {format_gib(host.total)} of RAM)")
    else:
        where = f"{format_gib(machine.ram_available)} of available RAM"
    advice = (f"; try {suggestion}" if suggestion
              else "; close other programs or use a machine with more memory")
    return (f"{name} does not fit this machine: it needs about {format_gib(need)}, and there is "
            f"{where}{advice}.")
