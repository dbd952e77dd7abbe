"""Is the plan really applied, and are its predictions right? Checked against llama.cpp's own report.

The worker's loader runs in a child process (`placement_probe`), which prints the buffers llama.cpp
allocated and every tensor whose buffer type an override changed. On this CPU-only machine an expert
override cannot show in where the bytes land (everything is host memory); it shows in llama.cpp's log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from app.engine.interface import LoadPlan
from app.gguf import GgufProfile, read_profile
from app.planner import Plan, PlanRequest, describe_machine, make_plan
from fixtures.shape_twins import REPO_ROOT

GIB = 2**30


def load_in_child(*plans: LoadPlan, timeout: float = 120) -> list[dict]:
    arguments = json.dumps([asdict(plan) for plan in plans])
    done = subprocess.run([sys.executable, "-m", "tests.planner.placement_probe", arguments],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def reported(report: dict, kind: str) -> int:
    return sum(buffer["bytes"] for buffer in report["buffers"] if buffer["kind"] == kind)


def cpu_plan(profile: GgufProfile, n_ctx: int) -> Plan:
    plan = make_plan(profile, describe_machine(ram=20 * GIB, cores=2), PlanRequest(n_ctx=n_ctx))
    assert plan.fits and plan.mode == "cpu"
    return plan


def model_buffer(report: dict, device: str) -> int:
    return sum(b["bytes"] for b in report["buffers"] if b["kind"] == "model" and b["device"] == device)


def test_tiny_model_overrides_and_predictions(tiny_model: Path) -> None:
    plan = cpu_plan(read_profile(tiny_model), 4096)
    with_override = replace(plan.load, n_gpu_layers=-1, cpu_expert_blocks=(1,))
    overridden, planned = load_in_child(with_override, plan.load)
    # the override reaches exactly the expert weights of block 1 (not their biases), in host memory
    assert sorted(t["name"] for t in overridden["overridden"]) == [
        "blk.1.ffn_down_exps.weight", "blk.1.ffn_gate_exps.weight", "blk.1.ffn_up_exps.weight"]
    assert all(t["buffer"].startswith("CPU") for t in overridden["overridden"])  # CPU or CPU_REPACK
    assert planned["overridden"] == []
    # llama.cpp reports to 0.01 MiB, which is a lot for a model this small: compare to that precision
    assert abs(reported(planned, "kv") - plan.host.kv) <= 2 * 0.01 * 2**20
    assert reported(planned, "compute") == pytest.approx(plan.host.compute, rel=0.05)


@pytest.mark.slow
def test_20b_twin_cpu_load_kv_and_compute_within_5_percent(profile_20b: GgufProfile) -> None:
    plan = cpu_plan(profile_20b, 4096)
    blocks = (0, 1, 2)
    [report] = load_in_child(replace(plan.load, n_gpu_layers=-1, cpu_expert_blocks=blocks), timeout=600)
    predicted = plan.host.kv + plan.host.compute
    actual = reported(report, "kv") + reported(report, "compute")
    assert actual == pytest.approx(predicted, rel=0.05)
    assert reported(report, "kv") == plan.host.kv  # the KV arithmetic is exact
    names = sorted(t["name"] for t in report["overridden"])
    kinds = ("gate", "up", "down")
    assert names == sorted(f"blk.{b}.ffn_{kind}_exps.weight" for b in blocks for kind in kinds)
    # host buffers: the mapped file holds every tensor; MXFP4 experts are repacked for the CPU as well
    assert model_buffer(report, "CPU_Mapped") == pytest.approx(profile_20b.tensor_bytes, rel=0.01)
    assert model_buffer(report, "CPU_REPACK") == pytest.approx(profile_20b.expert_bytes, rel=0.01)
