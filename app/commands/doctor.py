"""`ossian doctor`: what this installation is and what it can use, as a report or as JSON.

It answers the first questions of any bug report: versions, whether llama.cpp can offload to a GPU,
the devices llama.cpp sees with their free memory, system RAM, the folders in use, and whether anything
is set up to reach the network. It reads; it changes nothing and sends nothing anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from dataclasses import asdict
from typing import Any

import psutil

from app import __version__
from app.engine.probe import BackendStatus, ProbeReport, run_probe
from app.models import network_policy
from app.paths import app_paths
from app.planner.devices import allow_software_gpus
from app.settings import Settings, load_settings
from app.tools.sandbox import PythonSandbox
from app.units import format_gib

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor", help="show versions, devices, memory, paths and network settings")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def network_report(settings: Settings) -> dict[str, Any]:
    """What could reach the network, from the same policy every download and search asks first."""
    policy = network_policy(settings)
    proxies = {name: os.environ[name] for name in PROXY_VARIABLES if os.environ.get(name)}
    hub_offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    return {
        "requests_at_startup": False,
        "requests_while_chatting": False,
        "downloads_allowed": policy.allowed,
        "offline_only_setting": settings.offline_only,
        "hf_hub_offline_env": hub_offline,
        "hub_endpoint": policy.endpoint,
        "hub_endpoint_source": policy.endpoint_source,
        "proxies": proxies,
        "summary": (
            "No request leaves this machine at start-up or while chatting. "
            + (f"Downloads and Hub searches you start go to {policy.endpoint}."
               if policy.allowed else f"Downloads and Hub searches are switched off: {policy.refusal}")
        ),
    }


def collect(probe: ProbeReport | None = None) -> dict[str, Any]:
    paths = app_paths()
    settings = load_settings(paths.settings_file)
    paths = app_paths(settings.models_dir)
    probe = probe or run_probe()
    memory = psutil.virtual_memory()
    return {
        "app": {
            "name": "Ossian",
            "version": __version__,
            "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
            "frozen": bool(getattr(sys, "frozen", False)),
        },
        "llama_cpp": {
            "available": probe.error is None,
            "error": probe.error,
            "llama_cpp_python_version": probe.llama_cpp_python,
            "llama_cpp_version": probe.llama_cpp,
            "gpu_offload": probe.supports_gpu_offload,
            "mmap": probe.supports_mmap,
            "system_info": probe.system_info,
            "cpu_variant": probe.cpu_variant,
            "backend_folder": probe.backend_folder,
        },
        "backends": [_backend(b) for b in probe.backends],
        "hints": backend_hints(probe),
        "devices": [asdict(device) for device in probe.devices],
        "ram": {"total": memory.total, "available": memory.available},
        "paths": paths.as_dict(),
        "network": network_report(settings),
        "sandbox": sandbox_report(),
    }


def sandbox_report(sandbox: PythonSandbox | None = None) -> dict[str, Any]:
    """What holds the python tool's code on this machine, from a run of nothing (nothing assumed)."""
    run = (sandbox or PythonSandbox()).probe()
    protections = [{"aspect": p.aspect, "by": p.by, "detail": p.detail} for p in run.protections]
    weak = [p["aspect"] for p in protections if p["by"] != "kernel" and p["aspect"] != "time"]
    if run.outcome != "ok":
        summary = f"The python tool cannot run here: {run.message}"
    elif weak:
        summary = ("Not enforced by the operating system here, only by the app: " + ", ".join(weak)
                   + ". Code that reaches C (ctypes, native modules) can get past those; approve python "
                   "calls with that in mind.")
    else:
        summary = ("The operating system enforces every limit on the python tool's code (and the app "
                   "stops it at its time limit).")
    return {"outcome": run.outcome, "protections": protections, "summary": summary}


def _backend(status: BackendStatus) -> dict[str, Any]:
    data = asdict(status)
    if data["error"] is None:
        del data["error"]
    return data


