"""API tests: the official `openai` SDK against `ossian serve` on the tiny model (a real process, real
llama.cpp, real HTTP), and against the API server in this process on the scripted engine where a test
needs a reply it can name word for word (random weights write random text)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.api import ApiServer, ApiSettings, create_app
from app.engine.interface import LoadPlan
from app.engine.testing import ScriptedEngine

KEY = "test-key-0123456789"


@dataclass
class Served:
    base_url: str
    key: str
    process: subprocess.Popen[str]
    first_line: str


@pytest.fixture(scope="module")
def served(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`ossian serve` on the tiny model, any free port, a random key: what its first line says."""
    env = dict(os.environ, OSSIAN_HOME=str(tmp_path_factory.mktemp("serve-home")))
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--model", str(tiny_model_path), "--port", "0",
         "--ctx", "2048", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(120)
    if not lines or not lines[0].startswith("serving "):
        process.kill()
        raise AssertionError(f"ossian serve did not start: {lines} {process.stderr.read()}")
    _, url, _, key = lines[0].split()
    yield Served(url, key, process, lines[0])
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()
    process.stderr.close()


@dataclass
class InProcess:
    server: ApiServer
    engine: ScriptedEngine
    base_url: str
    key: str = KEY


@pytest.fixture
def scripted() -> Iterator[InProcess]:
    """The API server in this process on the scripted engine (load it with `engine.queue(reply)`)."""
    engine = ScriptedEngine()
    engine.load(LoadPlan(model_path="/models/gpt-oss-20b-mxfp4.gguf"))
    server = ApiServer(create_app(engine, ApiSettings(api_key=KEY)), "127.0.0.1", 0)
    server.start()
    yield InProcess(server, engine, server.base_url)
    server.stop()
    engine.close()
