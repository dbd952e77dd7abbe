"""A real chat-completions server that is not Ossian: llama-cpp-python's own `python -m llama_cpp.server`
on the tiny model. It renders with its own template and parses nothing of Harmony, as many servers do."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app import harmony
from app.chat.completion import CompletionRequest, complete, prompt_settings
from app.engine.client import WorkerEngine
from app.engine.interface import SamplingSettings
from app.engine.remote import ChatServerEngine
from tests.engine.remote.conftest import connected


@pytest.fixture(scope="module")
def llama_cpp_server(tiny_model_path: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_model_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"llama_cpp.server exited: {process.stderr.read()}")
        try:
            if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError("llama_cpp.server did not start in 60 s")
    yield url
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stderr.close()


def test_it_is_found_as_a_chat_server_and_answers(llama_cpp_server: str) -> None:
    engine = connected(llama_cpp_server)
    assert isinstance(engine, ChatServerEngine)
    assert engine.info.kind == "llama-cpp-python" and engine.info.tier == "chat"
    assert engine.model is not None and engine.model.model_path.endswith("tiny-gpt-oss.gguf")
    result = complete(engine, CompletionRequest((harmony.Message(harmony.USER, "Hello"),), prompt_settings(),
                                                SamplingSettings(seed=3, max_tokens=12))).result()
    assert result.error is None and result.finish_reason in ("length", "stop")
    assert result.usage.completion_tokens > 0 and result.all_messages
    engine.close()


def test_its_token_counts_are_llama_cpps(llama_cpp_server: str, tiny_model_path: Path) -> None:
    """It can count (`/extras/tokenize/count`), so the meter uses its counts, not an estimate."""
    from tests.engine.conftest import tiny_plan

    engine = connected(llama_cpp_server)
    local = WorkerEngine()
    local.load(tiny_plan(tiny_model_path)).result(timeout=60)
    texts = ["hello world", "Ein längerer Satz, mit Zahlen 12345 und Satzzeichen!"]
    assert engine.count_tokens(texts).result(timeout=30) == local.count_tokens(texts).result(timeout=30)
    local.close()
    engine.close()
