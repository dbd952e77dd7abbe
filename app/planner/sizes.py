"""How many bytes llama.cpp will allocate, per device, for a given placement of a gpt-oss model.

Pure arithmetic on a `GgufProfile`. Three kinds of buffer, as llama.cpp reports them on load:

- model: the tensors, placed per block (dense part, experts) plus the output layer and token embedding;
- KV cache: per block on the block's device. Full-attention blocks hold `pad256(n_ctx)` cells; sliding-
  window blocks hold `pad256(min(n_ctx, window + n_ubatch))` (llama_kv_cache_iswa, `swa_full=False`);
  a cell is one K row and one V row of `n_head_kv * head_dim` values in the cache type;
- compute: the peak of ggml's graph allocator for the worst-case batch of `n_ubatch` tokens. It is not
  a closed formula in llama.cpp; the model here follows the graph's three peaks, with the constants
  fitted to llama.cpp 0.3.36's own dry runs (`no_alloc`) of the gpt-oss shapes on the CPU, where it is
  within 5% from 1K to 128K tokens of context (bench/planner_accuracy.py prints the ratios):
    * inside the blocks: the attention masks (which live from the first block to the last), the
      mixture-of-experts activations (gate, up, activation and down outputs of the used experts), and
      without flash attention the KQ matrix of one block;
    * at the output: the logits of every output row (llama.cpp reserves `n_ubatch` of them by default)
      plus three rows of activations per token;
    * at the output also what the allocator could not reuse of the freed masks: up to the mask size, at
      most three activation rows.
  On a GPU the same peaks apply; the host then keeps the inputs (masks, embeddings) and, where experts
  stay in host memory, their activations. Those two splits are calibrated on one published measurement
  (20b, 128K, experts on the CPU: 457 MiB on the GPU, 263 MiB pinned host) and carry a 10% allowance on
  the GPU side, since a failed GPU allocation costs a reload while host memory can page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.engine.interface import KvType
from app.planner.profile import GgufProfile

MIB = 2**20
GIB = 2**30
# ggml block sizes of the KV cache types: (values per block, bytes per block)
KV_TYPE_BLOCKS: dict[str, tuple[int, int]] = {"f16": (1, 2), "q8_0": (32, 34)}
CELL_PADDING = 256  # llama.cpp pads n_ctx and the sliding-window cache to 256 cells
# Fitted to llama.cpp dry runs (see the module docstring); in activation rows of n_embd float32 values.
MOE_EXTRA_ROWS = 0.5  # router and weighting tensors next to the expert activations
OUTPUT_ROWS = 3.0  # activation rows alive next to the logits
NO_FLASH_ATTENTION_ROWS = 6.5  # Q, K, V and softmax rows next to the KQ matrix
HOST_EXPERT_ROWS = 7.5  # activation copies the host keeps when it computes experts for a GPU
GPU_COMPUTE_ALLOWANCE = 1.10
OUTPUT_BUFFER_SEQUENCES = 1  # llama.cpp keeps logits for one sequence in its host output buffer


@dataclass(frozen=True)
class Layout:
    """Where things go. Blocks are offloaded from the last one down, as llama.cpp's n_gpu_layers does."""

    n_gpu_blocks: int  # the last n blocks run on the GPU
    output_on_gpu: bool
    cpu_expert_blocks: frozenset[int] = field(default_factory=frozenset)  # GPU blocks whose experts stay home

    @staticmethod
    def cpu_only() -> Layout:
        return Layout(0, False)

    def gpu_blocks(self, n_blocks: int) -> range:
        return range(n_blocks - self.n_gpu_blocks, n_blocks)

    @property
    def n_gpu_layers(self) -> int:
        """llama.cpp's n_gpu_layers for this layout (the output layer counts as one)."""
        return self.n_gpu_blocks + (1 if self.output_on_gpu else 0)


@dataclass(frozen=True)
class ContextSettings:
    n_ctx: int
    kv_type: KvType = "f16"
    n_ubatch: int = 512
    n_outputs: int | None = None  # output rows reserved per batch; None: llama.cpp's default (n_ubatch)
    flash_attn: bool = True
    swa_full: bool = False


