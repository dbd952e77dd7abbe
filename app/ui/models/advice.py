"""Which catalog models suit this machine: read the machine once, ask the planner about every entry.

Runs off the UI thread (reading the machine starts the llama.cpp probe child, 0.3-1 s). Where the
machine cannot be read, the advice is for this computer's RAM alone (`describe_machine()` with no GPU)
and says so, so the user still gets a suggestion rather than an error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from app.models import Catalog, CatalogEntry, Fit, assess_fit, recommend
from app.planner import Machine, describe_machine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Advice:
    machine: Machine
    fits: dict[str, Fit] = field(default_factory=dict)  # catalog id -> the planner's verdict
    recommended: CatalogEntry | None = None  # None: nothing in the catalog fits
    note: str = ""  # what went wrong while reading the machine, for the user

    def fit(self, entry_id: str) -> Fit | None:
        return self.fits.get(entry_id)


def gather_advice(read_machine: Callable[[], Machine], catalog: Catalog) -> Advice:
    """The machine and a verdict per catalog entry. Blocks: call it in the background."""
    note = ""
    try:
        machine = read_machine()
    except Exception as exc:  # a broken probe or driver must not leave the user without advice
        log.warning("could not read this machine (%s); advising for its RAM alone", exc)
        machine = describe_machine()
        note = (f"Ossian could not read this computer's graphics memory ({exc}), so the advice below "
                "counts on the CPU and RAM only.")
    fits = {entry.id: assess_fit(entry, machine) for entry in catalog.entries}
    return Advice(machine, fits, recommend(catalog.entries, machine), note)
