"""Memory of what worked: per model, device, runtime and total memory, the corrections a load needed.

When the fallback ladder had to step down from the plan (llama.cpp needed more GPU memory than predicted,
or the q8_0 KV cache, or a shorter context), the step-downs are kept here, so the next load on the same
(model, device, driver and llama.cpp, total memory) starts from what worked instead of failing again.
What is kept is the correction, not the resulting placement: when more memory is free next time, the
plan still uses it.

A small JSON file in the data folder; a damaged file is set aside (renamed) and started afresh, since
losing it only costs a retry.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from app.gguf import GgufProfile, KvType
from app.paths import app_paths
from app.planner.devices import Machine
from app.planner.plan import PlanRequest

log = logging.getLogger(__name__)
FILE_NAME = "remembered-plans.json"  # the window's file since it first remembered a plan
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Tightening:
    """The step-downs a load needed, applied to any later request for the same key."""

    gpu_deficit: int = 0
    kv_type: KvType | None = None
    max_ctx: int | None = None
    all_experts_on_cpu: bool = False
    max_gpu_layers: int | None = None
    cpu_only: bool = False

    @property
    def is_empty(self) -> bool:
        return self == Tightening()

    def apply(self, request: PlanRequest) -> PlanRequest:
        n_ctx = request.n_ctx
        if self.max_ctx is not None and (n_ctx is None or n_ctx > self.max_ctx):
            n_ctx = self.max_ctx
        max_layers = request.max_gpu_layers
        if self.max_gpu_layers is not None:
            max_layers = self.max_gpu_layers if max_layers is None else min(max_layers, self.max_gpu_layers)
        return replace(
            request,
            n_ctx=n_ctx,
            kv_type=self.kv_type or request.kv_type,
            gpu_deficit=max(request.gpu_deficit, self.gpu_deficit),
            all_experts_on_cpu=request.all_experts_on_cpu or self.all_experts_on_cpu,
            max_gpu_layers=max_layers,
            cpu_only=request.cpu_only or self.cpu_only,
        )


def plan_key(profile: GgufProfile, machine: Machine) -> str:
    """(model, device, runtime, total memory) as one string."""
    gpus = machine.usable_gpus
    device = " + ".join(g.description or g.name for g in gpus) if gpus else "CPU"
    total = sum(g.memory_total for g in gpus) if gpus else machine.ram_total
    return f"{profile.fingerprint} | {device} | {machine.runtime} | {total}"


class RememberedPlans:
    """The file of what worked. Reads it on each call, so two app windows never overwrite stale data."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or app_paths().data / FILE_NAME

    @classmethod
    def in_folder(cls, folder: Path) -> RememberedPlans:
        """The file in `folder` (the workspace's data folder), under its one name."""
        return cls(folder / FILE_NAME)

    def recall(self, profile: GgufProfile, machine: Machine) -> Tightening:
        entry = self._read().get(plan_key(profile, machine))
        if not isinstance(entry, dict):
            return Tightening()
        known = {f.name for f in fields(Tightening)}
        try:
            return Tightening(**{k: v for k, v in entry.get("tightening", {}).items() if k in known})
        except TypeError:
            return Tightening()

    def remember(self, profile: GgufProfile, machine: Machine, tightening: Tightening) -> None:
        plans = self._read()
        key = plan_key(profile, machine)
        if tightening.is_empty:
            if plans.pop(key, None) is None:
                return
        else:
            plans[key] = {"model": profile.path.name, "tightening": asdict(tightening),
                          "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._write(plans)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self._set_aside(exc)
            return {}
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION or \
                not isinstance(data.get("plans"), dict):
            self._set_aside(ValueError("unexpected content"))
            return {}
        return data["plans"]

    def _write(self, plans: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".plans-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump({"version": FORMAT_VERSION, "plans": plans}, file, indent=2)
            os.replace(staging, self.path)
        finally:
            if os.path.exists(staging):
                os.unlink(staging)

    def _set_aside(self, problem: Exception) -> None:
        if not self.path.exists():
            return
        aside = self.path.with_name(f"{self.path.name}.damaged")
        log.warning("remembered plans in %s are unreadable (%s); kept as %s and starting afresh",
                    self.path, problem, aside.name)
        try:
            os.replace(self.path, aside)
        except OSError:
            pass
