"""KV cache arithmetic: the bytes of a context against the published table, the sliding-window cells."""

from __future__ import annotations

import pytest

from app.gguf import ContextSettings, GgufProfile, kv_bytes, kv_cells

K = 1024
MIB = 2**20


@pytest.mark.parametrize(("n_ctx", "kv_type", "swa_full", "mib_20b", "mib_120b"), [
    # memory-planner.md: "KV MiB" table (one sequence, n_ubatch 512)
    (8 * K, "f16", False, 210, 315),
    (32 * K, "f16", False, 786, 1179),
    (128 * K, "f16", False, 3090, 4635),
    (8 * K, "f16", True, 384, 576),
    (32 * K, "f16", True, 1536, 2304),
    (128 * K, "f16", True, 6144, 9216),
    (8 * K, "q8_0", False, 112, 167),
    (32 * K, "q8_0", False, 418, 626),
    (128 * K, "q8_0", False, 1642, 2462),
])
def test_kv_cache_matches_the_published_table(profile_20b: GgufProfile, profile_120b: GgufProfile,
                                              n_ctx: int, kv_type: str, swa_full: bool, mib_20b: int,
                                              mib_120b: int) -> None:
    context = ContextSettings(n_ctx=n_ctx, kv_type=kv_type, swa_full=swa_full)  # type: ignore[arg-type]
    assert round(kv_bytes(profile_20b, context) / MIB) == mib_20b
    assert round(kv_bytes(profile_120b, context) / MIB) == mib_120b


def test_sliding_window_cache_is_window_plus_batch_padded(profile_20b: GgufProfile) -> None:
    assert kv_cells(profile_20b, ContextSettings(n_ctx=32 * K)) == (32 * K, 768)
    assert kv_cells(profile_20b, ContextSettings(n_ctx=32 * K, n_ubatch=1024)) == (32 * K, 1280)
    assert kv_cells(profile_20b, ContextSettings(n_ctx=500)) == (512, 512)  # never more than the context
