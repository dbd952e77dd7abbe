"""Fixtures for the documents tests: the tiny gpt-oss model with gpt-oss's real tokenizer in a real
engine, so every count is the count the real model pays (o200k_harmony)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from app.documents import CountTokens
from app.engine.client import WorkerEngine
from app.engine.interface import LoadPlan
from fixtures.tiny_models import tiny_gpt_oss_real_vocabulary_model


@pytest.fixture(scope="session")
def tiny_engine() -> Iterator[WorkerEngine]:
    """The app's engine (llama.cpp in its worker process) with the real-vocabulary tiny model loaded.

    One thread: on a two-core CI machine a second llama.cpp thread only fights the tests for the CPU.
    """
    engine = WorkerEngine()
    plan = LoadPlan(str(tiny_gpt_oss_real_vocabulary_model()), n_ctx=8192, n_threads=1)
    engine.load(plan).result(timeout=60)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def count_tokens(tiny_engine: WorkerEngine) -> CountTokens:
    """`count_tokens` as the chat hands it to this room: the engine's tokenizer, waited on."""

    def count(texts: Sequence[str]) -> list[int]:
        return tiny_engine.count_tokens(texts).result(timeout=60)

    return count