def backend_hints(probe: ProbeReport) -> list[str]:
    """What a person could do for a faster GPU path, from what loaded and what the devices are."""
    hints = []
    has_cuda = any(b.backend == "cuda" and b.loaded for b in probe.backends)
    nvidia = [d for d in probe.devices if d.backend == "Vulkan" and "nvidia" in d.description.lower()]
    if nvidia and not has_cuda and probe.backend_folder:
        hints.append(f"{nvidia[0].description} runs through Vulkan. The CUDA 12 backend is usually faster on "
                     "NVIDIA GPUs: get ossian-cuda12 for this platform from the release and run "
                     "`ossian backends install ossian-cuda12-<platform>.zip`.")
    for module in probe.backends:
        failed = module.error and not module.error.startswith("not chosen")
        if module.backend in ("vulkan", "cuda") and failed:
            hints.append(f"{module.name}: {module.error}")
    return hints


def backend_lines(report: dict[str, Any]) -> list[str]:
    """One line per module: loaded (with its devices), not chosen, or failed and why."""
    backends = report.get("backends", [])
    if not backends:
        return []
    folder = report["llama_cpp"].get("backend_folder")
    lines = ["", "Backends" + (f" (modules in {folder})" if folder else " (built into llama.cpp)")]
    for backend in backends:
        if backend["loaded"]:
            state = "loaded"
            if backend["backend"] != "cpu":
                state += f", {backend['devices']} device" + ("" if backend["devices"] == 1 else "s")
            if backend["variant"]:
                state += ": the best CPU variant for this processor"
        elif (backend.get("error") or "").startswith("not chosen"):
            state = backend["error"]
        else:
            state = f"FAILED: {backend.get('error')}"
        if backend["loaded"] and backend.get("error"):
            state += f" ({backend['error']})"
        lines.append(f"  {backend['name']:<24} {state}")
    return lines


def format_report(report: dict[str, Any]) -> str:
    app, llama, ram = report["app"], report["llama_cpp"], report["ram"]
    lines = [f"Ossian {app['version']} — Python {app['python']} on {app['platform']}", ""]
    if llama["available"]:
        offload = "yes" if llama["gpu_offload"] else "no (CPU-only build: models run on the CPU)"
        lines += [
            f"llama.cpp        {llama['llama_cpp_version']}"
            f" (llama-cpp-python {llama['llama_cpp_python_version']})",
            f"GPU offload      {offload}",
            f"CPU features     {llama['system_info']}",
        ]
        if llama.get("cpu_variant"):
            lines.append(f"CPU backend      {llama['cpu_variant']} (chosen for this processor)")
    else:
        lines += [f"llama.cpp        NOT AVAILABLE: {llama['error']}"]
    lines += backend_lines(report)
    for hint in report.get("hints", []):
        lines.append(f"  hint: {hint}")
    lines += ["", "Devices llama.cpp sees"]
    if not report["devices"]:
        lines.append("  (none)")
    for device in report["devices"]:
        software = ""
        if device.get("software"):
            software = ("  (software renderer on the CPU: used only because OSSIAN_ALLOW_SOFTWARE_GPU=1)"
                        if allow_software_gpus() else "  (software renderer on the CPU: not used)")
        lines.append(f"  {device['index']}: {device['name']:<8} {device['type']:<5} "
                     f"{format_gib(device['memory_free'])} free of {format_gib(device['memory_total'])}"
                     f"  {device['description']}{software}")
    ram_line = f"System RAM       {format_gib(ram['available'])} available of {format_gib(ram['total'])}"
    lines += ["", ram_line, "", "Paths"]
    for name, value in report["paths"].items():
        lines.append(f"  {name:<14} {value}")
    network = report["network"]
    lines += ["", "Network", f"  {network['summary']}",
              f"  Hub endpoint   {network['hub_endpoint']} ({network['hub_endpoint_source']})"]
    if network["proxies"]:
        lines.append("  Proxies        " + ", ".join(f"{k}={v}" for k, v in network["proxies"].items()))
    sandbox = report["sandbox"]
    lines += ["", "Python tool sandbox", f"  {sandbox['summary']}"]
    for entry in sandbox["protections"]:
        lines.append(f"  {entry['aspect']:<10} {entry['by']:<8} {entry['detail']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = collect()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0
