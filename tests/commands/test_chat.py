"""`ossian chat`, run as a real process against the tiny gpt-oss model (and bad inputs)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import ANALYSIS_THEN_FINAL, TOOL_CALL

WORDS = r"[a-z ]{3,20}"


def ossian(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, input=stdin,
                          timeout=120)


@pytest.fixture(scope="module")
def grammars(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("grammars")
    files = {"final": ANALYSIS_THEN_FINAL, "tool": TOOL_CALL, "broken": "root ::= (", "empty": "  \n"}
    for name, text in files.items():
        (folder / f"{name}.gbnf").write_text(text, encoding="utf-8")
    return {name: folder / f"{name}.gbnf" for name in files}


def chat(model: Path, *args: str) -> list[str]:
    return ["chat", "--model", str(model), "--ctx", "4096", "--threads", "1", "--seed", "9", *args]


def test_answer_on_stdout_reasoning_and_stats_on_stderr(tiny_model_path: Path, grammars: dict) -> None:
    done = ossian(*chat(tiny_model_path, "--grammar", str(grammars["final"]), "--show-reasoning", "--stats",
                        "What", "is", "<|start|>", "two", "plus", "two?"))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(WORDS + "\n", done.stdout)
    assert re.search(r"\[analysis\]\n" + WORDS + "\n", done.stderr)
    stats = re.search(r"stats: stopped by (\w+); prompt ([\d,]+) tokens \(0 reused, ([\d,]+) evaluated\)",
                      done.stderr)
    assert stats and stats[1] in ("return", "call", "eog") and stats[2] == stats[3]
    assert re.search(r"plan: .+ with a \d+K context", done.stderr)


def test_reasoning_stays_hidden_unless_asked(tiny_model_path: Path, grammars: dict) -> None:
    done = ossian(*chat(tiny_model_path, "--grammar", str(grammars["final"]), "hello"))
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(WORDS + "\n", done.stdout)
    assert "[analysis]" not in done.stderr and "stats:" not in done.stderr


def test_prompt_from_stdin_and_a_turn_without_final(tiny_model_path: Path, grammars: dict) -> None:
    done = ossian(*chat(tiny_model_path, "--grammar", str(grammars["tool"]), "-"), stdin="What time is it?")
    assert done.returncode == 0, done.stderr
    assert "the model calls functions.get_time" in done.stderr
    assert "no final answer" in done.stderr
    assert re.fullmatch(WORDS + "\n", done.stdout)  # its analysis, flagged on stderr


@pytest.mark.parametrize(("case", "expected"), [
    ("missing", "There is no file at"),
    ("other", "is a llama model"),
    ("broken", "The grammar could not be used"),
    ("empty", "is empty"),
    ("no-grammar-file", "Cannot read the grammar file"),
])
def test_failures_exit_non_zero_with_a_message(tiny_model_path: Path, other_architecture_model_path: Path,
                                               grammars: dict, tmp_path: Path, case: str,
                                               expected: str) -> None:
    args = {
        "missing": chat(tmp_path / "nothing.gguf", "hi"),
        "other": chat(other_architecture_model_path, "hi"),
        "broken": chat(tiny_model_path, "--grammar", str(grammars["broken"]), "hi"),
        "empty": chat(tiny_model_path, "--grammar", str(grammars["empty"]), "hi"),
        "no-grammar-file": chat(tiny_model_path, "--grammar", str(tmp_path / "none.gbnf"), "hi"),
    }[case]
    done = ossian(*args)
    assert done.returncode == 1
    assert done.stderr.startswith("ossian: ") and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_usage_errors_exit_2(tiny_model_path: Path) -> None:
    done = ossian(*chat(tiny_model_path, "--max-tokens", "0", "hi"))
    assert done.returncode == 2 and "--max-tokens" in done.stderr
    done = ossian(*chat(tiny_model_path, " "))
    assert done.returncode == 2 and "prompt is empty" in done.stderr


# A worker that greets in the protocol, then dies (SIGKILL, as the OOM killer does) on the Load request.
DIES_ON_LOAD = """
import os, signal, sys
from app.engine.protocol import PROTOCOL_VERSION, MessageWriter, Ready, read_message
MessageWriter(sys.stdout.buffer).write(Ready(PROTOCOL_VERSION, os.getpid()))
read_message(sys.stdin.buffer)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_load_that_kills_the_engine_says_what_happened_not_that_a_conversation_is_safe(
        tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import app.commands.chat as chat_command
    from app.cli import main
    from app.engine.client import WorkerEngine

    monkeypatch.setattr(chat_command, "WorkerEngine",
                        lambda: WorkerEngine(command=[sys.executable, "-c", DIES_ON_LOAD]))
    code = main(chat(tiny_model_path, "hello"))

    err = capsys.readouterr().err
    assert code == 1
    assert "conversation" not in err.lower()
    assert (f"The engine process stopped unexpectedly while loading {tiny_model_path.name} (it was stopped "
            "by signal SIGKILL), so no model is loaded. The question was not asked." in err)


# ------------------------------------------------------------------------------- --server URL

@pytest.fixture(scope="module")
def remote(tiny_model_path: Path):
    """llama-server's shape over the tiny model (fixtures/remote_servers.py), with a key."""
    from fixtures.remote_servers import Knobs, llama_server_on

    with llama_server_on(tiny_model_path, Knobs(api_key="sk-remote")) as shape:
        yield shape


def test_a_server_answers_like_a_local_model(remote, grammars: dict) -> None:
    done = ossian("chat", "--server", remote.base_url, "--api-key", "sk-remote", "--seed", "9", "--stats",
                  "--grammar", str(grammars["final"]), "--show-reasoning", "Hello", "<|start|>", "there")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(WORDS + "\n", done.stdout)
    assert re.search(r"plan: gpt-oss-tiny\.gguf runs on 127\.0\.0\.1:\d+ \(llama-server\); context 4,096",
                     done.stderr)
    assert remote.knobs.requests[-1]["grammar"] == ANALYSIS_THEN_FINAL


def test_a_server_key_comes_from_the_environment_and_a_wrong_one_is_named(remote) -> None:
    import os

    env = dict(os.environ, OSSIAN_SERVER_API_KEY="sk-wrong")
    done = subprocess.run([sys.executable, "-m", "app", "chat", "--server", remote.base_url, "hi"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode != 0 and "refused the API key (401)" in done.stderr and not done.stdout


def test_a_server_that_is_not_there_and_a_model_it_lacks(remote) -> None:
    gone = ossian("chat", "--server", "http://127.0.0.1:9", "hi")
    assert gone.returncode != 0 and "Could not connect to 127.0.0.1:9" in gone.stderr
    assert "The question was not asked." in gone.stderr
    missing = ossian("chat", "--server", remote.base_url, "--api-key", "sk-remote", "--model", "gpt-oss-120b",
                     "hi")
    assert missing.returncode != 0 and "no model named 'gpt-oss-120b'" in missing.stderr


def test_neither_a_model_nor_a_server_is_a_usage_error() -> None:
    done = ossian("chat", "hello")
    assert done.returncode == 2 and "--model PATH" in done.stderr and "--server URL" in done.stderr
