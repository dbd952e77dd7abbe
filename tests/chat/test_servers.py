"""Servers in the settings and in the workspace: the list, the key kept out of the settings file, offline
mode, and a whole turn of the turn loop run on a server (llama-server's shape over the tiny model)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat.servers import ServerEntry, ServerList, ServerRefused, is_loopback, require_allowed
from app.chat.session import SessionOptions
from app.chat.turn import TurnOptions
from app.chat.workspace import Workspace
from app.engine.client import WorkerEngine
from app.engine.interface import SamplingSettings
from app.engine.remote import RemoteEngine
from app.secrets import SecretStore
from app.settings import Settings, load_settings
from fixtures.remote_servers import Knobs, LlamaServerShape, llama_server_on
from tests.chat.conftest import ANALYSIS_THEN_FINAL, Recorder


@pytest.fixture(scope="module")
def server(tiny_model_path: Path) -> Iterator[LlamaServerShape]:
    with llama_server_on(tiny_model_path, Knobs(api_key="k-123")) as shape:
        yield shape


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    workspace = Workspace()
    yield workspace
    workspace.close()


class MemorySecrets(SecretStore):
    """The keyring stand-in: only the session part (tests must not write the machine's keyring)."""

    def put(self, key: str, value: str) -> bool:
        self._session[key] = value
        return True

    def get(self, key: str) -> str | None:
        return self._session.get(key)

    def delete(self, keys) -> None:
        for key in keys:
            self._session.pop(key, None)


def test_the_list_keeps_addresses_in_settings_and_keys_elsewhere(tmp_path: Path) -> None:
    settings = Settings()
    secrets = MemorySecrets()
    servers = ServerList(settings, secrets)
    servers.save(ServerEntry("gpu-box:8080/v1/", "gpt-oss-120b"), api_key=" sk-secret ")
    servers.save(ServerEntry("https://llm.example.org"))
    assert [e.url for e in servers.entries()] == ["http://gpu-box:8080", "https://llm.example.org"]
    entry = servers.find("http://gpu-box:8080/")
    assert entry is not None and entry.model == "gpt-oss-120b" and servers.api_key(entry) == "sk-secret"
    assert "sk-secret" not in json.dumps(settings.servers)
    servers.save(ServerEntry("http://gpu-box:8080", "gpt-oss-20b"))  # replaced, not added
    assert [e.model for e in servers.entries()] == ["", "gpt-oss-20b"]
    servers.remove("gpu-box:8080")
    assert [e.url for e in servers.entries()] == ["https://llm.example.org"] and not secrets._session
    with pytest.raises(ServerRefused, match="not a server address"):
        servers.save(ServerEntry("ftp://files"))


def test_offline_mode_refuses_other_computers_and_allows_this_one() -> None:
    offline = Settings(offline_only=True)
    for url in ("http://localhost:11434", "127.0.0.1:8080", "http://[::1]:1234"):
        assert is_loopback(url) and require_allowed(offline, url)
    with pytest.raises(ServerRefused) as refused:
        require_allowed(offline, "http://gpu-box:8000")
    assert "never use the network" in str(refused.value) and "gpu-box:8000" in str(refused.value)
    assert require_allowed(Settings(), "http://gpu-box:8000") == "http://gpu-box:8000"


def test_a_turn_runs_on_the_server_and_the_window_can_come_back(
        workspace: Workspace, server: LlamaServerShape, tiny_model_path: Path) -> None:
    workspace.servers.save(ServerEntry(server.base_url), api_key="k-123")
    loaded = workspace.use_server(workspace.servers.entries()[0])
    assert isinstance(workspace.engine, RemoteEngine) and loaded.plan is None
    assert loaded.server is not None and loaded.server.kind == "llama-server"
    assert f"runs on 127.0.0.1:{server.base_url.rsplit(':', 1)[1]} (llama-server)" in loaded.explanation
    assert "with the server's context of 4,096 tokens. Raw Harmony tier: " in loaded.explanation
    saved = load_settings(workspace.paths.settings_file)
    assert saved.servers[0]["kind"] == "llama-server" and "k-123" not in json.dumps(saved.servers)

    conversation = workspace.new_conversation()
    recorder = Recorder()
    options = SessionOptions(turn=TurnOptions(sampling=SamplingSettings(seed=1), grammar=ANALYSIS_THEN_FINAL))
    session = workspace.open_session(conversation.id, recorder, options)
    session.send("hello over there")
    finished = recorder.finished()
    assert finished.status == "complete" and finished.stats.n_ctx == 4096
    stored = workspace.store.list_messages(conversation.id)
    assert [(m.role, m.channel) for m in stored] == [("user", None), ("assistant", "analysis"),
                                                     ("assistant", "final")]
    assert server.knobs.requests and server.knobs.requests[-1]["grammar"] == ANALYSIS_THEN_FINAL
    session.stop()
    session.wait(10)

    local = workspace.load_model(tiny_model_path, n_ctx=2048)  # back to this computer
    assert local.server is None and isinstance(workspace.engine, WorkerEngine)


def test_a_wrong_key_ends_the_turn_with_what_to_do_and_keeps_the_message(workspace: Workspace,
                                                                          server: LlamaServerShape) -> None:
    workspace.servers.save(ServerEntry(server.base_url), api_key="wrong")
    workspace.use_server(workspace.servers.entries()[0])  # llama-server answers /props without a key
    conversation = workspace.new_conversation()
    recorder = Recorder()
    session = workspace.open_session(conversation.id, recorder)
    session.send("is anyone there?")
    finished = recorder.finished()
    assert finished.status == "failed" and "refused the API key (401)" in finished.message
    assert [m.content for m in workspace.store.list_messages(conversation.id)] == ["is anyone there?"]
    session.stop()
    session.wait(10)


def test_offline_mode_stops_use_before_anything_is_sent(workspace: Workspace) -> None:
    workspace.settings.offline_only = True
    workspace.servers.save(ServerEntry("http://10.0.0.9:8080"))
    with pytest.raises(ServerRefused):
        workspace.use_server(workspace.servers.entries()[0])
    assert workspace.loaded is None


def test_a_connection_cut_mid_answer_keeps_the_partial_answer_marked(workspace: Workspace,
                                                                    tiny_model_path: Path) -> None:
    """As with a killed worker: what arrived is stored, marked interrupted, and the turn says what to do."""
    with llama_server_on(tiny_model_path, Knobs(cut_after=25)) as shape:
        workspace.servers.save(ServerEntry(shape.base_url))
        workspace.use_server(workspace.servers.entries()[0])
        conversation = workspace.new_conversation()
        recorder = Recorder()
        forced = 'root ::= <|channel|> "final" <|message|> [a-z ]+'
        no_end = ("<|return|>", "<|call|>", "<|endoftext|>")  # 200 tokens, unless the connection breaks
        options = SessionOptions(turn=TurnOptions(
            sampling=SamplingSettings(seed=1, max_tokens=200, suppress_specials=no_end), grammar=forced))
        session = workspace.open_session(conversation.id, recorder, options)
        session.send("tell me a long story")
        finished = recorder.finished()
        assert finished.status == "interrupted" and "broke off mid-answer" in finished.message
        [_user, answer] = workspace.store.list_messages(conversation.id)
        assert (answer.channel, answer.status) == ("final", "interrupted") and len(answer.content) > 5
        session.stop()
        session.wait(10)


def test_a_turn_with_a_tool_call_on_a_chat_server(workspace: Workspace) -> None:
    """The turn loop on the chat tier (Ollama's shape): the reply's reasoning and tool call are stored as
    Harmony messages, the tool runs through the gate, its result goes back by call id, the answer ends it."""
    from app.chat.session import ChatSession
    from app.tools import FunctionTool, ToolRegistry, ToolSelection, ToolSession
    from fixtures.remote_servers import ChatReplayShape, chat_chunk

    shape = ChatReplayShape("ollama").start()
    try:
        shape.queue(chat_chunk({"role": "assistant", "reasoning": "The user wants the time."}),
                    chat_chunk({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                                                "function": {"name": "get_time", "arguments": "{}"}}]}),
                    chat_chunk(finish="tool_calls"))
        shape.queue(chat_chunk({"content": "It is noon."}), chat_chunk(finish="stop"))
        workspace.servers.save(ServerEntry(shape.base_url))
        loaded = workspace.use_server(workspace.servers.entries()[0])
        assert "context of 8,192 tokens. Chat tier: " in loaded.explanation
        conversation = workspace.new_conversation()
        registry = ToolRegistry([FunctionTool("get_time", "The time now.", None, lambda arguments: "12:00")])
        tools = ToolSession(ToolSelection(functions={"get_time"}), registry=registry)
        recorder = Recorder()
        session = ChatSession(store=workspace.store, engine=workspace.engine, conversation_id=conversation.id,
                              listener=recorder, tools=tools)
        session.send("What time is it?")
        finished = recorder.finished()
        assert finished.status == "complete", finished
        stored = [(m.role, m.channel, m.recipient, m.content)
                  for m in workspace.store.list_messages(conversation.id)]
        assert stored[1] == ("assistant", "analysis", None, "The user wants the time.")
        assert stored[2][:3] == ("assistant", "commentary", "functions.get_time")
        assert stored[-1] == ("assistant", "final", None, "It is noon.")
        second = shape.knobs.requests[-1]
        assert second["tools"][0]["function"]["name"] == "get_time"
        assert second["messages"][-1]["role"] == "tool" and second["messages"][-1]["tool_call_id"] == "call_1"
        assert "12:00" in second["messages"][-1]["content"]
        assert second["reasoning_effort"] == "medium" and second["think"] == "medium"
        session.stop()
        session.wait(10)
    finally:
        shape.stop()
