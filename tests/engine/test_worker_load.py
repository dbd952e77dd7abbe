"""The worker applies a LoadPlan faithfully and reports the buffers llama.cpp allocated.

Expected sizes are worked out from the tiny model's shape (fixtures/tiny_models.py): one
full-attention and one sliding-window layer, 2 KV heads of 32 dimensions, so an f16 cache holds
2 (K and V) x 2 x 32 x 2 bytes = 256 bytes per cell and layer; llama.cpp logs MiB to two decimals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from llama_cpp import llama_cpp as llama_c

from app.engine.interface import BufferSize, LoadPlan, ModelInfo
from app.engine.worker_load import expert_override_patterns
from app.engine.worker_log import LlamaLog
from app.engine.worker_session import Session
from fixtures.tiny_models import TINY
from tests.engine.conftest import tiny_plan

F16_CELL_BYTES = 2 * TINY.n_head_kv * TINY.head_dim * 2
Q8_0_CELL_BYTES = 2 * TINY.n_head_kv * TINY.head_dim * 34 // 32  # 34 bytes per block of 32 values
LOGGED_PRECISION = 0.005 * 2**20  # llama.cpp prints MiB with two decimals


@pytest.fixture(scope="module")
def log() -> LlamaLog:
    return LlamaLog(forward=None)


@pytest.fixture(scope="module")
def session(log: LlamaLog) -> Iterator[Session]:
    session = Session(log)
    yield session
    session.unload()


def kv(info: ModelInfo, label: str) -> BufferSize:
    (buffer,) = [b for b in info.buffers if b.kind == "kv" and b.label == label]
    return buffer


def swa_cells(n_ctx: int, n_ubatch: int = 512) -> int:
    """llama.cpp's sliding-window cache size with swa_full=False: window + ubatch, padded to 256."""
    return min(n_ctx, -(-(TINY.sliding_window + n_ubatch) // 256) * 256)


@pytest.mark.parametrize("n_ctx", [2048, 8192])
def test_context_and_kv_cache_are_as_planned(session: Session, tiny_model_path: Path, n_ctx: int) -> None:
    info = session.load(tiny_plan(tiny_model_path, n_ctx=n_ctx))
    assert info.n_ctx == n_ctx and info.n_ctx_train == TINY.context_length
    assert info.architecture == "gpt-oss"
    assert kv(info, "non-SWA").bytes == pytest.approx(n_ctx * F16_CELL_BYTES, abs=LOGGED_PRECISION)
    assert kv(info, "SWA").bytes == pytest.approx(swa_cells(n_ctx) * F16_CELL_BYTES, abs=LOGGED_PRECISION)
    kinds = {b.kind for b in info.buffers}
    assert {"model", "kv", "compute"} <= kinds
    assert sum(b.bytes for b in info.buffers if b.kind == "model") == pytest.approx(
        Path(tiny_model_path).stat().st_size, rel=0.5)
    assert all(b.bytes > 0 for b in info.buffers if b.kind in ("model", "compute"))


def test_full_size_window_cache_when_the_plan_asks(session: Session, tiny_model_path: Path) -> None:
    info = session.load(tiny_plan(tiny_model_path, n_ctx=8192, swa_full=True))
    assert kv(info, "SWA").bytes == kv(info, "non-SWA").bytes


def test_quantized_kv_cache(session: Session, tiny_model_path: Path) -> None:
    info = session.load(tiny_plan(tiny_model_path, n_ctx=8192, kv_type="q8_0", flash_attn=True))
    assert kv(info, "non-SWA").bytes == pytest.approx(8192 * Q8_0_CELL_BYTES, abs=LOGGED_PRECISION)


def test_threads_and_flash_attention_reach_the_context(session: Session, log: LlamaLog,
                                                       tiny_model_path: Path) -> None:
    for flash, said in ((True, "enabled"), (False, "disabled"), (None, "auto")):
        with log.capture() as lines:
            session.load(tiny_plan(tiny_model_path, n_threads=1, flash_attn=flash))
        assert session.loaded is not None
        assert llama_c.llama_n_threads(session.loaded.ctx) == 1
        assert any(re.search(rf"flash_attn\s+=\s+{said}", line) for _, line in lines)


def test_expert_overrides_keep_exactly_the_planned_expert_weights_on_the_cpu(
        session: Session, log: LlamaLog, tiny_model_path: Path) -> None:
    with log.capture() as lines:
        session.load(tiny_plan(tiny_model_path, cpu_expert_blocks=(1,)))
    found = (re.search(r"tensor (\S+) .*buffer type overridden", line) for _, line in lines)
    overridden = {match[1] for match in found if match}
    assert overridden == {f"blk.1.ffn_{kind}_exps.weight" for kind in ("gate", "up", "down")}
    with log.capture() as lines:
        session.load(tiny_plan(tiny_model_path))
    assert not any("overridden" in line for _, line in lines)


def test_override_patterns_match_only_expert_weights_of_their_blocks() -> None:
    patterns = [re.compile(p) for p in expert_override_patterns((3, 1, 3))]
    assert len(patterns) == 2
    names = ["blk.1.ffn_up_exps.weight", "blk.3.ffn_gate_exps.weight", "blk.3.ffn_down_exps.weight",
             "blk.1.ffn_up_exps.bias", "blk.13.ffn_up_exps.weight", "blk.2.ffn_up_exps.weight",
             "blk.1.attn_q.weight"]
    matched = [n for n in names if any(p.search(n) for p in patterns)]
    assert matched == names[:3]


def test_generation_after_a_load_uses_the_new_plan(session: Session, tiny_model_path: Path) -> None:
    first = session.load(tiny_plan(tiny_model_path, n_ctx=2048))
    second = session.load(LoadPlan(str(tiny_model_path), n_ctx=1024, n_threads=1, warmup=False))
    assert (first.n_ctx, second.n_ctx) == (2048, 1024)
    assert session.info is second
    session.unload()
    assert session.info is None