@dataclass(frozen=True)
class Buffers:
    model: int = 0
    kv: int = 0
    compute: int = 0
    output: int = 0

    @property
    def total(self) -> int:
        return self.model + self.kv + self.compute + self.output


@dataclass(frozen=True)
class MemoryUse:
    gpu: Buffers
    host: Buffers


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


def memory_use(profile: GgufProfile, layout: Layout, settings: ContextSettings) -> MemoryUse:
    """Predicted buffers on the GPU(s) together and in host memory."""
    n_blocks = profile.hparams.n_blocks
    gpu_blocks = set(layout.gpu_blocks(n_blocks))
    kv = kv_bytes_per_block(profile, settings)
    gpu_model = profile.output_bytes if layout.output_on_gpu else 0
    host_model = profile.token_embd_bytes + (0 if layout.output_on_gpu else profile.output_bytes)
    gpu_kv = host_kv = 0
    for index, block in enumerate(profile.blocks):
        if index in gpu_blocks:
            gpu_kv += kv[index]
            gpu_model += block.dense
            if index in layout.cpu_expert_blocks:
                host_model += block.experts
            else:
                gpu_model += block.experts
        else:
            host_kv += kv[index]
            host_model += block.dense + block.experts
    gpu_compute, host_compute = compute_bytes(profile, layout, settings)
    output = profile.hparams.n_vocab * 4 * OUTPUT_BUFFER_SEQUENCES
    return MemoryUse(gpu=Buffers(gpu_model, gpu_kv, gpu_compute),
                     host=Buffers(host_model, host_kv, host_compute, output))


def compute_bytes(profile: GgufProfile, layout: Layout, settings: ContextSettings) -> tuple[int, int]:
    """(GPU, host) compute buffer sizes; see the module docstring for where the terms come from."""
    h = profile.hparams
    tokens = settings.n_ubatch
    row = tokens * h.n_embd * 4  # one float32 activation row per token of the batch
    full, swa = kv_cells(profile, settings)
    mask_value = 2 if settings.flash_attn else 4  # flash attention takes an f16 mask
    mask = full * tokens * mask_value + (swa * tokens * mask_value if h.n_swa_blocks else 0)
    experts = 4 * tokens * h.n_experts_used * h.expert_ffn * 4 + MOE_EXTRA_ROWS * row
    attention = 0.0
    if not settings.flash_attn:
        attention = mask + full * tokens * h.n_head * 4 + NO_FLASH_ATTENTION_ROWS * row
    n_outputs = tokens if settings.n_outputs is None else min(settings.n_outputs, tokens)
    output = n_outputs * h.n_vocab * 4 + OUTPUT_ROWS * row

    # The allocator's waste shows at the output, after the masks are freed, so it is added there only.
    output += min(mask, OUTPUT_ROWS * row)

    n_gpu_blocks = layout.n_gpu_blocks
    gpu_peaks = []
    if n_gpu_blocks:
        gpu_experts = n_gpu_blocks > len(layout.cpu_expert_blocks)
        gpu_peaks += [mask + (experts if gpu_experts else MOE_EXTRA_ROWS * row), attention]
    if layout.output_on_gpu:
        gpu_peaks.append(output)
    gpu = int(max(gpu_peaks) * GPU_COMPUTE_ALLOWANCE) if gpu_peaks else 0

    if not layout.n_gpu_layers:
        return 0, int(max(mask + experts, attention, output))
    host_peaks = [mask + row]  # the inputs live in host memory; the embeddings are looked up there
    if layout.cpu_expert_blocks or n_gpu_blocks < h.n_blocks:
        host_peaks.append(mask + experts + HOST_EXPERT_ROWS * row)
    if n_gpu_blocks < h.n_blocks:
        host_peaks.append(attention)
    if not layout.output_on_gpu:
        host_peaks.append(output)
    return gpu, int(max(host_peaks))
