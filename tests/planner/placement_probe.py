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
from app.engine.worker_load import load_model
from app.engine.worker_log import LlamaLog

# llama.cpp (llama-model.cpp, at debug level): "tensor blk.0.ffn_gate_exps.weight (0 MiB mxfp4) buffer type
# overridden to CPU_REPACK"
OVERRIDDEN = re.compile(r"tensor (?P<name>\S+) .*buffer type overridden to (?P<buffer>\S+)")


def main(argv: list[str]) -> int:
    log = LlamaLog(forward=None)
    log.install()
    reports = []
    for fields in json.loads(argv[0]):
        plan = LoadPlan(**{**fields, "cpu_expert_blocks": tuple(fields.get("cpu_expert_blocks", ()))})
        with log.capture() as lines:
            loaded = load_model(plan, log)
        overridden = [match.groupdict() for _, line in lines if (match := OVERRIDDEN.search(line))]
        reports.append({"buffers": [asdict(b) for b in loaded.info.buffers], "overridden": overridden,
                        "n_ctx": loaded.n_ctx})
        loaded.close()
    print(json.dumps(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
