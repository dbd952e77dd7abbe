"""The KV cache of a gpt-oss model: its cells and bytes for a context, as llama.cpp allocates them.

Pure arithmetic on a `GgufProfile`, wherever the blocks run: full-attention blocks hold `pad256(n_ctx)`
cells; sliding-window blocks hold `pad256(min(n_ctx, window + n_ubatch))` (llama_kv_cache_iswa,
`swa_full=False`); a cell is one K row and one V row of `n_head_kv * head_dim` values in the cache type.
The engine's worker uses it to refuse a context that cannot fit before llama.cpp touches gigabytes; the
planner places the same bytes per device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.gguf.profile import GgufProfile

KvType = Literal["f16", "q8_0"]
# ggml block sizes of the KV cache types: (values per block, bytes per block)
KV_TYPE_BLOCKS: dict[str, tuple[int, int]] = {"f16": (1, 2), "q8_0": (32, 34)}
CELL_PADDING = 256  # llama.cpp pads n_ctx and the sliding-window cache to 256 cells


@dataclass(frozen=True)
class ContextSettings:
    n_ctx: int
    kv_type: KvType = "f16"
    n_ubatch: int = 512
    n_outputs: int | None = None  # output rows reserved per batch; None: llama.cpp's default (n_ubatch)
    flash_attn: bool = True
    swa_full: bool = False


def padded_ctx(n_ctx: int) -> int:
    return -(-n_ctx // CELL_PADDING) * CELL_PADDING


def kv_cells(profile: GgufProfile, settings: ContextSettings) -> tuple[int, int]:
    """Cells of a full-attention block and of a sliding-window block."""
    full = padded_ctx(settings.n_ctx)
    if settings.swa_full:
        return full, full
    window = profile.hparams.sliding_window + settings.n_ubatch
    return full, min(full, padded_ctx(window))


def kv_bytes_per_block(profile: GgufProfile, settings: ContextSettings) -> tuple[int, ...]:
    h = profile.hparams
    values, block_bytes = KV_TYPE_BLOCKS[settings.kv_type]
    row = (h.n_head_kv * h.head_dim_k + h.n_head_kv * h.head_dim_v) // values * block_bytes
    full, swa = kv_cells(profile, settings)
    return tuple(row * (swa if is_swa else full) for is_swa in h.swa_blocks)


def kv_bytes(profile: GgufProfile, settings: ContextSettings) -> int:
    return sum(kv_bytes_per_block(profile, settings))
