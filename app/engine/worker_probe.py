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
import re
import sys
from dataclasses import asdict, dataclass, field

# Vulkan drivers that run on the CPU: a real device to test with, never a way to run faster
SOFTWARE_RENDERERS = re.compile(r"llvmpipe|lavapipe|swiftshader|softpipe", re.IGNORECASE)

PROBE_VERSION = 2
DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


class _DeviceProps(ctypes.Structure):
    """ggml-backend.h's struct ggml_backend_dev_props, up to the device id (the caps after it unused)."""

    _fields_ = [("name", ctypes.c_char_p), ("description", ctypes.c_char_p),
                ("memory_free", ctypes.c_size_t), ("memory_total", ctypes.c_size_t),
                ("type", ctypes.c_int), ("device_id", ctypes.c_char_p), ("caps", ctypes.c_bool * 8)]


@dataclass
class ProbedDevice:
    index: int
    name: str
    description: str
    type: str
    memory_free: int
    memory_total: int
    backend: str = ""  # the backend that registered it: CPU, Vulkan, CUDA, Metal, ...
    software: bool = False  # a software renderer (lavapipe, SwiftShader): the CPU behind a GPU API
    device_id: str = ""  # the PCI bus id where known: one card seen by two backends has one id
    weight_limits: dict[str, int] = field(default_factory=dict)  # see worker_ops; empty for the CPU


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
    lib.ggml_backend_dev_backend_reg.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_backend_reg.restype = ctypes.c_void_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    lib.ggml_backend_dev_get_props.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DeviceProps)]
    lib.ggml_backend_dev_get_props.restype = None


def probe_devices(lib: ctypes.CDLL) -> list[ProbedDevice]:
    """The devices ggml has registered, in its order (GPUs first, the CPU last)."""
    from app.engine.worker_ops import weight_limits

    _declare_ggml_device_api(lib)
    devices = []
    for index in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(index)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        kind = DEVICE_TYPES.get(lib.ggml_backend_dev_type(dev), "unknown")
        description = (lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace")
        props = _DeviceProps()
        lib.ggml_backend_dev_get_props(dev, ctypes.byref(props))
        devices.append(ProbedDevice(
            index=index,
            name=(lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
            description=description,
            type=kind,
            memory_free=int(free.value),
            memory_total=int(total.value),
            backend=(lib.ggml_backend_reg_name(lib.ggml_backend_dev_backend_reg(dev)) or b"").decode(
                errors="replace"),
            software=bool(SOFTWARE_RENDERERS.search(description)),
            device_id=(props.device_id or b"").decode(errors="replace"),
            weight_limits={} if kind == "cpu" else weight_limits(lib, dev),
        ))
    return devices


def probe() -> dict:
    import llama_cpp
    from llama_cpp import llama_cpp as low

    from app.engine.worker_backends import load_backends

    backends = load_backends()
    if backends.error:
        return {"probe_version": PROBE_VERSION, "error": backends.error, "backends": backends.as_list(),
                "backend_folder": backends.folder}
    return {
        "probe_version": PROBE_VERSION,
        "llama_cpp_python": llama_cpp.__version__,
        "llama_cpp": low.llama_version().decode(errors="replace"),
        "supports_gpu_offload": bool(low.llama_supports_gpu_offload()),
        "supports_mmap": bool(low.llama_supports_mmap()),
        "system_info": low.llama_print_system_info().decode(errors="replace").strip(" |"),
        "backends": backends.as_list(),
        "backend_folder": backends.folder,
        "cpu_variant": backends.cpu_variant,
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
    return 1 if result.get("error") else 0
