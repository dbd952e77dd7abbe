"""Remote-engine fixtures: server shapes on loopback (fixtures/remote_servers.py) over the tiny model in a
real local worker, and `ossian serve` itself as a real OpenAI-compatible chat server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.client import WorkerEngine
from app.engine.interface import LoadPlan
from app.engine.remote import RemoteEngine, ServerAddress, connect
from fixtures.remote_servers import ChatReplayShape, Knobs, LlamaServerShape, VllmShape
from tests.api.conftest import served  # noqa: F401  (`ossian serve` on the tiny model, as a fixture)
from tests.engine.conftest import tiny_plan


@pytest.fixture(scope="module")
def local(tiny_model_path: Path) -> Iterator[WorkerEngine]:
    """The tiny model in a local worker: what the raw shapes tokenize and generate with."""
    engine = WorkerEngine()
    engine.load(tiny_plan(tiny_model_path)).result(timeout=60)
    yield engine
    engine.close()


@pytest.fixture
def llama_server(local: WorkerEngine) -> Iterator[LlamaServerShape]:
    shape = LlamaServerShape(local, Knobs())
    shape.start()
    yield shape
    shape.stop()


@pytest.fixture
def vllm(local: WorkerEngine) -> Iterator[VllmShape]:
    shape = VllmShape(local, Knobs())
    shape.start()
    yield shape
    shape.stop()


@pytest.fixture(params=["ollama", "lm-studio"])
def chat_server(request: pytest.FixtureRequest) -> Iterator[ChatReplayShape]:
    shape = ChatReplayShape(request.param, Knobs())
    shape.start()
    yield shape
    shape.stop()


def connected(url: str, *, model: str = "", **address: object) -> RemoteEngine:
    """A remote engine on `url` with its model chosen (the server's first, or `model`)."""
    engine = connect(ServerAddress(url, **address))  # type: ignore[arg-type]
    engine.load(LoadPlan(model)).result(timeout=30)
    return engine
