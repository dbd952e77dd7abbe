"""A child process for the placement tests: load a model through the worker's own loader, print what happened.

Run as `python -m tests.planner.placement_probe '<list of LoadPlans as JSON>'`. It loads each in turn with
`app.engine.worker_load.load_model` (the code the worker runs, llama.cpp for real) while capturing
llama.cpp's log, and prints one JSON line: per plan, the buffers llama.cpp reported, and for every tensor
whose buffer type was overridden, its name and the buffer type it went to. A child process, so llama.cpp
never runs inside the test process (it aborts its process on some errors).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict

from app.engine.interface import LoadPlan
from app.engine.worker_backends import load_backends
from app.engine.worker_load import load_model
from app.engine.worker_log import LlamaLog

# llama.cpp (llama-model.cpp, at debug level): "tensor blk.0.ffn_gate_exps.weight (0 MiB mxfp4) buffer type
# overridden to CPU_REPACK"
OVERRIDDEN = re.compile(r"tensor (?P<name>\S+) .*buffer type overridden to (?P<buffer>\S+)")
# "load_tensors: layer  24 assigned to device Vulkan0, is_swa = 0" (debug level; the output layer is n_blocks)
ASSIGNED = re.compile(r"layer\s+(?P<layer>\d+) assigned to device (?P<device>[^,\s]+)")
# "tensor 'output.weight' (q8_0) (and 72 others) cannot be used with preferred buffer type Vulkan0, using
# CPU instead": weights the device refused
MOVED = re.compile(r"tensor '(?P<name>[^']+)' \((?P<type>\w+)\) \(and (?P<others>\d+) others\) "
                   r"cannot be used "
                   r"with preferred buffer type (?P<preferred>\S+), using (?P<used>\S+) instead")


def plan_from_json(fields: dict) -> LoadPlan:
    """A LoadPlan from `dataclasses.asdict` output that went through JSON (tuples came back as lists)."""
    devices = fields.get("devices")
    return LoadPlan(**{**fields, "cpu_expert_blocks": tuple(fields.get("cpu_expert_blocks", ())),
                       "devices": None if devices is None else tuple(devices),
                       "tensor_split": tuple(fields.get("tensor_split", ()))})


def main(argv: list[str]) -> int:
    log = LlamaLog(forward=None)
    log.install()
    backends = load_backends()  # a build with backend modules has none until they are loaded
    if backends.error:
        print(backends.error, file=sys.stderr)
        return 2
    reports = []
    for fields in json.loads(argv[0]):
        plan = plan_from_json(fields)
        with log.capture() as lines:
            loaded = load_model(plan, log)
        overridden = [match.groupdict() for _, line in lines if (match := OVERRIDDEN.search(line))]
        layers = {int(m["layer"]): m["device"] for _, line in lines if (m := ASSIGNED.search(line))}
        moved = [m.groupdict() for _, line in lines if (m := MOVED.search(line))]
        reports.append({"buffers": [asdict(b) for b in loaded.info.buffers], "overridden": overridden,
                        "n_ctx": loaded.n_ctx, "layers": [layers[k] for k in sorted(layers)], "moved": moved,
                        "cpu_variant": backends.cpu_variant})
        loaded.close()
    print(json.dumps(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
