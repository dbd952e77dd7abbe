"""The machine as the planner sees it: GPUs with free and total memory, system RAM, CPU cores.

The truth is what llama.cpp itself sees: the probe child (`app.engine.probe`) lists ggml's devices through
the bundled libraries. When that fails (llama.cpp cannot load, or the probe crashes in a driver), the
GPUs are read the way the drivers publish them instead (`device_fallbacks`: NVML, AMD's sysfs files,
macOS's memory size), and the machine says where its figures came from. System RAM comes from psutil.

A machine can also be described rather than detected (`describe_machine`), which is how `ossian plan`
answers "what could I run on a 24 GB card?".
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field, replace
from typing import Literal

from app.engine.probe import ProbeReport, run_probe
from app.planner import device_fallbacks
from app.units import GIB, format_bytes

DeviceKind = Literal["gpu", "igpu", "accel"]
# Share of unified memory macOS lets the GPU use (its recommendedMaxWorkingSetSize): about 75% on
# machines with more than 36 GB, about two thirds below (measured: 96 GiB of 128, 48 of 64).
APPLE_WORKING_SET_LARGE = 0.75
APPLE_WORKING_SET_SMALL = 2 / 3
# psutil is imported where the machine is read, not with this module: the window imports the planner on
# its way to the first frame and reads the machine afterwards, in the background (30-60 ms).
ALLOW_SOFTWARE_GPUS = "OSSIAN_ALLOW_SOFTWARE_GPU"  # "1": plan for lavapipe & co. (the GPU-path tests)


def allow_software_gpus() -> bool:
    return os.environ.get(ALLOW_SOFTWARE_GPUS, "") == "1"


@dataclass(frozen=True)
class Gpu:
    name: str  # llama.cpp's device name, e.g. CUDA0, Metal, Vulkan1
    description: str  # e.g. NVIDIA GeForce RTX 4090
    kind: DeviceKind
    memory_free: int
    memory_total: int
    backend: str = ""  # the llama.cpp backend: CUDA, Vulkan, Metal, ...
    software: bool = False  # a software renderer (lavapipe, SwiftShader): the CPU behind a GPU API
    device_id: str = ""  # PCI bus id where known: one card seen through two backends
    # the largest weight per kind the device takes ('mul_mat/q8_0', 'mul_mat_id/mxfp4', ...); llama.cpp
    # keeps what it refuses in host memory. Empty: not measured, everything is assumed to fit.
    weight_limits: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Machine:
    gpus: tuple[Gpu, ...]
    ram_total: int
    ram_available: int
    unified_memory: bool = False  # GPU and CPU share one pool (Apple silicon, integrated GPUs)
    gpu_offload: bool = True  # False: this llama.cpp build runs on the CPU only
    physical_cores: int | None = None
    runtime: str = ""  # llama.cpp and driver versions: a plan that worked is remembered per runtime
    source: str = "llama.cpp"  # where the GPU figures came from: llama.cpp, nvml, sysfs, macos, described
    notes: tuple[str, ...] = field(default=())
    pinned_gpu: str = ""  # the user's choice of device (Settings); "" lets the planner choose
    # software renderers are real devices but never faster than the CPU: only tests opt in to them
    allow_software_gpus: bool = False
    # an NVIDIA GPU runs through Vulkan and no CUDA backend is loaded: the app offers the CUDA 12 pack
    cuda_pack_offered: bool = False

    @property
    def usable_gpus(self) -> tuple[Gpu, ...]:
        """The GPUs a plan may use, as llama.cpp would choose them: no software renderer, each card once
        (a card seen through CUDA and Vulkan keeps the first, which is ggml's preferred backend), and
        integrated GPUs only when there is no discrete one. A pinned device is used alone."""
        if not self.gpu_offload:
            return ()
        gpus = [g for g in self.gpus if self.allow_software_gpus or not g.software]
        seen: set[str] = set()
        unique = []
        for gpu in gpus:
            if gpu.device_id and gpu.device_id in seen:
                continue
            seen.add(gpu.device_id)
            unique.append(gpu)
        if self.pinned_gpu:
            pinned = [g for g in unique if g.name == self.pinned_gpu]
            if pinned:
                return tuple(pinned)
        discrete = [g for g in unique if g.kind in ("gpu", "accel")]
        return tuple(discrete or unique)

    @property
    def unused_gpus(self) -> tuple[Gpu, ...]:
        """Devices llama.cpp sees that the plan leaves alone (software renderers, a card seen twice, the
        ones not pinned): named in the plan's notes so nobody wonders why."""
        usable = self.usable_gpus
        return tuple(g for g in self.gpus if g not in usable)

    @property
    def gpu_label(self) -> str:
        """The GPU(s) as a person would name them."""
        gpus = self.usable_gpus
        if not gpus:
            return "CPU"
        names = sorted({gpu.description or gpu.name for gpu in gpus})
        label = " + ".join(names)
        return f"{len(gpus)} × {label}" if len(gpus) > 1 and len(names) == 1 else label


def detect_machine(probe: ProbeReport | None = None, pinned_gpu: str = "") -> Machine:
    """This machine now. Re-run it to re-read free memory (the fallback ladder does, between steps).
    `pinned_gpu` is the device the user chose in Settings (llama.cpp's name, e.g. "Vulkan1")."""
    import psutil  # when the machine is read (see the imports above)

    probe = probe if probe is not None else run_probe()
    memory = psutil.virtual_memory()
    cores = psutil.cpu_count(logical=False) or psutil.cpu_count() or None
    driver = device_fallbacks.driver_version()
    if probe.error is None:
        gpus = tuple(
            Gpu(d.name, d.description, d.type, d.memory_free, d.memory_total,  # type: ignore[arg-type]
                backend=d.backend, software=d.software, device_id=d.device_id,
                weight_limits=dict(d.weight_limits))
            for d in probe.devices if d.type in ("gpu", "igpu", "accel"))
        notes = () if probe.supports_gpu_offload else ("this llama.cpp build is CPU only",)
        notes += tuple(f"{g.description} ({g.name}) is a software renderer on the CPU: not used"
                       for g in gpus if g.software and not allow_software_gpus())
        nvidia: list[Gpu] = []
        if not any(b.backend == "cuda" and b.loaded for b in probe.backends) and probe.backend_folder:
            nvidia = [g for g in gpus if g.backend == "Vulkan" and "nvidia" in g.description.lower()]
            if nvidia:  # the offer of the CUDA pack, which the installer leaves out for its size
                notes += (f"the {nvidia[0].description} runs through Vulkan; CUDA is usually faster on "
                          "NVIDIA GPUs: `ossian backends install cuda12` adds it (about 0.6 GB)",)
        runtime = " / ".join(part for part in (f"llama.cpp {probe.llama_cpp}",
                                               f"llama-cpp-python {probe.llama_cpp_python}", driver) if part)
        machine = Machine(gpus=gpus, ram_total=memory.total, ram_available=memory.available,
                          unified_memory=False, gpu_offload=probe.supports_gpu_offload,
                          physical_cores=cores, runtime=runtime, source="llama.cpp", notes=notes,
                          pinned_gpu=pinned_gpu, allow_software_gpus=allow_software_gpus(),
                          cuda_pack_offered=bool(nvidia))
        return replace(machine, unified_memory=_unified(machine.usable_gpus))
    found = device_fallbacks.detect_gpus()
    gpus = tuple(Gpu(g.name, g.description, g.kind, g.memory_free, g.memory_total) for g in found.gpus)
    if found.source == "macos":
        gpus = (_apple_gpu(memory.total, memory.available),)
    return Machine(gpus=gpus, ram_total=memory.total, ram_available=memory.available,
                   unified_memory=_unified(gpus) or found.source == "macos", gpu_offload=bool(gpus),
                   physical_cores=cores, runtime=driver, source=found.source or "psutil",
                   notes=(probe.error or "the llama.cpp probe failed",
                          f"GPU memory read from {found.source}" if gpus else "no GPU found"))


def describe_machine(*, gpu_free: int | None = None, gpu_total: int | None = None, ram: int | None = None,
                     unified: bool = False, cores: int | None = None, gpu_name: str = "") -> Machine:
    """A machine as a person describes it. Missing RAM is this machine's; missing free GPU memory is the
    total less a little for the desktop (0.5 GiB, or on unified memory what macOS keeps for itself)."""
    import psutil  # when the machine is read (see the imports above)

    memory = psutil.virtual_memory()
    ram_total = ram if ram is not None else memory.total
    ram_available = ram if ram is not None else memory.available
    if unified:
        total = gpu_total if gpu_total is not None else ram_total
        free = gpu_free if gpu_free is not None else _apple_gpu(ram_total, ram_available).memory_free
        gpus = (Gpu("GPU", gpu_name or "unified-memory GPU", "igpu", min(free, total), total),)
    elif gpu_free is not None or gpu_total is not None:
        total = gpu_total if gpu_total is not None else gpu_free
        free = gpu_free if gpu_free is not None else max(0, total - GIB // 2)  # type: ignore[operator]
        assert total is not None
        gpus = (Gpu("GPU", gpu_name or f"{format_bytes(total)} GPU", "gpu", min(free, total), total),)
    else:
        gpus = ()
    return Machine(gpus=gpus, ram_total=ram_total, ram_available=ram_available, unified_memory=unified,
                   gpu_offload=bool(gpus), physical_cores=cores or psutil.cpu_count(logical=False),
                   runtime="described", source="described")


def _unified(gpus: tuple[Gpu, ...]) -> bool:
    # Metal on Apple silicon reports a "gpu" over the shared memory; ggml calls integrated GPUs igpu
    apple_silicon = sys.platform == "darwin" and platform.machine() == "arm64"
    return bool(gpus) and (apple_silicon or all(gpu.kind == "igpu" or gpu.name.startswith(("Metal", "MTL"))
                                                for gpu in gpus))


def _apple_gpu(ram_total: int, ram_available: int) -> Gpu:
    share = APPLE_WORKING_SET_LARGE if ram_total > 36 * 10**9 else APPLE_WORKING_SET_SMALL
    working_set = int(ram_total * share)
    chip = (platform.processor() or "Apple silicon") if sys.platform == "darwin" else "unified-memory GPU"
    return Gpu("Metal", chip, "igpu", min(working_set, ram_available), working_set)
