"""Parent side of the probe child: run `ossian --worker-probe` and read its JSON report.

The report says which llama.cpp this is, whether it can offload to a GPU and which devices it sees
with free/total memory. Running it costs a process start and a library load (well under a second on
a CPU build); callers that need it often should keep the result.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field

from app.engine.spawn import PROBE_FLAG, child_command, child_environment


@dataclass(frozen=True)
class ProbeDevice:
    index: int
    name: str
    description: str
    type: str  # cpu, gpu, igpu, accel
    memory_free: int
    memory_total: int
    backend: str = ""  # CPU, Vulkan, CUDA, Metal, ...
    software: bool = False  # a software renderer (lavapipe, SwiftShader): never chosen for speed
    device_id: str = ""  # PCI bus id where known: the same card seen through two backends
    # the largest weight in bytes the device takes per kind ('mul_mat/q8_0', 'mul_mat_id/mxfp4', ...):
    # llama.cpp keeps on the CPU what a device's backend refuses. Empty: not measured (assume all).
    weight_limits: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class BackendStatus:
    """One llama.cpp backend module and what became of it (see app.engine.worker_backends)."""

    name: str
    backend: str
    variant: str
    path: str
    loaded: bool
    score: int | None = None
    devices: int = 0
    error: str | None = None


@dataclass(frozen=True)
class ProbeReport:
    llama_cpp_python: str = ""
    llama_cpp: str = ""
    supports_gpu_offload: bool = False
    supports_mmap: bool = False
    system_info: str = ""
    devices: tuple[ProbeDevice, ...] = ()
    backends: tuple[BackendStatus, ...] = ()
    backend_folder: str = ""  # where the modules were loaded from; "" when linked into llama.cpp
    cpu_variant: str = ""  # the CPU module that won (haswell, skylakex, ...); "" without variants
    error: str | None = None  # set when the probe could not run; the rest is then empty
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def run_probe(timeout: float = 60.0) -> ProbeReport:
    """Run the probe child. Never raises: a failure is a report with `error` set."""
    try:
        done = subprocess.run(child_command(PROBE_FLAG), capture_output=True, text=True,
                              timeout=timeout, env=child_environment())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ProbeReport(error=f"the llama.cpp probe could not run: {exc}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        return ProbeReport(error=f"the llama.cpp probe exited with status {done.returncode}: "
                                 + (" / ".join(tail) or "no output"))
    try:
        data = json.loads(lines[-1])
    except ValueError as exc:
        return ProbeReport(error=f"the llama.cpp probe printed something unreadable: {exc}")
    backends = tuple(BackendStatus(**b) for b in data.get("backends", []))
    if data.get("error"):
        return ProbeReport(error=f"llama.cpp could not be loaded: {data['error']}", raw=data,
                           backends=backends, backend_folder=data.get("backend_folder", ""))
    return ProbeReport(
        llama_cpp_python=data.get("llama_cpp_python", ""),
        llama_cpp=data.get("llama_cpp", ""),
        supports_gpu_offload=bool(data.get("supports_gpu_offload")),
        supports_mmap=bool(data.get("supports_mmap")),
        system_info=data.get("system_info", ""),
        devices=tuple(ProbeDevice(**d) for d in data.get("devices", [])),
        backends=backends,
        backend_folder=data.get("backend_folder", ""),
        cpu_variant=data.get("cpu_variant", ""),
        raw=data,
    )
