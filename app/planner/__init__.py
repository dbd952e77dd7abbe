"""What the machine can run: the devices, the memory plan for a model's profile, the fallback ladder.

The model's profile itself (`read_profile`, `GgufProfile`, `ModelFileError`) comes from `app.gguf`.

Public surface (pinned by tests/planner/test_public_api.py):

- `detect_machine()` / `describe_machine(...) -> Machine`;
- `make_plan(profile, machine, PlanRequest) -> Plan`: a `LoadPlan` for the engine, predicted bytes per
  device and in RAM, and a one-sentence explanation;
- `context_option(...)`, `max_context(...)`: can the context be raised, and how far;
- `load_with_fallback(engine, profile, read_machine, ...)`: load, stepping down on memory failures,
  remembering what worked (`RememberedPlans`).
"""

from app.planner.context import ContextOption, context_option, max_context
from app.planner.devices import Gpu, Machine, describe_machine, detect_machine
from app.planner.ladder import Attempt, LadderResult, LoadFailed, load_with_fallback
from app.planner.plan import DeviceUse, Plan, PlanRequest, make_plan
from app.planner.remembered import RememberedPlans, Tightening
from app.planner.sizes import Buffers

__all__ = [
    "Attempt",
    "Buffers",
    "ContextOption",
    "DeviceUse",
    "Gpu",
    "LadderResult",
    "LoadFailed",
    "Machine",
    "Plan",
    "PlanRequest",
    "RememberedPlans",
    "Tightening",
    "context_option",
    "describe_machine",
    "detect_machine",
    "load_with_fallback",
    "make_plan",
    "max_context",
]
