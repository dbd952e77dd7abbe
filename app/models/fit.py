"""Advice before a download: which catalog entries suit this machine, and which one to suggest.

The planner decides, with the same `make_plan` that later loads the model: each catalog entry is given
the profile of its published shape (gpt-oss-20b or -120b: blocks, experts, attention, vocabulary,
and where the bytes are, per the published MXFP4 files), with the expert bytes scaled so the whole
matches the entry's approximate size; the plan for that profile on this machine says whether it fits,
how (all on the GPU, experts in RAM, CPU only) and why, in the planner's own sentence. Once the file
is on disk the planner plans from its real header instead.

So a 16 GB laptop is steered to gpt-oss-20b, an 80 GB card may take gpt-oss-120b, and a machine
where the 120b would only run with its experts in RAM is told so and offered the 20b first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from app.models.catalog import CatalogEntry

if TYPE_CHECKING:  # the planner (with gguf and numpy) is loaded when advice is asked for, not at import
    from app.gguf import GgufProfile
    from app.planner import Machine, Plan

MIB = 2**20
FitLevel = Literal["recommended", "fits", "slow", "too_big"]
_RANK: dict[FitLevel, int] = {"recommended": 0, "fits": 1, "slow": 2, "too_big": 3}


@dataclass(frozen=True)
class PublishedShape:
    """The layout of a published gpt-oss GGUF (docs/architecture, the planner's notes)."""

    n_blocks: int
    n_experts: int
    expert_mib_per_block: float  # MXFP4 expert weights and their F32 biases
    dense_mib_per_block: float  # attention (Q8_0), router, norms, biases, sinks


SHAPES: dict[str, PublishedShape] = {
    "gpt-oss-20b": PublishedShape(n_blocks=24, n_experts=32, expert_mib_per_block=404.5,
                                  dense_mib_per_block=27.3),
    "gpt-oss-120b": PublishedShape(n_blocks=36, n_experts=128, expert_mib_per_block=1617.9,
                                   dense_mib_per_block=28.35),
}
OUTPUT_MIB = 586.8  # output.weight (Q8_0); token_embd is the same size


@dataclass(frozen=True)
class Fit:
    level: FitLevel
    reason: str  # the planner's sentence, with its numbers
    plan: Plan

    @property
    def usable(self) -> bool:
        return self.level != "too_big"


def catalog_profile(entry: CatalogEntry) -> GgufProfile:
    """The profile the entry's file will have: its family's published shape, scaled to its size."""
    from app.gguf import BlockBytes, GgufProfile, Hyperparameters

    shape = SHAPES[entry.family]
    output = int(OUTPUT_MIB * MIB)
    dense = int(shape.dense_mib_per_block * MIB)
    published_experts = int(shape.expert_mib_per_block * MIB)
    # Other quantizations keep the same layout; what differs is mostly the bytes per weight.
    experts_total = entry.approx_bytes - 2 * output - dense * shape.n_blocks
    experts = max(published_experts // 4, experts_total // shape.n_blocks)
    hparams = Hyperparameters(
        n_blocks=shape.n_blocks, n_embd=2880, n_head=64, n_head_kv=8, head_dim_k=64, head_dim_v=64,
        n_experts=shape.n_experts, n_experts_used=4, expert_ffn=2880, n_vocab=201088, n_ctx_train=131072,
        sliding_window=128, swa_blocks=tuple(block % 2 == 0 for block in range(shape.n_blocks)),
    )
    blocks = tuple(BlockBytes(experts, dense) for _ in range(shape.n_blocks))
    path = Path(entry.files[0])
    return GgufProfile(path=path, parts=(path,), file_bytes=entry.approx_bytes, architecture="gpt-oss",
                       name=entry.family, file_type=None, hparams=hparams, blocks=blocks, output_bytes=output,
                       token_embd_bytes=output, tensors=())


def assess_fit(entry: CatalogEntry, machine: Machine) -> Fit:
    from app.planner import make_plan

    plan = make_plan(catalog_profile(entry), machine)
    if not plan.fits:
        level: FitLevel = "too_big"
    elif plan.mode in ("gpu", "unified"):
        level = "recommended"
    elif plan.mode == "hybrid":
        level = "fits"
    else:
        level = "slow"
    return Fit(level, plan.explanation, plan)


def recommend(entries: Iterable[CatalogEntry], machine: Machine) -> CatalogEntry | None:
    """The entry to suggest: official builds first, then the best fit, then the larger model."""
    usable = [(entry, fit) for entry in entries if (fit := assess_fit(entry, machine)).usable]
    if not usable:
        return None
    best = max(usable, key=lambda item: (item[0].official, -_RANK[item[1].level], item[0].approx_bytes))
    return best[0]
