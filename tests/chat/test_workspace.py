"""The workspace on real parts: planner + worker engine on the tiny model, a real store in OSSIAN_HOME."""

from __future__ import annotations

import json

import pytest

from app.chat.session import SessionOptions
from app.chat.turn import TurnOptions
from app.chat.workspace import Workspace
from app.engine.interface import SamplingSettings
from app.gguf import ModelFileError
from tests.chat.conftest import ANALYSIS_THEN_FINAL, Recorder


@pytest.fixture
def workspace():
    workspace = Workspace()
    yield workspace
    workspace.close()


def test_load_plans_explains_and_remembers_the_model(workspace, tiny_model_path) -> None:
    loaded = workspace.load_model(tiny_model_path, n_ctx=2048)
    assert loaded.n_ctx == 2048 == loaded.plan.n_ctx
    assert "CPU" in loaded.explanation and "2K context" in loaded.explanation
    assert workspace.engine.model is not None
    saved = json.loads(workspace.paths.settings_file.read_text())
    assert saved["last_model"] == str(tiny_model_path)


def test_a_model_of_another_architecture_is_refused_clearly(workspace, other_architecture_model_path) -> None:
    with pytest.raises(ModelFileError) as caught:
        workspace.load_model(other_architecture_model_path)
    assert "gpt-oss" in str(caught.value)
    assert workspace.loaded is None


def test_a_session_from_the_workspace_answers(workspace, tiny_model_path) -> None:
    workspace.load_model(tiny_model_path, n_ctx=2048)
    conversation = workspace.new_conversation()
    assert conversation.model == workspace.loaded.name
    recorder = Recorder()
    options = SessionOptions(turn=TurnOptions(sampling=SamplingSettings(seed=1), grammar=ANALYSIS_THEN_FINAL))
    session = workspace.open_session(conversation.id, recorder, options)
    session.send("hello")
    finished = recorder.finished()
    assert finished.status == "complete"
    assert finished.stats.n_ctx == 2048
    assert 0 < finished.stats.context_used < 2048


def test_tools_follow_the_conversation_settings(workspace) -> None:
    conversation = workspace.new_conversation()
    assert workspace.tool_session(conversation).system_tools() == ()
    updated = workspace.store.update_conversation(conversation.id, settings={"tools": {"python": True}})
    names = [namespace.name for namespace in workspace.tool_session(updated).system_tools()]
    assert names == ["python"]
    broken = workspace.store.update_conversation(conversation.id, settings={"tools": {"python": "yes"}})
    assert workspace.tool_session(broken).system_tools() == ()
