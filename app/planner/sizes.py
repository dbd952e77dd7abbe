"""How many bytes llama.cpp will allocate, per device, for a given placement of a gpt-oss model.

Pure arithmetic on a `GgufProfile`. Three kinds of buffer, as llama.cpp reports them on load:

- model: the tensors, placed per block (dense part, experts) plus the output layer and token embedding;
- KV cache: per block on the block's device, its bytes per block from `app.gguf.kv` (the model's
  arithmetic, which the engine's worker uses too);
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
  On a GPU the same peaks apply, the experts' activations included even when their weights stay in host
  memory (measured on a Vulkan device); the host then keeps the inputs (masks, embeddings) and, where
  experts stay in host memory, their activations. Those splits are calibrated on one published
  measurement (20b, 128K, experts on the CPU: 457 MiB on the GPU, 263 MiB pinned host) and one made here
  (20b twin, 4K, all experts on the CPU, lavapipe: 93.3 MiB on the device), and carry a 10% allowance on
  the GPU side, since a failed GPU allocation costs a reload while host memory can page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.gguf import ContextSettings, GgufProfile, kv_bytes_per_block, kv_cells

MIB = 2**20
GIB = 2**30
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


@dataclass(frozen=True)
class Refusals:
    """Bytes a device's backend refuses, which llama.cpp keeps in host memory whatever the layout says
    (it asks the backend whether it runs the operation that uses each weight; see app.engine.worker_ops)."""

    dense: tuple[int, ...] = ()  # per block: attention and router weights the device does not take
    experts: tuple[int, ...] = ()  # per block: expert weights the device does not take
    output: int = 0  # output.weight (a single 587 MiB matrix in gpt-oss: above some devices' buffer range)

    def dense_of(self, block: int) -> int:
        return self.dense[block] if block < len(self.dense) else 0

    def experts_of(self, block: int) -> int:
        return self.experts[block] if block < len(self.experts) else 0

    @property
    def any(self) -> bool:
        return bool(self.output or any(self.dense) or any(self.experts))


EXPERT_TENSOR = re.compile(r"^blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight$")
BLOCK_MATRIX = re.compile(r"^blk\.(\d+)\.(attn_(q|k|v|output)|ffn_gate_inp)\.weight$")


def weight_kind(name: str) -> str | None:
    """The operation llama.cpp runs with a weight, as the probe names kinds: mul_mat_id for expert
    weights, mul_mat for the other matrices; None for norms, biases and sinks (element-wise, taken by
    every backend) and for the token embedding (always in host memory)."""
    if EXPERT_TENSOR.match(name):
        return "mul_mat_id"
    if BLOCK_MATRIX.match(name) or name == "output.weight":
        return "mul_mat"
    return None


def refusals(profile: GgufProfile, limits: dict[str, int]) -> Refusals:
    """What a device with these weight limits (empty: unknown, assume it takes everything) refuses."""
    n = profile.hparams.n_blocks
    if not limits:
        return Refusals((0,) * n, (0,) * n, 0)
    dense, experts, output = [0] * n, [0] * n, 0
    for tensor in profile.tensors:
        kind = weight_kind(tensor.name)
        if kind is None:
            continue
        limit = limits.get(f"{kind}/{tensor.type_name.lower()}")
        if limit is None or tensor.nbytes <= limit:
            continue
        if tensor.name == "output.weight":
            output += tensor.nbytes
            continue
        block = int(tensor.name.split(".")[1])
        if block >= n:
            continue
        if kind == "mul_mat_id":
            experts[block] += tensor.nbytes
        else:
            dense[block] += tensor.nbytes
    return Refusals(tuple(dense), tuple(experts), output)


def memory_use(profile: GgufProfile, layout: Layout, settings: ContextSettings,
               refused: Refusals | None = None) -> MemoryUse:
    """Predicted buffers on the GPU(s) together and in host memory."""
    shares = device_use(profile, layout, settings, (1.0,), refused)
    gpu, host = shares[0], shares[-1]
    return MemoryUse(gpu=gpu, host=host)


def layer_devices(layout: Layout, n_blocks: int, split: tuple[float, ...]) -> list[int | None]:
    """Per layer (the blocks, then the output layer): the index of the GPU llama.cpp puts it on, or None
    for the CPU. llama.cpp's rule (llama-model.cpp): of the offloaded layers, the one at position p of
    `count` goes to the first device whose cumulative share of the split exceeds p / count."""
    offloaded = [*layout.gpu_blocks(n_blocks), *([n_blocks] if layout.output_on_gpu else [])]
    total = sum(split) or 1.0
    bounds, running = [], 0.0
    for share in split:
        running += share
        bounds.append(running / total)
    placement: list[int | None] = [None] * (n_blocks + 1)
    for position, layer in enumerate(offloaded):
        fraction = position / len(offloaded)
        placement[layer] = next((j for j, bound in enumerate(bounds) if bound > fraction), len(bounds) - 1)
    return placement


def device_use(profile: GgufProfile, layout: Layout, settings: ContextSettings, split: tuple[float, ...],
               refused: Refusals | None = None) -> tuple[Buffers, ...]:
    """Predicted buffers per GPU of the split (in its order), then host memory as the last entry.

    Weights a device refuses (`refused`) and the experts of `layout.cpu_expert_blocks` count in host
    memory; the KV cache of a block lives on the block's device; each GPU holding layers gets the GPU
    compute buffer (ggml's scheduler sizes one per backend for the worst batch), the one holding the
    output layer the output's part of it."""
    n_blocks = profile.hparams.n_blocks
    refused = refused or Refusals()
    placement = layer_devices(layout, n_blocks, split)
    kv = kv_bytes_per_block(profile, settings)
    n_devices = len(split)
    model, cache = [0] * n_devices, [0] * n_devices
    host_model = profile.token_embd_bytes
    host_kv = 0
    for index, block in enumerate(profile.blocks):
        device = placement[index]
        if device is None:
            host_kv += kv[index]
            host_model += block.dense + block.experts
            continue
        cache[device] += kv[index]
        dense_refused = refused.dense_of(index)
        model[device] += block.dense - dense_refused
        host_model += dense_refused
        if index in layout.cpu_expert_blocks:
            host_model += block.experts
        else:
            experts_refused = refused.experts_of(index)
            model[device] += block.experts - experts_refused
            host_model += experts_refused
    output_device = placement[n_blocks]
    output_on_gpu = output_device is not None and refused.output < profile.output_bytes
    if output_device is not None:
        model[output_device] += profile.output_bytes - refused.output
        host_model += refused.output
    else:
        host_model += profile.output_bytes
    compute_layout = layout if output_on_gpu or output_device is None else Layout(
        layout.n_gpu_blocks, False, layout.cpu_expert_blocks)
    gpu_compute, host_compute = compute_bytes(profile, compute_layout, settings)
    if not layout.n_gpu_layers:
        gpu_compute = 0
    holding = {device for device in placement if device is not None}
    shares = tuple(Buffers(model[j], cache[j], gpu_compute if j in holding else 0) for j in range(n_devices))
    output = profile.hparams.n_vocab * 4 * OUTPUT_BUFFER_SEQUENCES
    return (*shares, Buffers(host_model, host_kv, host_compute, output))


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
        # The mixture-of-experts activations are on the GPU even when every expert weight is in host
        # memory: the scheduler keeps the ops around the expert products (weighting, sums) with the
        # block. Measured on a Vulkan device, 20b twin at 4K with all experts on the CPU: 93.3 MiB of
        # compute buffer against 92.8 MiB for mask + experts here (before the allowance).
        gpu_peaks += [mask + experts, attention]
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
