"""Bad model files and impossible plans: an error event naming the file and the problem, never a crash.

One engine serves the whole module: after every failure the same engine must still load the good model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import EngineError, EngineFailure, LoadPlan
from fixtures.tiny_models import write_not_a_gguf, write_truncated_copy
from tests.engine.conftest import tiny_plan


@pytest.fixture(scope="module")
def engine() -> Iterator[WorkerEngine]:
    engine = WorkerEngine()
    yield engine
    engine.close()


def load_error(engine: WorkerEngine, plan: LoadPlan) -> EngineError:
    with pytest.raises(EngineFailure) as failure:
        engine.load(plan).result(timeout=120)
    return failure.value.error


def still_works(engine: WorkerEngine, good: Path) -> None:
    assert engine.load(tiny_plan(good)).result(timeout=60).architecture == "gpt-oss"


def test_a_path_that_does_not_exist(engine: WorkerEngine, tmp_path: Path, tiny_model_path: Path) -> None:
    missing = tmp_path / "gpt-oss-20b.gguf"
    error = load_error(engine, tiny_plan(missing))
    assert error.kind == "model"
    assert str(missing) in error.message and "no file" in error.message
    assert engine.model is None
    still_works(engine, tiny_model_path)


def test_a_file_that_is_not_gguf(engine: WorkerEngine, tmp_path: Path, tiny_model_path: Path) -> None:
    path = write_not_a_gguf(tmp_path / "model.gguf")
    error = load_error(engine, tiny_plan(path))
    assert error.kind == "model"
    assert "model.gguf" in error.message and "not a GGUF" in error.message
    still_works(engine, tiny_model_path)


@pytest.mark.parametrize("keep", [0.6, 0.01], ids=["data-cut", "header-cut"])
def test_a_truncated_gguf(engine: WorkerEngine, tmp_path: Path, tiny_model_path: Path, keep: float) -> None:
    path = write_truncated_copy(tiny_model_path, tmp_path / "cut.gguf", keep)
    error = load_error(engine, tiny_plan(path))
    assert error.kind == "model"
    assert "cut.gguf" in error.message
    assert "cut short" in error.message or "incomplete" in error.message
    assert "again" in error.message  # what to do: download it again
    still_works(engine, tiny_model_path)


def test_a_gguf_of_another_architecture(engine: WorkerEngine, other_architecture_model_path: Path,
                                        tiny_model_path: Path) -> None:
    error = load_error(engine, tiny_plan(other_architecture_model_path))
    assert error.kind == "model"
    assert other_architecture_model_path.name in error.message
    assert "llama" in error.message and "gpt-oss" in error.message
    still_works(engine, tiny_model_path)


def test_a_context_larger_than_memory(engine: WorkerEngine, tiny_model_path: Path) -> None:
    """About 2**31 cells: half a TiB of KV cache. Refused before llama.cpp touches any of it."""
    started = time.perf_counter()
    error = load_error(engine, tiny_plan(tiny_model_path, n_ctx=2**31 - 2**20))
    assert time.perf_counter() - started < 10
    assert error.kind == "memory"
    assert tiny_model_path.name in error.message and "KV cache" in error.message and "free" in error.message
    still_works(engine, tiny_model_path)


def test_what_llama_cpp_cannot_allocate_is_a_memory_error(tiny_model_path: Path) -> None:
    """Past the estimate, the worker's data-size cap makes llama.cpp's own allocation fail: here a worker
    limited to 1 GiB asked for a 1 GiB KV cache (which the free memory would allow)."""
    limited = [sys.executable, "-c",
               "import resource, sys; resource.setrlimit(resource.RLIMIT_DATA, (2**30, 2**30)); "
               "from app.cli import main; sys.exit(main(['--worker']))"]
    engine = WorkerEngine(command=limited)
    try:
        error = load_error(engine, tiny_plan(tiny_model_path, n_ctx=2**22))
        assert error.kind == "memory"
        assert tiny_model_path.name in error.message and "llama.cpp" in error.message
        assert error.detail  # llama.cpp's own lines, for the planner's ladder
        still_works(engine, tiny_model_path)
    finally:
        engine.close()


def test_a_model_bigger_than_memory_without_mmap(engine: WorkerEngine, tiny_model_path: Path) -> None:
    """The 120b shape twin (63 GB, sparse: it takes no disk) loaded into RAM instead of mapped."""
    from fixtures.shape_twins import shape_twin_120b

    twin = shape_twin_120b()
    error = load_error(engine, LoadPlan(str(twin), n_ctx=4096, n_threads=1, use_mmap=False))
    assert error.kind == "memory"
    assert twin.name in error.message and "GiB" in error.message
    still_works(engine, tiny_model_path)
