"""Benchmark of the planner's accuracy: its predicted buffer sizes against what llama.cpp reports.

Each row holds the planner's prediction beside llama.cpp's own figure for the same settings and prints
the ratio (predicted / reported; 1.00 is exact, above 1 is on the safe side):

- the tiny gpt-oss model, loaded for real through the engine's worker (`WorkerEngine`), on the CPU;
- the 20b and 120b shape twins at 4K to 128K of context, with flash attention, the q8_0 KV cache, without
  flash attention, and with a single output row: llama.cpp's own dry run (`no_alloc`, what its `--fit`
  measures with), in a child process, so nothing of the weights is read and the 61 GB 120b costs nothing;
- with `--load-20b`, one real CPU load of the 20b twin through the engine as well (about 1.5 minutes
  on 2 cores: it reads 12 GB of page cache).

    flock /tmp/ossian-heavy.lock .venv/bin/python bench/planner_accuracy.py [--load-20b]

The dry runs report the KV cache and compute buffers (the model buffers of a dry run are empty). llama.cpp
rounds its figures to 0.01 MiB, which dominates the tiny model's smallest buffers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OSSIAN_HOME", tempfile.mkdtemp(prefix="ossian-bench-"))

from app.engine.interface import LoadPlan
from app.gguf import ContextSettings, GgufProfile, read_profile
from app.planner.sizes import MIB, Layout, memory_use
from fixtures.shape_twins import shape_twin_20b, shape_twin_120b
from fixtures.tiny_models import tiny_gpt_oss_model

K = 1024
DRY_RUN_FLAG = "--dry-run-child"
_KV_TOTAL = re.compile(r"llama_kv_cache: size = +([\d.]+) MiB")
_COMPUTE = re.compile(r"(\S+) compute buffer size = +([\d.]+) MiB")


@dataclass(frozen=True)
class Case:
    n_ctx: int
    kv_type: str = "f16"
    flash_attn: bool = True
    n_ubatch: int = 512
    n_outputs: int | None = None

    @property
    def label(self) -> str:
        parts = [f"{self.n_ctx // K}K", self.kv_type]
        if not self.flash_attn:
            parts.append("no FA")
        if self.n_ubatch != 512:
            parts.append(f"ubatch {self.n_ubatch}")
        if self.n_outputs is not None:
            parts.append(f"{self.n_outputs} output")
        return ", ".join(parts)

    def settings(self) -> ContextSettings:
        return ContextSettings(n_ctx=self.n_ctx, kv_type=self.kv_type, n_ubatch=self.n_ubatch,  # type: ignore[arg-type]
                               n_outputs=self.n_outputs, flash_attn=self.flash_attn)


TWIN_CASES = (
    Case(4 * K), Case(8 * K), Case(32 * K), Case(128 * K),
    Case(32 * K, kv_type="q8_0"), Case(4 * K, flash_attn=False), Case(32 * K, flash_attn=False),
    Case(32 * K, n_ubatch=2048), Case(32 * K, n_outputs=1), Case(128 * K, n_outputs=1),
)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == DRY_RUN_FLAG:
        return dry_run_child(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load-20b", action="store_true", help="also load the 20b twin for real (slow)")
    args = parser.parse_args()

    worst: dict[str, float] = {}
    header("tiny gpt-oss, loaded by the engine (CPU)")
    tiny = read_profile(tiny_gpt_oss_model())
    for case in (Case(4 * K), Case(32 * K)):
        compare_load(tiny, case, worst)
    for name, path in (("20b", shape_twin_20b()), ("120b", shape_twin_120b())):
        profile = read_profile(path)
        header(f"{name} shape twin, llama.cpp dry run (CPU)")
        reports = dry_runs(profile, TWIN_CASES)
        for case, report in zip(TWIN_CASES, reports, strict=True):
            predicted = memory_use(profile, Layout.cpu_only(), case.settings()).host
            row(case.label, "KV cache", predicted.kv, report["kv"], worst)
            row(case.label, "compute", predicted.compute, report["compute"], worst)
            row(case.label, "KV + compute", predicted.kv + predicted.compute,
                report["kv"] + report["compute"], worst)
    if args.load_20b:
        header("20b shape twin, loaded by the engine (CPU)")
        twin = read_profile(shape_twin_20b())
        compare_load(twin, Case(4 * K), worst)
        compare_load(twin, Case(4 * K, n_outputs=1), worst)  # what the app loads with
    print("\nlargest deviation from 1.00 of the ratio predicted / reported:")
    for kind, deviation in sorted(worst.items()):
        print(f"  {kind:<14} {deviation:6.1%}")
    return 0


def compare_load(profile: GgufProfile, case: Case, worst: dict[str, float]) -> None:
    from app.engine.client import WorkerEngine

    engine = WorkerEngine()
    try:
        plan = LoadPlan(model_path=str(profile.path), n_ctx=case.n_ctx, kv_type=case.kv_type,  # type: ignore[arg-type]
                        flash_attn=case.flash_attn, n_ubatch=case.n_ubatch, n_gpu_layers=0,
                        n_outputs_max=case.n_outputs or 0)
        info = engine.load(plan).result(timeout=900)
    finally:
        engine.close()
    predicted = memory_use(profile, Layout.cpu_only(), case.settings()).host
    reported = {kind: sum(b.bytes for b in info.buffers if b.kind == kind) for kind in ("kv", "compute")}
    mapped = sum(b.bytes for b in info.buffers if b.kind == "model" and b.device == "CPU_Mapped")
    repacked = sum(b.bytes for b in info.buffers if b.kind == "model" and b.device == "CPU_REPACK")
    row(case.label, "KV cache", predicted.kv, reported["kv"], worst)
    row(case.label, "compute", predicted.compute, reported["compute"], worst)
    row(case.label, "KV + compute", predicted.kv + predicted.compute,
        reported["kv"] + reported["compute"], worst)
    row(case.label, "model (mapped)", predicted.model, mapped, worst)
    if repacked:
        print(f"{'':22} (and {repacked / MIB:,.1f} MiB of experts repacked for the CPU: a copy that replaces "
              "their mapped pages, so not in the prediction)")


def dry_runs(profile: GgufProfile, cases: tuple[Case, ...]) -> list[dict[str, int]]:
    payload = json.dumps({"path": str(profile.path), "cases": [case.__dict__ for case in cases]})
    done = subprocess.run([sys.executable, __file__, DRY_RUN_FLAG, payload], capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"llama.cpp's dry run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def dry_run_child(payload: str) -> int:
    """In a child process: llama.cpp's own simulated allocation for each case (as `--fit` does)."""
    from llama_cpp import llama_cpp as llama_c

    request = json.loads(payload)
    lines: list[str] = []

    @llama_c.llama_log_callback
    def collect(level: int, text: bytes, user_data: object) -> None:
        lines.append(text.decode(errors="replace"))

    llama_c.llama_log_set(collect, None)
    llama_c.llama_backend_init()
    model_params = llama_c.llama_model_default_params()
    model_params.no_alloc = True
    model_params.load_mode = llama_c.LLAMA_LOAD_MODE_NONE
    model_params.n_gpu_layers = 0
    model = llama_c.llama_model_load_from_file(request["path"].encode(), model_params)
    if not model:
        raise SystemExit("llama.cpp could not read the model")
    types = {"f16": llama_c.GGML_TYPE_F16, "q8_0": llama_c.GGML_TYPE_Q8_0}
    results = []
    for case in request["cases"]:
        lines.clear()
        params = llama_c.llama_context_default_params()
        params.n_ctx = case["n_ctx"]
        params.n_batch = max(512, case["n_ubatch"])
        params.n_ubatch = case["n_ubatch"]
        params.n_outputs_max = case["n_outputs"] or 0
        params.flash_attn_type = (llama_c.LLAMA_FLASH_ATTN_TYPE_ENABLED if case["flash_attn"]
                                  else llama_c.LLAMA_FLASH_ATTN_TYPE_DISABLED)
        params.type_k = params.type_v = types[case["kv_type"]]
        params.swa_full = False
        context = llama_c.llama_init_from_model(model, params)
        if not context:
            raise SystemExit(f"llama.cpp could not set up the context for {case}")
        text = "".join(lines)
        results.append({
            "kv": sum(round(float(m) * MIB) for m in _KV_TOTAL.findall(text)),
            "compute": sum(round(float(mib) * MIB) for _, mib in _COMPUTE.findall(text)),
        })
        llama_c.llama_free(context)
    llama_c.llama_model_free(model)
    print(json.dumps(results))
    return 0


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"{'case':22} {'buffer':16} {'predicted':>14} {'llama.cpp':>14} {'ratio':>7}")


def row(case: str, kind: str, predicted: int, reported: int, worst: dict[str, float]) -> None:
    ratio = predicted / reported if reported else float("nan")
    if reported:
        worst[kind] = max(worst.get(kind, 0.0), abs(ratio - 1))
    print(f"{case:22} {kind:16} {predicted / MIB:10,.2f} MiB {reported / MIB:10,.2f} MiB {ratio:6.3f}x")


if __name__ == "__main__":
    sys.exit(main())
