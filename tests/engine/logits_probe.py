"""A child process for the cross-backend tests: load a model per plan, decode one prompt, print the logits.

Run as `python -m tests.engine.logits_probe '<LoadPlan as JSON>' '<token ids as JSON>'`. It loads the
plan with the worker's own loader (backend modules first, as the worker does), decodes the tokens in one
batch and prints one JSON line: the last position's logits, the buffers llama.cpp reported, and the
device each layer went to. A child process, so llama.cpp and its Vulkan driver never run in the tests.
"""

from __future__ import annotations

import ctypes
import json
import sys
from dataclasses import asdict

from app.engine.worker_backends import load_backends
from app.engine.worker_load import load_model
from app.engine.worker_log import LlamaLog
from tests.planner.placement_probe import ASSIGNED, plan_from_json


def main(argv: list[str]) -> int:
    from llama_cpp import llama_cpp as llama_c

    log = LlamaLog(forward=None)
    log.install()
    backends = load_backends()
    if backends.error:
        print(backends.error, file=sys.stderr)
        return 2
    plan = plan_from_json(json.loads(argv[0]))
    tokens = json.loads(argv[1])
    with log.capture() as lines:
        loaded = load_model(plan, log)
    layers = {int(m["layer"]): m["device"] for _, line in lines if (m := ASSIGNED.search(line))}
    loaded.batch.fill(tokens, 0)
    status = llama_c.llama_decode(loaded.ctx, loaded.batch.batch)
    if status != 0:
        print(f"decode failed: {status}", file=sys.stderr)
        return 3
    n_vocab = loaded.tokenizer.n_vocab
    logits = ctypes.cast(llama_c.llama_get_logits_ith(loaded.ctx, -1), ctypes.POINTER(ctypes.c_float))
    values = [float(logits[i]) for i in range(n_vocab)]
    print(json.dumps({"logits": values, "buffers": [asdict(b) for b in loaded.info.buffers],
                      "layers": [layers[k] for k in sorted(layers)]}))
    loaded.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
