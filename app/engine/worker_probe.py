"""The probe child: what this llama.cpp build is and which devices it sees, printed as JSON.

Runs as `ossian --worker-probe` (a child process, so GPU driver contexts never enter the app process)
and exits. It reads llama.cpp's own device list through the ggml backend API, which llama-cpp-python
bundles but does not wrap: the prototypes are declared here with ctypes. That list is the truth about
where llama.cpp can put tensors, with the free memory each backend reports (CUDA/HIP: the driver's free
memory; Vulkan: the budget; Metal: the recommended working set minus what is allocated).
"""

from __future__ import annotations

import ctypes
import json
import sys
from dataclasses import asdict, dataclass

PROBE_VERSION = 1
DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


@dataclass
class ProbedDevice:
    index: int
    name: str
    description: str
    type: str
    memory_free: int
    memory_total: int


def _declare_ggml_device_api(lib: ctypes.CDLL) -> None:
    lib.ggml_backend_dev_count.argtypes = []
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_name.restype = ctypes.c_char_p
    lib.ggml_backend_dev_description.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_description.restype = ctypes.c_char_p
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
    lib.ggml_backend_dev_memory.restype = None


def probe_devices(lib: ctypes.CDLL) -> list[ProbedDevice]:
    """The devices ggml has registered, in its order (GPUs first, the CPU last)."""
    _declare_ggml_device_api(lib)
    if lib.ggml_backend_dev_count() == 0 and hasattr(lib, "ggml_backend_load_all"):
        # builds with GGML_BACKEND_DL load their backends as modules only when asked
        lib.ggml_backend_load_all.argtypes = []
        lib.ggml_backend_load_all.restype = None
        lib.ggml_backend_load_all()
    devices = []
    for index in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append(ProbedDevice(
            index=index,
            name=(lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
            description=(lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace"),
            type=DEVICE_TYPES.get(lib.ggml_backend_dev_type(dev), "unknown"),
            memory_free=int(free.value),
            memory_total=int(total.value),
        ))
    return devices


def probe() -> dict:
    import llama_cpp
    from llama_cpp import llama_cpp as low

    low.llama_backend_init()
    return {
        "probe_version": PROBE_VERSION,
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp": low.llama_version().decode(errors="replace"),
        "supports_gpu_offload": bool(low.llama_supports_gpu_offload()),
        "supports_mmap": bool(low.llama_supports_mmap()),
        "system_info": low.llama_print_system_info().decode(errors="replace").strip(" |"),
        "devices": [asdict(d) for d in probe_devices(low._lib)],
    }


def main(argv: list[str]) -> int:
    try:
        result = probe()
    except Exception as exc:  # report, never a traceback: the parent shows this to the user
        print(json.dumps({"probe_version": PROBE_VERSION, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    sys.stdout.flush()
    return 0
