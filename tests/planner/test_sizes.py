"""Buffer arithmetic per device: layouts that lose or invent no byte, and the compute buffer's terms."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.gguf import ContextSettings, GgufProfile, kv_bytes
from app.planner.sizes import Layout, memory_use

K = 1024


layouts = st.integers(min_value=0, max_value=24).flatmap(
    lambda gpu_blocks: st.tuples(
        st.just(gpu_blocks), st.booleans(),
        st.sets(st.sampled_from(range(24 - gpu_blocks, 24))) if gpu_blocks else st.just(set())))


@given(layout=layouts, n_ctx=st.sampled_from([4 * K, 32 * K, 128 * K]))
@settings(max_examples=60, deadline=None)
def test_every_byte_is_placed_once(profile_20b: GgufProfile, layout: tuple, n_ctx: int) -> None:
    gpu_blocks, output_on_gpu, cpu_experts = layout
    context = ContextSettings(n_ctx=n_ctx)
    use = memory_use(profile_20b, Layout(gpu_blocks, output_on_gpu, frozenset(cpu_experts)), context)
    assert use.gpu.model + use.host.model == profile_20b.tensor_bytes
    assert use.gpu.kv + use.host.kv == kv_bytes(profile_20b, context)
    expected_gpu_experts = sum(b.experts for i, b in enumerate(profile_20b.blocks)
                               if i >= 24 - gpu_blocks and i not in cpu_experts)
    gpu_dense = sum(b.dense for b in profile_20b.blocks[24 - gpu_blocks:])
    gpu_output = profile_20b.output_bytes if output_on_gpu else 0
    assert use.gpu.model == expected_gpu_experts + gpu_dense + gpu_output
    assert (use.gpu.compute > 0) == (gpu_blocks > 0 or output_on_gpu)


def test_experts_in_host_memory_move_their_bytes(profile_120b: GgufProfile) -> None:
    context = ContextSettings(n_ctx=32 * K)
    all_gpu = memory_use(profile_120b, Layout(36, True), context)
    hybrid = memory_use(profile_120b, Layout(36, True, frozenset(range(25))), context)
    moved = sum(block.experts for block in profile_120b.blocks[:25])
    assert all_gpu.gpu.model - hybrid.gpu.model == moved
    assert hybrid.host.model - all_gpu.host.model == moved
    # the host computes those experts now, so it needs a compute buffer of its own
    assert hybrid.host.compute > all_gpu.host.compute


def test_compute_buffer_follows_the_context_only_without_flash_attention(profile_20b: GgufProfile) -> None:
    cpu = Layout.cpu_only()
    with_fa = [memory_use(profile_20b, cpu, ContextSettings(n_ctx=n)).host.compute for n in (32 * K, 128 * K)]
    without = [memory_use(profile_20b, cpu, ContextSettings(n_ctx=n, flash_attn=False)).host.compute
               for n in (4 * K, 32 * K)]
    assert with_fa[0] == with_fa[1]  # the logits dominate at any context with flash attention
    assert without[1] > 7 * without[0]  # the KQ matrix grows with the context
    # llama.cpp reserves the logits of every row of a batch unless told to keep fewer
    fewer = memory_use(profile_20b, cpu, ContextSettings(n_ctx=32 * K, n_outputs=1)).host.compute
    assert fewer < with_fa[0] / 3
