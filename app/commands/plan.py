"""`ossian plan MODEL`: how Ossian would load a model on this machine, or on one you describe, and why.

With no machine options it asks llama.cpp which devices it sees (the probe child) and reads the free
memory now. With `--gpu-free/--gpu-total`, `--unified` and `--ram` it plans for a described machine
instead, so "what could I run on a 24 GB card?" has an answer before anything is bought or downloaded.
It reads only the model's header; it loads nothing.
"""

from __future__ import annotations

import argparse
import json
import re

from app.commands import UsageError
from app.gguf import read_profile
from app.planner import Machine, Plan, PlanRequest, describe_machine, detect_machine, make_plan
from app.units import format_context, format_gib

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help="show how a model would be loaded on this machine (or a described one) and why",
        description="Plan how a gpt-oss model is placed on the GPU, in RAM and on the CPU. Sizes take "
                    "bytes or a unit: 24G, 24GB and 24GiB all mean 24 GiB (memory is sold in GiB).")
    parser.add_argument("model", help="the .gguf file (for a split model, any of its parts)")
    parser.add_argument("--ctx", type=int, metavar="N", help="the context length in tokens (default: chosen)")
    parser.add_argument("--gpu-free", metavar="BYTES", help="plan for a GPU with this much free memory")
    parser.add_argument("--gpu-total", metavar="BYTES", help="plan for a GPU of this size")
    parser.add_argument("--unified", action="store_true",
                        help="plan for unified memory shared by GPU and CPU (Apple silicon)")
    parser.add_argument("--ram", metavar="BYTES", help="plan for this much system RAM")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(handler=run)


def parse_size(text: str, option: str) -> int:
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"{option} takes a size such as 25769803776, 24G or 24GiB, not {text!r}")
    number, unit = float(match[1]), match[2].lower()
    return int(number * _UNITS[unit])


def machine_from(args: argparse.Namespace) -> Machine:
    sizes = {name: parse_size(value, f"--{name.replace('_', '-')}")
             for name in ("gpu_free", "gpu_total", "ram") if (value := getattr(args, name)) is not None}
    if "gpu_free" in sizes and "gpu_total" in sizes and sizes["gpu_free"] > sizes["gpu_total"]:
        raise UsageError("--gpu-free cannot be more than --gpu-total")
    if not sizes and not args.unified:
        return detect_machine()
    return describe_machine(gpu_free=sizes.get("gpu_free"), gpu_total=sizes.get("gpu_total"),
                            ram=sizes.get("ram"), unified=args.unified)


def run(args: argparse.Namespace) -> int:
    if args.ctx is not None and args.ctx < 256:
        raise UsageError("--ctx takes a context length of at least 256 tokens")
    profile = read_profile(args.model)  # a ModelFileError reaches the command line as it is
    machine = machine_from(args)
    plan = make_plan(profile, machine, PlanRequest(n_ctx=args.ctx))
    if args.json:
        print(json.dumps({**plan.as_dict(), "machine": _machine_dict(machine)}, indent=2))
    else:
        print(format_plan(plan, machine))
    return 0


def format_plan(plan: Plan, machine: Machine) -> str:
    load = plan.load
    lines: list[str | None] = [plan.explanation, ""]
    if plan.fits:
        layers = "all" if load.n_gpu_layers < 0 else str(load.n_gpu_layers)
        experts = ", ".join(map(str, load.cpu_expert_blocks)) or "none"
        lines += [
            f"context          {format_context(load.n_ctx)} ({load.n_ctx:,} tokens), "
            f"KV cache {load.kv_type}, flash attention {'on' if load.flash_attn else 'auto'}",
            f"GPU layers       {layers}",
            f"experts in RAM   {experts}",
            f"threads          {load.n_threads or 'chosen by the engine'}",
        ]
    lines += ["" if plan.fits else None,
              f"{'predicted':<16} {'model':>10} {'KV cache':>10} {'compute':>10} {'total':>10} {'free':>10}"]
    for device in plan.devices:
        b = device.predicted
        figures = (b.model, b.kv, b.compute, b.total, device.memory_free)
        lines.append(f"{device.name:<16} " + " ".join(f"{format_gib(f):>10}" for f in figures))
    h = plan.host
    figures = (h.model, h.kv, h.compute + h.output, h.total, plan.ram_available)
    lines.append(f"{'RAM':<16} " + " ".join(f"{format_gib(f):>10}" for f in figures))
    lines += [f"note: {warning}" for warning in plan.warnings]
    if machine.source == "described":
        lines.append("note: planned for the machine described on the command line, not this one")
    return "\n".join(line for line in lines if line is not None)


def _machine_dict(machine: Machine) -> dict:
    return {
        "source": machine.source,
        "gpus": [{"name": g.name, "description": g.description, "kind": g.kind, "memory_free": g.memory_free,
                  "memory_total": g.memory_total} for g in machine.gpus],
        "gpu_offload": machine.gpu_offload,
        "unified_memory": machine.unified_memory,
        "ram_total": machine.ram_total,
        "ram_available": machine.ram_available,
        "physical_cores": machine.physical_cores,
        "runtime": machine.runtime,
        "notes": list(machine.notes),
    }
