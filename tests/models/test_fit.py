"""Advice before download, decided by the planner on the published shapes of the catalog's models."""

import pytest

from app.models import assess_fit, load_catalog, recommend
from app.models.catalog import FAMILIES
from app.models.fit import SHAPES, catalog_profile
from app.planner import describe_machine

GB = 1_000_000_000
GIB = 1024**3
CATALOG = load_catalog()
ENTRY_20B = CATALOG.get("gpt-oss-20b")
ENTRY_120B = CATALOG.get("gpt-oss-120b")


@pytest.mark.parametrize(("machine", "suggested"), [
    (describe_machine(ram=16 * GIB), "gpt-oss-20b"),  # a 16 GB laptop, no GPU
    (describe_machine(ram=16 * GIB, gpu_total=8 * GIB), "gpt-oss-20b"),
    (describe_machine(ram=64 * GIB, gpu_total=80 * GB), "gpt-oss-120b"),  # an 80 GB card
    (describe_machine(ram=64 * GIB, gpu_total=24 * GIB), "gpt-oss-20b"),  # 120b only with experts in RAM
    (describe_machine(ram=64 * GIB, unified=True), "gpt-oss-20b"),  # a 64 GB Mac: 120b does not fit
    (describe_machine(ram=128 * GIB, unified=True), "gpt-oss-120b"),
])
def test_the_suggestion_suits_the_machine(machine, suggested: str) -> None:
    chosen = recommend(CATALOG.entries, machine)
    assert chosen is not None and chosen.id == suggested


def test_levels_carry_the_planners_reasons() -> None:
    laptop = describe_machine(ram=16 * GIB)
    slow = assess_fit(ENTRY_20B, laptop)
    assert slow.level == "slow" and slow.usable and "runs on the CPU" in slow.reason
    too_big = assess_fit(ENTRY_120B, laptop)
    assert too_big.level == "too_big" and not too_big.usable
    assert "does not fit" in too_big.reason and "try gpt-oss-20b" in too_big.reason
    hybrid = assess_fit(ENTRY_120B, describe_machine(ram=64 * GIB, gpu_total=24 * GIB))
    assert hybrid.level == "fits" and "experts" in hybrid.reason
    on_gpu = assess_fit(ENTRY_20B, describe_machine(ram=32 * GIB, gpu_total=16 * GIB))
    assert on_gpu.level == "recommended" and "All of gpt-oss-20b runs on the" in on_gpu.reason


def test_nothing_is_suggested_for_a_machine_too_small_for_any() -> None:
    assert recommend(CATALOG.entries, describe_machine(ram=8 * GIB)) is None


@pytest.mark.parametrize("entry", CATALOG.entries, ids=lambda e: e.id)
def test_every_entry_has_a_profile_of_its_size_and_shape(entry) -> None:
    profile = catalog_profile(entry)
    assert profile.hparams.n_blocks == SHAPES[entry.family].n_blocks
    assert abs(profile.tensor_bytes - entry.approx_bytes) < 64 * 2**20


def test_every_catalog_family_has_a_published_shape() -> None:
    assert set(SHAPES) == set(FAMILIES)
