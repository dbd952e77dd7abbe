"""The planner's public surface is pinned: other rooms import these names and nothing else."""

from __future__ import annotations

import app.planner

EXPECTED = [
    "Attempt", "Buffers", "ContextOption", "DeviceUse", "Gpu", "LadderResult", "LoadFailed", "Machine",
    "Plan", "PlanRequest", "RememberedPlans", "Tightening", "context_option", "describe_machine",
    "detect_machine", "load_with_fallback", "make_plan", "max_context",
]


def test_public_names() -> None:
    assert sorted(app.planner.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert getattr(app.planner, name).__module__.startswith("app.planner.")
