"""A model another app downloaded, used where it is: found, recorded, planned, loaded by the real worker
engine (llama.cpp) from the other app's store, and answering a chat turn.

One case per store: the Hub cache (llama.cpp opens the snapshot link, which leads into `blobs/`), LM
Studio (a split set shaped like the 120b, loaded from its first part) and Ollama (a blob named
`sha256-<hex>`, no `.gguf` in sight).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat.session import SessionOptions
from app.chat.turn import TurnOptions
from app.chat.workspace import Workspace
from app.engine.interface import SamplingSettings
from app.models import import_found, scan_found, store_locations
from app.models.stores import Environment
from fixtures.other_apps import hub_cache_repo, lm_studio_model, ollama_model
from fixtures.tiny_models import tiny_gpt_oss_model
from tests.chat.conftest import ANALYSIS_THEN_FINAL, Recorder
from tests.models.tiny_split import tiny_gpt_oss_split


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace (one worker) for the module, in a private home of its own: module fixtures are made
    before the per-test OSSIAN_HOME of tests/conftest.py is set."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OSSIAN_HOME", str(tmp_path_factory.mktemp("ossian-home")))
        patch.delenv("OSSIAN_MODELS_DIR", raising=False)
        workspace = Workspace()
    yield workspace
    workspace.close()


def build(source: str, home: Path) -> None:
    if source == "hub-cache":
        hub_cache_repo(home / ".cache/huggingface/hub", "ggml-org/gpt-oss-20b-GGUF",
                       {"gpt-oss-20b-mxfp4.gguf": tiny_gpt_oss_model()})
    elif source == "lm-studio":
        lm_studio_model(home / ".lmstudio/models", "ggml-org/gpt-oss-120b-GGUF", tiny_gpt_oss_split(),
                        [f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf" for i in (1, 2, 3)])
    else:
        ollama_model(home / ".ollama/models", "gpt-oss-20b-GGUF", "latest", tiny_gpt_oss_model(),
                     registry="hf.co", namespace="ggml-org")


@pytest.mark.parametrize("source", ["hub-cache", "lm-studio", "ollama"])
def test_a_found_model_loads_in_place_and_answers(source: str, workspace: Workspace, tmp_path: Path) -> None:
    home = tmp_path / "home"
    build(source, home)
    (found,) = scan_found(store_locations(Environment(home=home, system_root=tmp_path / "system")))
    assert found.usable and found.source == source
    model = import_found(found, workspace.library)
    assert model.parts == found.parts and model.kept_by == source

    loaded = workspace.load_model(model.path, n_ctx=2048)

    assert loaded.path == model.path and loaded.name == model.name
    assert all(not workspace.library.owns(Path(os.path.realpath(p))) for p in model.parts)
    conversation = workspace.new_conversation()
    recorder = Recorder()
    options = SessionOptions(turn=TurnOptions(sampling=SamplingSettings(seed=1), grammar=ANALYSIS_THEN_FINAL))
    session = workspace.open_session(conversation.id, recorder, options)
    session.send("hello")
    finished = recorder.finished()
    assert finished.status == "complete", finished
    assert 0 < finished.stats.context_used < 2048
