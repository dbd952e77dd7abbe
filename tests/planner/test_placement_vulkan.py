"""The planner against llama.cpp on a real Vulkan device: the 20b shape twin, which does not fit the
device whole, loads as planned; where each layer and weight lands is read back from llama.cpp's log and
equals the plan; the buffers llama.cpp reports per device are within 5% of the prediction; and a load the
device cannot hold steps down the fallback ladder and says so.

Run by `python3 installers/bootstrap.py test --vulkan` (see tests/engine/test_vulkan.py). Loads of the
twin take a minute or two each on two cores (12 GB of page cache, the experts repacked for the CPU).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import pytest

from app.engine.client import WorkerEngine
from app.engine.probe import ProbeReport, run_probe
from app.gguf import GgufProfile
from app.planner import Machine, PlanRequest, detect_machine, make_plan
from app.planner.ladder import load_with_fallback
from app.planner.remembered import RememberedPlans
from app.planner.sizes import GPU_COMPUTE_ALLOWANCE
from tests.planner.test_placement import load_in_child

pytestmark = pytest.mark.vulkan

GIB = 2**30


@pytest.fixture(scope="module")
def machine() -> Machine:
    probe: ProbeReport = run_probe()
    assert probe.error is None, probe.error
    machine = detect_machine(probe)
    vulkan = [g for g in machine.usable_gpus if g.backend == "Vulkan"]
    assert vulkan, f"no usable Vulkan device in {machine}"
    return machine


def on_device(report: dict, device: str, kind: str) -> int:
    return sum(b["bytes"] for b in report["buffers"] if b["device"] == device and b["kind"] == kind)


def test_the_20b_twin_loads_as_planned_on_a_device_too_small_for_it(profile_20b: GgufProfile,
                                                                     machine: Machine) -> None:
    gpu = machine.usable_gpus[0]
    assert profile_20b.tensor_bytes > gpu.memory_total  # the whole model does not fit
    plan = make_plan(profile_20b, machine, PlanRequest(n_ctx=4096))
    assert plan.fits and plan.load.devices == (gpu.name,)
    predicted = plan.devices[0].predicted
    [report] = load_in_child(plan.load, timeout=900)

    # every layer where the plan put it (llama.cpp's "layer N assigned to device" lines)
    n = profile_20b.hparams.n_blocks
    first = 0 if plan.load.n_gpu_layers < 0 else n + 1 - plan.load.n_gpu_layers
    expected = [gpu.name if index >= first else "CPU" for index in range(n + 1)]
    assert report["layers"] == expected
    # the expert weights the plan keeps in RAM are exactly the overridden ones
    overridden = sorted(t["name"] for t in report["overridden"])
    assert overridden == sorted(f"blk.{b}.ffn_{kind}_exps.weight"
                                for b in plan.cpu_expert_blocks for kind in ("gate", "up", "down"))
    # what went to host memory though its layer is on the device: llama.cpp counts those tensors in one
    # line (the first by name, "and N others"): the token embedding (always on the host), the overridden
    # expert weights, and the output matrix when the planner predicted that the device refuses it
    output_refused = plan.host.model > profile_20b.token_embd_bytes + profile_20b.expert_bytes
    [moved] = report["moved"]
    assert int(moved["others"]) + 1 == 1 + 3 * len(plan.cpu_expert_blocks) + (1 if output_refused else 0)
    assert moved["used"].startswith("CPU")

    # llama.cpp's buffers on the device against the prediction: the device's total within 5%, the
    # weights and the KV cache to the byte but for llama.cpp's alignment, the compute buffer within 5%
    # before the planner's safety allowance (which the total includes)
    model = on_device(report, gpu.name, "model")
    kv = on_device(report, gpu.name, "kv")
    compute = on_device(report, gpu.name, "compute")
    assert model == pytest.approx(predicted.model, rel=0.001)
    assert kv == predicted.kv
    assert compute == pytest.approx(predicted.compute / GPU_COMPUTE_ALLOWANCE, rel=0.05)
    total = model + kv + compute
    assert 0.95 <= total / predicted.total <= 1.05
    # and in host memory: the experts, repacked for the CPU
    repacked = sum(b["bytes"] for b in report["buffers"]
                   if b["kind"] == "model" and b["device"] == "CPU_REPACK")
    assert repacked == pytest.approx(profile_20b.expert_bytes, rel=0.01)


def limited_worker(data_bytes: int) -> list[str]:
    """The worker, started under a limit on its private memory. A software device's memory is the
    process's own (lavapipe never runs out otherwise: it put 3.9 GiB on its "2 GiB" device), so the limit
    makes the device run out exactly where a GPU whose memory is full would: a Vulkan allocation fails."""
    start = ("import resource, runpy, sys; "
             f"resource.setrlimit(resource.RLIMIT_DATA, ({data_bytes}, {data_bytes})); "
             "sys.argv = ['ossian', '--worker']; runpy.run_module('app', run_name='__main__')")
    return [sys.executable, "-c", start]


def test_a_load_the_device_cannot_hold_steps_down_the_ladder(profile_20b: GgufProfile,
                                                             machine: Machine) -> None:
    """The device says it has four times its memory; the first plan (the trained 128K context, an f16
    cache of 3 GiB on the device) does not fit what it really has, the ladder steps down until a load
    fits and says so, and the model still runs on the device."""
    gpu = machine.usable_gpus[0]
    claimed = 4 * gpu.memory_total
    boasting = replace(machine, gpus=tuple(replace(g, memory_free=claimed, memory_total=claimed)
                                           if g.name == gpu.name else g for g in machine.gpus))
    request = PlanRequest(n_ctx=128 * 1024)
    first = make_plan(profile_20b, boasting, request)
    smaller = make_plan(profile_20b, boasting, replace(request, kv_type="q8_0"))
    assert first.load.kv_type == "f16" and first.devices[0].predicted.total > gpu.memory_total
    # the process's private memory: the experts repacked for the CPU, the compute buffers, the device's
    # buffers (host memory here), and the interpreter; the limit sits halfway between the two plans
    device_first, device_smaller = first.devices[0].predicted.total, smaller.devices[0].predicted.total
    limit = (profile_20b.expert_bytes + smaller.host.compute + device_smaller + 300 * 2**20
             + (device_first - device_smaller) // 2)
    engine = WorkerEngine(command=limited_worker(limit))
    attempts = []
    try:
        result = load_with_fallback(engine, profile_20b, lambda: boasting, request,
                                    remembered=RememberedPlans(), on_attempt=attempts.append, timeout=900)
    finally:
        engine.close()
    failed = [a for a in attempts if a.error is not None]
    assert failed and failed[0].error.kind == "memory"
    assert "Vulkan0" in failed[0].error.message  # the device's allocation is what failed
    assert result.attempts[-1].error is None and len(result.attempts) >= 2
    assert result.plan.load.kv_type == "q8_0" or result.plan.n_ctx < first.n_ctx
    assert "did not load" in result.explanation and "what worked" in result.explanation
    assert any(b.device == gpu.name for b in result.info.buffers)  # it still runs on the device


def test_plans_survive_json(profile_20b: GgufProfile, machine: Machine) -> None:
    """The plan as `ossian plan --json` prints it names the device and what it predicts there."""
    data = json.loads(json.dumps(make_plan(profile_20b, machine, PlanRequest(n_ctx=4096)).as_dict()))
    assert data["predicted"]["devices"][0]["name"] == machine.usable_gpus[0].name
    assert data["devices"] == [machine.usable_gpus[0].name] and data["tensor_split"] == []
