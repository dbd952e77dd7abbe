"""The memory plan: a pure function of (model profile, machine, request) to a LoadPlan, with reasons.

How a plan is chosen, on a machine with a GPU (the same way llama.cpp's own `--fit` does it, plus a
choice of context):

1. Everything on the GPU if it fits, keeping a margin of 1 GiB free per GPU.
2. Otherwise every dense tensor stays on the GPU and the experts of the first N blocks stay in host
   memory, with the smallest N that fits. gpt-oss keeps 84% (20b) to 96% (120b) of its bytes in experts,
   of which each token reads only 4 of 32 or 128, so this costs far less speed than moving whole layers.
3. If even the dense part does not fit, fewer layers go to the GPU (n_gpu_layers), their experts in
   host memory too; if not even the output layer fits, the model runs on the CPU.

The context is 32K unless the request names one. It is raised to the trained 128K when that still fits
with everything on the GPU and room to spare (a tenth of the budget, so that the desktop or another
program taking a little more GPU memory later does not break a long chat), or, when experts are in host
memory at 32K already, when the longer context displaces no more than a tenth of the GPU's budget: then
generation speed changes by about that much for four times the context. The KV cache is f16; q8_0 only
where a named context would otherwise push experts off the GPU. What does not fit in RAM either is said
so plainly (with gpt-oss-20b suggested for the 120b) rather than planned to fail. On unified memory
(Apple silicon) GPU and CPU share one pool: everything goes to the GPU, and the pool is what the GPU
may use of the RAM.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from app.engine.interface import LoadPlan
from app.gguf import ContextSettings, GgufProfile, KvType, kv_bytes_per_block
from app.gguf.kv import padded_ctx
from app.planner import explain
from app.planner.devices import Gpu, Machine
from app.planner.sizes import (
    GIB,
    MIB,
    Buffers,
    Layout,
    MemoryUse,
    Refusals,
    device_use,
    memory_use,
    refusals,
)
from app.units import DEFAULT_CONTEXT, format_context

MIN_CTX = 4096
LONG_CONTEXT_SHARE = 0.10  # of the GPU budget: the room a raised context must leave, or may displace
PlanMode = Literal["gpu", "hybrid", "partial", "cpu", "unified"]


@dataclass(frozen=True)
class PlanRequest:
    n_ctx: int | None = None  # None: the planner chooses (see the module docstring)
    kv_type: KvType | None = None  # None: f16, or q8_0 where that keeps the experts on the GPU
    n_ubatch: int = 512
    # Output rows llama.cpp reserves per batch; the engine asks for 1 (only the last position is sampled).
    # None models llama.cpp's default (n_ubatch rows).
    n_outputs: int | None = 1
    gpu_margin: int | None = None  # kept free on each GPU; None: gpu_margin_for(its total memory)
    ram_margin: int = GIB
    # Tightenings that the fallback ladder adds after a failed load:
    gpu_deficit: int = 0  # bytes to plan as if missing from the GPU (what the failed load lacked)
    all_experts_on_cpu: bool = False
    max_gpu_layers: int | None = None
    cpu_only: bool = False


@dataclass(frozen=True)
class DeviceUse:
    name: str
    description: str
    predicted: Buffers
    memory_free: int
    memory_total: int


@dataclass(frozen=True)
class Plan:
    load: LoadPlan
    fits: bool  # False: the model is too big for this machine; `explanation` says so and what to do
    mode: PlanMode
    devices: tuple[DeviceUse, ...]  # predicted use per GPU (a multi-GPU load splits by free memory)
    host: Buffers  # predicted use of host memory
    ram_available: int
    explanation: str  # one sentence with the numbers, for the model picker
    warnings: tuple[str, ...] = ()
    suggestion: str | None = None  # another model to try when this one does not fit

    @property
    def gpu(self) -> Buffers:
        return _sum(device.predicted for device in self.devices)

    @property
    def n_ctx(self) -> int:
        return self.load.n_ctx

    @property
    def cpu_expert_blocks(self) -> tuple[int, ...]:
        return self.load.cpu_expert_blocks

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (`ossian plan --json`)."""
        load = self.load
        return {
            "model": load.model_path,
            "fits": self.fits,
            "mode": self.mode,
            "n_ctx": load.n_ctx,
            "n_gpu_layers": load.n_gpu_layers,
            "devices": None if load.devices is None else list(load.devices),
            "tensor_split": list(load.tensor_split),
            "cpu_expert_blocks": list(load.cpu_expert_blocks),
            "kv_type": load.kv_type,
            "flash_attn": load.flash_attn,
            "n_threads": load.n_threads,
            "n_ubatch": load.n_ubatch,
            "use_mmap": load.use_mmap,
            "predicted": {
                "devices": [{"name": d.name, "description": d.description, **_buffers(d.predicted),
                             "memory_free": d.memory_free, "memory_total": d.memory_total}
                            for d in self.devices],
                "host": {**_buffers(self.host), "ram_available": self.ram_available},
            },
            "explanation": self.explanation,
            "warnings": list(self.warnings),
            "suggestion": self.suggestion,
        }


