"""The file of what worked: keyed by model, device, runtime and memory; damage costs a retry, not a crash."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from app.gguf import GgufProfile
from app.planner import PlanRequest, RememberedPlans, Tightening, describe_machine
from app.planner.remembered import plan_key

GIB = 2**30


def machine(total_gib: int = 24, runtime: str = "llama.cpp b1 / NVIDIA driver 575"):
    described = describe_machine(gpu_total=total_gib * GIB, ram=64 * GIB, gpu_name="NVIDIA GeForce RTX 4090")
    return replace(described, runtime=runtime)


def test_round_trip_in_the_data_folder(profile_20b: GgufProfile, ossian_home: Path) -> None:
    store = RememberedPlans()
    assert store.path == ossian_home / "data" / "remembered-plans.json"
    assert store.recall(profile_20b, machine()) == Tightening()
    worked = Tightening(gpu_deficit=400 * 2**20, kv_type="q8_0", max_ctx=65536)
    store.remember(profile_20b, machine(), worked)
    assert RememberedPlans().recall(profile_20b, machine()) == worked
    saved = json.loads(store.path.read_text())
    assert saved["version"] == 1
    [entry] = saved["plans"].values()
    assert entry["model"] == profile_20b.path.name and entry["tightening"]["kv_type"] == "q8_0"


def test_the_key_separates_models_devices_runtimes_and_sizes(profile_20b: GgufProfile,
                                                             profile_120b: GgufProfile) -> None:
    store = RememberedPlans()
    store.remember(profile_20b, machine(), Tightening(all_experts_on_cpu=True))
    assert store.recall(profile_120b, machine()).is_empty
    assert store.recall(profile_20b, machine(total_gib=16)).is_empty
    assert store.recall(profile_20b, machine(runtime="llama.cpp b2 / NVIDIA driver 580")).is_empty
    assert not store.recall(profile_20b, machine()).is_empty
    key = plan_key(profile_20b, machine())
    assert profile_20b.fingerprint in key and "NVIDIA GeForce RTX 4090" in key and str(24 * GIB) in key


def test_a_clean_load_forgets_old_corrections(profile_20b: GgufProfile) -> None:
    store = RememberedPlans()
    store.remember(profile_20b, machine(), Tightening(cpu_only=True))
    store.remember(profile_20b, machine(), Tightening())
    assert store.recall(profile_20b, machine()).is_empty
    assert json.loads(store.path.read_text())["plans"] == {}


def test_a_damaged_file_is_set_aside(profile_20b: GgufProfile, ossian_home: Path) -> None:
    store = RememberedPlans()
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{ not json")
    assert store.recall(profile_20b, machine()).is_empty
    assert (store.path.parent / "remembered-plans.json.damaged").read_text() == "{ not json"
    store.remember(profile_20b, machine(), Tightening(kv_type="q8_0"))
    assert store.recall(profile_20b, machine()).kv_type == "q8_0"


def test_unknown_fields_from_a_newer_version_are_ignored(profile_20b: GgufProfile) -> None:
    store = RememberedPlans()
    store.path.parent.mkdir(parents=True)
    key = plan_key(profile_20b, machine())
    store.path.write_text(json.dumps({"version": 1, "plans": {
        key: {"tightening": {"kv_type": "q8_0", "from_the_future": 3}}}}))
    assert store.recall(profile_20b, machine()) == Tightening(kv_type="q8_0")


def test_tightening_applies_to_requests() -> None:
    t = Tightening(gpu_deficit=GIB, kv_type="q8_0", max_ctx=16384, max_gpu_layers=10)
    applied = t.apply(PlanRequest(n_ctx=65536, max_gpu_layers=20))
    assert (applied.n_ctx, applied.kv_type, applied.gpu_deficit, applied.max_gpu_layers) == (
        16384, "q8_0", GIB, 10)
    assert t.apply(PlanRequest()).n_ctx == 16384  # a chosen context is capped as well
    assert t.apply(PlanRequest(n_ctx=8192)).n_ctx == 8192  # a smaller named one stays
    assert Tightening().apply(PlanRequest(n_ctx=4096)) == PlanRequest(n_ctx=4096)
