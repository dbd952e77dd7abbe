"""GPU memory as the drivers publish it, for when llama.cpp's own device list cannot be had.

- NVIDIA: NVML (`libnvidia-ml`, installed with every NVIDIA driver), called through ctypes, so no Python
  package is needed;
- AMD on Linux: the amdgpu driver's sysfs files `/sys/class/drm/card*/device/mem_info_vram_{total,used}`;
- macOS: `hw.memsize` (Apple silicon GPUs share it; the planner turns it into a working set).

Each reader returns nothing rather than raising when its driver is absent. `driver_version()` names the
driver (NVML's version, or the amdgpu module's) so that a plan that worked is remembered per driver.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from dataclasses import dataclass
from pathlib import Path

NVML_LIBRARIES = ("libnvidia-ml.so.1", "libnvidia-ml.so", "nvml.dll", "libnvidia-ml.dylib")
AMD_VENDOR_ID = "0x1002"
SYSFS_DRM = Path("/sys/class/drm")


@dataclass(frozen=True)
class FoundGpu:
    name: str
    description: str
    kind: str  # gpu or igpu
    memory_free: int
    memory_total: int


@dataclass(frozen=True)
class FoundGpus:
    gpus: tuple[FoundGpu, ...]
    source: str  # nvml, sysfs, macos, or "" when nothing was found


def detect_gpus() -> FoundGpus:
    for source, reader in (("nvml", nvml_gpus), ("sysfs", amd_sysfs_gpus)):
        gpus = reader()
        if gpus:
            return FoundGpus(gpus, source)
    if sys.platform == "darwin" and macos_memory_size():
        return FoundGpus((), "macos")
    return FoundGpus((), "")


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


def _nvml() -> ctypes.CDLL | None:
    for name in (*NVML_LIBRARIES, ctypes.util.find_library("nvidia-ml")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def nvml_gpus(library: ctypes.CDLL | None = None) -> tuple[FoundGpu, ...]:
    """NVIDIA GPUs with free and total memory, or () when NVML is not there or fails."""
    nvml = library or _nvml()
    if nvml is None:
        return ()
    try:
        if nvml.nvmlInit_v2() != 0:
            return ()
    except AttributeError:
        return ()
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return ()
        gpus = []
        for index in range(count.value):
            handle = ctypes.c_void_p()
            memory = _NvmlMemory()
            name = ctypes.create_string_buffer(96)
            if nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) != 0:
                continue
            if nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) != 0:
                continue
            nvml.nvmlDeviceGetName(handle, name, len(name))
            gpus.append(FoundGpu(f"CUDA{index}", name.value.decode(errors="replace") or "NVIDIA GPU", "gpu",
                                 int(memory.free), int(memory.total)))
        return tuple(gpus)
    finally:
        nvml.nvmlShutdown()


def nvml_driver_version(library: ctypes.CDLL | None = None) -> str:
    nvml = library or _nvml()
    if nvml is None:
        return ""
    try:
        if nvml.nvmlInit_v2() != 0:
            return ""
        try:
            version = ctypes.create_string_buffer(96)
            if nvml.nvmlSystemGetDriverVersion(version, len(version)) != 0:
                return ""
            return f"NVIDIA driver {version.value.decode(errors='replace')}"
        finally:
            nvml.nvmlShutdown()
    except AttributeError:
        return ""


def amd_sysfs_gpus(root: Path = SYSFS_DRM) -> tuple[FoundGpu, ...]:
    """AMD GPUs the amdgpu driver lists under /sys/class/drm, with VRAM total and used."""
    gpus = []
    for card in sorted(root.glob("card[0-9]*")):
        device = card / "device"
        if not (device / "mem_info_vram_total").is_file() or _read(device / "vendor") != AMD_VENDOR_ID:
            continue
        try:
            total = int(_read(device / "mem_info_vram_total"))
            used = int(_read(device / "mem_info_vram_used") or 0)
        except ValueError:
            continue
        if total <= 0:
            continue
        # An APU's "VRAM" is a carve-out of system RAM (a few hundred MB); its GTT pool is the real budget
        small_carveout = total < 2 * 2**30 and (device / "mem_info_gtt_total").is_file()
        description = _read(device / "product_name") or f"AMD GPU ({card.name})"
        gpus.append(FoundGpu(f"ROCm{len(gpus)}", description, "igpu" if small_carveout else "gpu",
                             max(0, total - used), total))
    return tuple(gpus)


def amd_driver_version(module: Path = Path("/sys/module/amdgpu/version")) -> str:
    version = _read(module)
    return f"amdgpu {version}" if version else ""


def macos_memory_size() -> int:
    """hw.memsize on macOS (bytes of RAM, which Apple silicon GPUs share); 0 elsewhere."""
    if sys.platform != "darwin":
        return 0
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    size = ctypes.c_uint64(0)
    length = ctypes.c_size_t(ctypes.sizeof(size))
    if libc.sysctlbyname(b"hw.memsize", ctypes.byref(size), ctypes.byref(length), None, 0) != 0:
        return 0
    return int(size.value)


def driver_version() -> str:
    return nvml_driver_version() or amd_driver_version()


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
