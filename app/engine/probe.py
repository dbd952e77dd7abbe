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


@dataclass(frozen=True)
class ProbeReport:
    llama_cpp_python: str = ""
    llama_cpp: str = ""
    supports_gpu_offload: bool = False
    supports_mmap: bool = False
    system_info: str = ""
    devices: tuple[ProbeDevice, ...] = ()
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
    if data.get("error"):
        return ProbeReport(error=f"llama.cpp could not be loaded: {data['error']}", raw=data)
    return ProbeReport(
        llama_cpp_python=data.get("llama_cpp_python", ""),
        llama_cpp=data.get("llama_cpp", ""),
        supports_gpu_offload=bool(data.get("supports_gpu_offload")),
        supports_mmap=bool(data.get("supports_mmap")),
        system_info=data.get("system_info", ""),
        devices=tuple(ProbeDevice(**d) for d in data.get("devices", [])),
        raw=data,
    )
