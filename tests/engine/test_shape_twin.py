"""The engine on the real gpt-oss-20b shape (the sparse twin): specials at their real ids, the buffers
llama.cpp allocates, generation and prefix reuse. Opt-in (OSSIAN_SLOW_TESTS=1): it needs about 12 GB of
page cache and minutes on a CPU; run it under `flock /tmp/ossian-heavy.lock`."""

from __future__ import annotations

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import Done, GenerateRequest, LoadPlan, SamplingSettings
from app.gguf import ContextSettings, kv_bytes_per_block, read_profile
from tests.engine.conftest import collect, harmony_prompt

pytestmark = pytest.mark.slow


def test_the_20b_twin_loads_generates_and_reuses_its_prefix() -> None:
    from fixtures.shape_twins import HARMONY_SPECIALS, shape_twin_20b

    path = shape_twin_20b()
    engine = WorkerEngine()
    try:
        info = engine.load(LoadPlan(str(path), n_ctx=4096, flash_attn=True)).result(timeout=900)
        assert info.n_vocab == 201088 and info.architecture == "gpt-oss"
        real_ids = {text: token for token, text in HARMONY_SPECIALS.items()}
        assert all(real_ids[text] == token for text, token in info.special_ids.items())

        profile = read_profile(path)
        per_block = kv_bytes_per_block(profile, ContextSettings(n_ctx=4096))
        swa = [size for size, is_swa in zip(per_block, profile.hparams.swa_blocks, strict=True) if is_swa]
        full = [size for size, is_swa in zip(per_block, profile.hparams.swa_blocks, strict=True)
                if not is_swa]
        logged = {b.label: b.bytes for b in info.buffers if b.kind == "kv"}
        assert logged["non-SWA"] == pytest.approx(sum(full), abs=0.005 * 2**20)  # 96 MiB
        assert logged["SWA"] == pytest.approx(sum(swa), abs=0.005 * 2**20)  # 18 MiB
        assert sum(b.bytes for b in info.buffers if b.kind == "model") > 11 * 2**30

        prompt, follow = harmony_prompt("Hello"), harmony_prompt("Hello", "And again")
        first = collect(engine.generate(GenerateRequest(prompt, SamplingSettings(max_tokens=3))))
        assert isinstance(first.end, Done) and first.done.generated_tokens == 3
        second = collect(engine.generate(GenerateRequest(follow, SamplingSettings(max_tokens=1))))
        old, new = engine.tokenize(prompt).result(), engine.tokenize(follow).result()
        common = next(i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b)
        assert second.done.reused_tokens == common  # up to where the generation header began
        assert second.done.evaluated_tokens == len(new) - common
    finally:
        engine.close()
