"""Benchmark of finding the gpt-oss other apps downloaded: `scan_found` over a synthetic disk of hundreds
of models in the Hugging Face cache, LM Studio's folder and Ollama's store.

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/found_scan.py [--models N]

The disk is built with the stores' real layouts (`fixtures.other_apps`) in a temporary home: N models of
another family (real GGUF files of the `llama` architecture, Hub checkpoints with a `config.json`,
Ollama manifests with their blobs) spread over the three stores, and among them the gpt-oss a user
would have: the 20b shape twin in the Hub cache, the 120b shape twin (three split parts) in LM Studio,
both with the published vocabulary of 201,088 tokens in their headers (hard links, so 75 GB of model
take a few megabytes), the original `openai/gpt-oss-20b` checkpoint, and Ollama's own gpt-oss
conversion. Printed: the first scan in a fresh process (it imports the header reader: gguf, numpy) and
the best and median of repeated scans. Target: well under a second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.models import scan_found, store_locations
from app.models.stores import Environment
from fixtures.other_apps import (
    hub_cache_repo,
    lm_studio_model,
    ollama_model,
    ollama_own_gpt_oss,
    openai_checkpoint,
)
from fixtures.shape_twins import shape_twin_20b, shape_twin_120b
from fixtures.tiny_models import tiny_llama_model

TARGET_S = 1.0


def build(home: Path, others: int) -> int:
    hub, lm, ollama = home / ".cache/huggingface/hub", home / ".lmstudio/models", home / ".ollama/models"
    llama = tiny_llama_model()
    work = home.parent / "work"
    work.mkdir()
    config = work / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    weights = work / "model.safetensors"
    weights.write_bytes(b"\x02\0\0\0\0\0\0\0{}" + b"\0" * 32)
    for i in range(others):
        kind = i % 4
        if kind == 0:
            hub_cache_repo(hub, f"org{i}/model-{i}-GGUF", {f"model-{i}.Q4_K_M.gguf": llama})
        elif kind == 1:
            hub_cache_repo(hub, f"org{i}/model-{i}", {"config.json": config, "model.safetensors": weights})
        elif kind == 2:
            lm_studio_model(lm, f"org{i}/model-{i}-GGUF", [llama], [f"model-{i}.Q8_0.gguf"])
        else:
            ollama_model(ollama, f"model{i}", "latest", llama)
    hub_cache_repo(hub, "ggml-org/gpt-oss-20b-GGUF", {"gpt-oss-20b-mxfp4.gguf": shape_twin_20b()},
                   link_blobs=True)
    twin_120b = sorted(shape_twin_120b().parent.glob("*.gguf"))
    lm_studio_model(lm, "ggml-org/gpt-oss-120b-GGUF", twin_120b, link=True)
    openai_checkpoint(hub, work=work / "checkpoint")
    ollama_model(ollama, "gpt-oss", "20b", ollama_own_gpt_oss(work / "ollama-gpt-oss.gguf"))
    return others + 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=400, help="models of other families (default 400)")
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ossian-found-") as folder:
        home = Path(folder) / "home"
        started = time.perf_counter()
        total = build(home, args.models)
        built = time.perf_counter() - started
        stores = store_locations(Environment(home=home, system_root=Path(folder) / "system"))

        started = time.perf_counter()
        found = scan_found(stores)
        first = time.perf_counter() - started
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            scan_found(stores)
            timings.append(time.perf_counter() - started)

    print(f"Synthetic disk: {total} models in {len(stores)} stores (built in {built:.1f} s)")
    for model in found:
        verdict = "usable" if model.usable else f"not usable ({model.problem})"
        print(f"  {model.source:<10} {model.name:<32} {model.size / 1e9:6.1f} GB  {verdict}")
    best, median = min(timings), statistics.median(timings)
    print(f"first scan (imports the header reader): {first * 1000:7.1f} ms")
    print(f"repeated scans, best / median of {args.repeat}: {best * 1000:7.1f} / {median * 1000:.1f} ms")
    print(f"target < {TARGET_S:.0f} s: {'met' if first < TARGET_S and median < TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
