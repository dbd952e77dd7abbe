"""What the machine can run: the GGUF profile of a model, the devices, the memory plan, the fallback ladder.

Public surface (pinned by tests/planner/test_public_api.py):

- `read_profile(path) -> GgufProfile`, raising `ModelFileError` for a file that cannot be used;
- `detect_machine()` / `describe_machine(...) -> Machine`;
- `make_plan(profile, machine, PlanRequest) -> Plan`: a `LoadPlan` for the engine, predicted bytes per
  device and in RAM, and a one-sentence explanation;
- `context_option(...)`, `max_context(...)`: can the context be raised, and how far;
- `load_with_fallback(engine, profile, read_machine, ...)`: load, stepping down on memory failures,
  remembering what worked (`RememberedPlans`).
"""

from app.planner.context import ContextOption, context_option, max_context
from app.planner.devices import Gpu, Machine, describe_machine, detect_machine
from app.planner.errors import ModelFileError
from app.planner.ladder import Attempt, LadderResult, LoadFailed, load_with_fallback
from app.planner.plan import DeviceUse, Plan, PlanRequest, make_plan
from app.planner.profile import BlockBytes, GgufProfile, Hyperparameters, read_profile
from app.planner.remembered import RememberedPlans, Tightening
from app.planner.sizes import Buffers

__all__ = [
    "Attempt",
    "BlockBytes",
    "Buffers",
    "ContextOption",
    "DeviceUse",
    "GgufProfile",
    "Gpu",
    "Hyperparameters",
    "LadderResult",
    "LoadFailed",
    "Machine",
    "ModelFileError",
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
    "read_profile",
]