def make_plan(profile: GgufProfile, machine: Machine, request: PlanRequest | None = None) -> Plan:
    """The plan for this model on this machine. Pure: the same inputs give the same plan."""
    request = request or PlanRequest()
    gpus = () if request.cpu_only else machine.usable_gpus
    if not gpus:
        plan = _cpu_plan(profile, machine, request)
    elif machine.unified_memory:
        plan = _unified_plan(profile, machine, request)
    else:
        plan = _gpu_plan(profile, machine, request)
    trained = profile.hparams.n_ctx_train
    if request.n_ctx is not None and request.n_ctx > trained:
        note = f"the model was trained for {format_context(trained)} tokens, so the context stops there"
        plan = replace(plan, warnings=(note, *plan.warnings))
    return plan


# ---- discrete GPUs ----

def gpu_margin_for(total: int) -> int:
    """Memory kept free on a GPU: llama.cpp's --fit keeps 1 GiB, which is half of a 2 GiB card; an eighth
    of the card, between 256 MiB and 1 GiB, leaves small devices usable and large ones as safe."""
    return max(256 * MIB, min(GIB, total // 8))


@dataclass(frozen=True)
class _Devices:
    """The GPUs a plan uses, their budgets, the split of layers over them and what they refuse."""

    gpus: tuple[Gpu, ...]
    budgets: tuple[int, ...]
    refused: Refusals

    def split(self, profile: GgufProfile, layout: Layout, settings: ContextSettings) -> tuple[float, ...]:
        """Layers per device (llama.cpp's tensor_split, given as layer counts, which its rule places
        exactly): the offloaded layers in order fill each GPU's free memory in turn, so a device whose
        first blocks keep their experts in RAM takes more of them. One GPU: (1.0,)."""
        if len(self.gpus) == 1:
            return (1.0,)
        n = profile.hparams.n_blocks
        kv = kv_bytes_per_block(profile, settings)
        sizes = []
        for index in layout.gpu_blocks(n):
            block = profile.blocks[index]
            size = block.dense - self.refused.dense_of(index) + kv[index]
            if index not in layout.cpu_expert_blocks:
                size += block.experts - self.refused.experts_of(index)
            sizes.append(size)
        if layout.output_on_gpu:
            sizes.append(profile.output_bytes - self.refused.output)
        compute = device_use(profile, layout, settings, (1.0,), self.refused)[0].compute
        counts = [0] * len(self.gpus)
        device, room = 0, self.budgets[0] - compute
        for size in sizes:
            while size > room and device < len(self.gpus) - 1:
                device += 1
                room = self.budgets[device] - compute
            counts[device] += 1
            room -= size
        return tuple(float(count) for count in counts)

    @property
    def forced_expert_blocks(self) -> frozenset[int]:
        """Blocks whose experts the devices refuse whole: llama.cpp keeps them in RAM in any case."""
        return frozenset(i for i, refused in enumerate(self.refused.experts) if refused)

    def use(self, profile: GgufProfile, layout: Layout, settings: ContextSettings) -> tuple[Buffers, ...]:
        return device_use(profile, layout, settings, self.split(profile, layout, settings), self.refused)

    def fits(self, shares: tuple[Buffers, ...]) -> bool:
        return all(share.total <= budget for share, budget in zip(shares, self.budgets, strict=False))


def _plan_devices(profile: GgufProfile, machine: Machine, request: PlanRequest) -> _Devices:
    gpus = machine.usable_gpus
    budgets = []
    for gpu in gpus:
        margin = request.gpu_margin if request.gpu_margin is not None else gpu_margin_for(gpu.memory_total)
        budgets.append(gpu.memory_free - margin)
    # a deficit from a failed load is taken from each device in proportion to its budget
    total = sum(max(b, 0) for b in budgets) or 1
    budgets = [b - request.gpu_deficit * max(b, 0) // total for b in budgets]
    limits: dict[str, int] = {}
    for gpu in gpus:  # the strictest device decides: a weight goes wherever its layer lands
        for kind, limit in gpu.weight_limits.items():
            limits[kind] = min(limit, limits.get(kind, limit))
    return _Devices(gpus, tuple(budgets), refusals(profile, limits))


def _gpu_plan(profile: GgufProfile, machine: Machine, request: PlanRequest) -> Plan:
    devices = _plan_devices(profile, machine, request)
    budget = sum(devices.budgets)
    long_ctx = profile.hparams.n_ctx_train

    def attempt(n_ctx: int, kv_type: KvType) -> tuple[Layout, MemoryUse, ContextSettings] | None:
        settings = _settings(request, n_ctx, kv_type)
        layout = _fit_layout(profile, settings, devices, request)
        if layout is None:
            return None
        shares = devices.use(profile, layout, settings)
        return layout, MemoryUse(gpu=_sum(shares[:-1]), host=shares[-1]), settings

    if request.n_ctx is not None:
        n_ctx = _named_ctx(profile, request.n_ctx)
        chosen = attempt(n_ctx, request.kv_type or "f16")
        if request.kv_type is None and not _all_on_gpu(profile, chosen, devices):
            quantized = attempt(n_ctx, "q8_0")
            if _all_on_gpu(profile, quantized, devices):
                chosen = quantized
    else:
        kv_type = request.kv_type or "f16"
        base = attempt(min(DEFAULT_CONTEXT, long_ctx), kv_type)
        long = attempt(long_ctx, kv_type) if long_ctx > DEFAULT_CONTEXT else None
        roomy = _all_on_gpu(profile, long, devices) and long[1].gpu.total <= (1 - LONG_CONTEXT_SHARE) * budget
        if roomy or (
                long is not None and base is not None and _hybrid(profile, base) and _hybrid(profile, long)
                and long[1].gpu.kv - base[1].gpu.kv <= LONG_CONTEXT_SHARE * budget):
            chosen = long
        else:
            chosen = base
    if chosen is None:  # not even the output layer fits: the GPU cannot help
        return _cpu_plan(profile, machine, request, reason=explain.gpu_too_small(machine))
    layout, use, settings = chosen
    if use.host.total > machine.ram_available - request.ram_margin and request.n_ctx is None:
        smaller = _shrink_context(lambda n: attempt(n, settings.kv_type), settings.n_ctx,
                                  lambda c: c[1].host.total <= machine.ram_available - request.ram_margin)
        if smaller is not None:
            layout, use, settings = smaller
    mode: PlanMode = ("gpu" if _layout_all_on_gpu(profile, layout) else
                      "hybrid" if layout.n_gpu_blocks == profile.hparams.n_blocks else "partial")
    fits = use.host.total <= machine.ram_available - request.ram_margin
    load = _load_plan(profile, machine, layout, settings, devices)
    used = _device_uses(devices, devices.use(profile, layout, settings))
    if not fits:
        return _too_big(profile, machine, load, mode, used, use.host)
    sentence = explain.placed(profile, machine, mode, layout, use, settings.n_ctx, settings.kv_type,
                              devices=used,
                              forced=len(devices.forced_expert_blocks & layout.cpu_expert_blocks),
                              refused_output=devices.refused.output > 0 and layout.output_on_gpu)
    return Plan(load=load, fits=True, mode=mode, devices=used, host=use.host,
                ram_available=machine.ram_available, explanation=sentence,
                warnings=_warnings(profile, machine, layout, use))


def _fit_layout(profile: GgufProfile, settings: ContextSettings, devices: _Devices,
                request: PlanRequest) -> Layout | None:
    """The layout with the most on the GPUs that fits every device's budget, or None if not even the
    output layer fits. Experts the devices refuse are in host memory in every layout (llama.cpp puts
    them there), so the plan's overrides say what llama.cpp will do anyway."""
    n = profile.hparams.n_blocks
    max_layers = n + 1 if request.max_gpu_layers is None else max(0, min(n + 1, request.max_gpu_layers))
    forced = devices.forced_expert_blocks

    def fits(layout: Layout) -> bool:
        return devices.fits(devices.use(profile, layout, settings))

    if max_layers == n + 1:
        first = n if request.all_experts_on_cpu else 0
        tried: set[frozenset[int]] = set()
        for k in range(first, n + 1):  # the experts of the first k blocks stay in host memory
            on_cpu = frozenset(range(k)) | forced
            if on_cpu in tried:
                continue
            tried.add(on_cpu)
            layout = Layout(n, True, on_cpu)
            if fits(layout):
                return layout
    for blocks in range(min(max_layers - 1, n - 1), -1, -1):  # fewer layers, dense parts only
        layout = Layout(blocks, True, frozenset(range(n - blocks, n)))
        if fits(layout):
            return layout
    return None


# ---- CPU only and unified memory ----

def _cpu_plan(profile: GgufProfile, machine: Machine, request: PlanRequest, reason: str = "") -> Plan:
    ram_budget = machine.ram_available - request.ram_margin

    def attempt(n_ctx: int, kv_type: KvType) -> tuple[Layout, MemoryUse, ContextSettings]:
        settings = _settings(request, n_ctx, kv_type)
        layout = Layout.cpu_only()
        return layout, memory_use(profile, layout, settings), settings

    layout, use, settings = _context_for_pool(
        profile, request, attempt, lambda c: c[1].host.total <= ram_budget)
    load = _load_plan(profile, machine, layout, settings)
    if use.host.total > ram_budget:
        return _too_big(profile, machine, load, "cpu", (), use.host)
    reason = reason or explain.why_cpu(machine, request)
    return Plan(load=load, fits=True, mode="cpu", devices=(), host=use.host,
                ram_available=machine.ram_available,
                explanation=explain.on_cpu(profile, machine, reason, use, settings.n_ctx),
                warnings=_warnings(profile, machine, layout, use))


def _unified_plan(profile: GgufProfile, machine: Machine, request: PlanRequest) -> Plan:
    gpu = machine.usable_gpus[0]
    margin = request.gpu_margin if request.gpu_margin is not None else gpu_margin_for(gpu.memory_total)
    pool = min(gpu.memory_free, machine.ram_available) - margin - request.gpu_deficit
    n = profile.hparams.n_blocks

    def attempt(n_ctx: int, kv_type: KvType) -> tuple[Layout, MemoryUse, ContextSettings]:
        settings = _settings(request, n_ctx, kv_type)
        layers = n + 1 if request.max_gpu_layers is None else request.max_gpu_layers
        layout = Layout(max(0, min(n, layers - 1)), layers > 0)
        return layout, memory_use(profile, layout, settings), settings

    def fits(candidate: tuple[Layout, MemoryUse, ContextSettings]) -> bool:
        use = candidate[1]
        return use.gpu.total + use.host.total <= pool  # one pool: the GPU's share and the CPU's come from it

    layout, use, settings = _context_for_pool(profile, request, attempt, fits, room=pool)
    load = _load_plan(profile, machine, layout, settings)
    devices = _split_over_gpus(machine, use.gpu)
    if not fits((layout, use, settings)):
        return _too_big(profile, machine, load, "unified", devices, use.host, pool=pool)
    return Plan(load=load, fits=True, mode="unified", devices=devices, host=use.host,
                ram_available=machine.ram_available,
                explanation=explain.unified(profile, machine, use, pool, settings.n_ctx),
                warnings=_warnings(profile, machine, layout, use))


def _context_for_pool(profile: GgufProfile, request: PlanRequest, attempt: Any, fits: Any,
                      room: int | None = None) -> tuple[Layout, MemoryUse, ContextSettings]:
    """One memory pool: the named context, or 32K (first the trained 128K where it fits in `room` with
    room to spare), halved down to 4K while it does not fit."""
    kv_type = request.kv_type or "f16"
    if request.n_ctx is not None:
        chosen = attempt(_named_ctx(profile, request.n_ctx), kv_type)
        if request.kv_type is None and not fits(chosen):
            quantized = attempt(chosen[2].n_ctx, "q8_0")
            chosen = quantized if fits(quantized) else chosen
        return chosen
    long_ctx = profile.hparams.n_ctx_train
    if room is not None and long_ctx > DEFAULT_CONTEXT:
        long = attempt(long_ctx, kv_type)
        if fits(long) and _total(long) <= (1 - LONG_CONTEXT_SHARE) * room:
            return long
    base = attempt(min(DEFAULT_CONTEXT, long_ctx), kv_type)
    if fits(base):
        return base
    smaller = _shrink_context(lambda n_ctx: attempt(n_ctx, kv_type), base[2].n_ctx, fits)
    return smaller if smaller is not None else base


def _shrink_context(attempt: Any, n_ctx: int, fits: Any) -> Any:
    while n_ctx > MIN_CTX:
        n_ctx = max(MIN_CTX, n_ctx // 2)
        candidate = attempt(n_ctx)
        if candidate is not None and fits(candidate):
            return candidate
    return None


# ---- pieces ----

def _settings(request: PlanRequest, n_ctx: int, kv_type: KvType) -> ContextSettings:
    return ContextSettings(n_ctx=n_ctx, kv_type=kv_type, n_ubatch=request.n_ubatch,
                           n_outputs=request.n_outputs)


def _named_ctx(profile: GgufProfile, n_ctx: int) -> int:
    return max(256, min(padded_ctx(n_ctx), profile.hparams.n_ctx_train))


def _layout_all_on_gpu(profile: GgufProfile, layout: Layout, forced: frozenset[int] = frozenset()) -> bool:
    """Everything the devices can take is on them (experts they refuse do not count against it)."""
    return layout.n_gpu_blocks == profile.hparams.n_blocks and layout.output_on_gpu \
        and layout.cpu_expert_blocks <= forced


def _all_on_gpu(profile: GgufProfile, candidate: tuple[Layout, MemoryUse, ContextSettings] | None,
                devices: _Devices | None = None) -> bool:
    forced = devices.forced_expert_blocks if devices is not None else frozenset()
    return candidate is not None and _layout_all_on_gpu(profile, candidate[0], forced)


def _hybrid(profile: GgufProfile, candidate: tuple[Layout, MemoryUse, ContextSettings]) -> bool:
    layout = candidate[0]
    return layout.n_gpu_blocks == profile.hparams.n_blocks and bool(layout.cpu_expert_blocks)


def _load_plan(profile: GgufProfile, machine: Machine, layout: Layout, settings: ContextSettings,
               devices: _Devices | None = None) -> LoadPlan:
    n = profile.hparams.n_blocks
    n_gpu_layers = -1 if layout.n_gpu_blocks == n and layout.output_on_gpu else layout.n_gpu_layers
    names: tuple[str, ...] | None = None  # described or read from the drivers: llama.cpp's own choice
    split: tuple[float, ...] = ()
    if not layout.n_gpu_layers:
        names = ()  # the CPU alone, and no operation sent to a device either
    elif devices is not None and len(devices.gpus) > 1:
        # exactly the devices that get layers, with llama.cpp's split given as their layer counts
        shares = devices.split(profile, layout, settings)
        used = [(gpu, share) for gpu, share in zip(devices.gpus, shares, strict=True) if share]
        names, split = tuple(g.name for g, _ in used), tuple(share for _, share in used)
    elif devices is not None and machine.source == "llama.cpp":
        names = tuple(gpu.name for gpu in devices.gpus)  # exactly the device planned for, no other
    return LoadPlan(
        model_path=str(profile.path),
        n_ctx=settings.n_ctx,
        n_gpu_layers=n_gpu_layers,
        devices=names,
        tensor_split=split,
        cpu_expert_blocks=tuple(sorted(layout.cpu_expert_blocks)),
        kv_type=settings.kv_type,
        flash_attn=True,  # on every backend llama.cpp has for gpt-oss; without it the compute buffer grows
        n_threads=machine.physical_cores,
        n_batch=max(512, settings.n_ubatch),
        n_ubatch=settings.n_ubatch,
        n_outputs_max=settings.n_outputs or 0,
        # mmap even with experts in host memory, though llama.cpp says those run a little faster without:
        # without it the whole file must fit in free RAM at load (the engine checks that), which would
        # refuse exactly the large models that hybrid plans are for
        use_mmap=True,
    )


def _device_uses(devices: _Devices, shares: tuple[Buffers, ...]) -> tuple[DeviceUse, ...]:
    return tuple(DeviceUse(g.name, g.description, share, g.memory_free, g.memory_total)
                 for g, share in zip(devices.gpus, shares, strict=False))


def _split_over_gpus(machine: Machine, gpu: Buffers) -> tuple[DeviceUse, ...]:
    """Unified memory: the one GPU takes what the plan puts on the GPU."""
    return tuple(DeviceUse(g.name, g.description, gpu if index == 0 else Buffers(), g.memory_free,
                           g.memory_total) for index, g in enumerate(machine.usable_gpus))


def _too_big(profile: GgufProfile, machine: Machine, load: LoadPlan, mode: PlanMode,
             devices: tuple[DeviceUse, ...], host: Buffers, pool: int | None = None) -> Plan:
    suggestion = "gpt-oss-20b" if explain.model_label(profile) == "gpt-oss-120b" else None
    sentence = explain.too_big(profile, machine, devices, host, suggestion, pool)
    return Plan(load=load, fits=False, mode=mode, devices=devices, host=host,
                ram_available=machine.ram_available, explanation=sentence, suggestion=suggestion)


def _warnings(profile: GgufProfile, machine: Machine, layout: Layout, use: MemoryUse) -> tuple[str, ...]:
    notes = list(machine.notes)
    if machine.source not in ("llama.cpp", "described"):
        notes.append(f"GPU memory was read from {machine.source}, not from llama.cpp: the plan may not match "
                     "what this llama.cpp build can use")
    if use.host.total > 0.9 * machine.ram_available:
        notes.append("RAM is nearly full with this plan: other programs may slow down or be swapped out")
    if layout.n_gpu_layers and layout.n_gpu_blocks < profile.hparams.n_blocks:
        notes.append("only part of the model fits on the GPU: expect slow answers")
    return tuple(notes)


def _total(candidate: tuple[Layout, MemoryUse, ContextSettings]) -> int:
    return candidate[1].gpu.total + candidate[1].host.total


def _buffers(buffers: Buffers) -> dict[str, int]:
    return {"model": buffers.model, "kv": buffers.kv, "compute": buffers.compute, "output": buffers.output,
            "total": buffers.total}


def _sum(parts: Any) -> Buffers:
    total = Buffers()
    for part in parts:
        total = replace(total, model=total.model + part.model, kv=total.kv + part.kv,
                        compute=total.compute + part.compute, output=total.output + part.output)
    return total
