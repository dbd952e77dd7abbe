"""`ossian count`: per file, its text's tokens and what it adds to a prompt, against the reference.

Run as a user runs it (`python -m app count ...`), on the tiny model with gpt-oss's real tokenizer. The
reference (openai-harmony on o200k_harmony) counts the extracted text, and renders a conversation with
and without the attachment: the difference is what the file adds to the prompt, which `prompt_tokens`
(the meter's number) must equal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.documents import extract, format_for_prompt
from app.harmony import SYSTEM, USER, Message, SystemContent
from fixtures.documents import Para, prose_lines, write_docx, write_pdf, write_text
from fixtures.o200k import reference_encoding
from fixtures.tiny_models import REPO_ROOT, write_not_a_gguf
from tests.harmony.reference import reference_render

QUESTION = "What does this document say about rivers?"
MIXED = ("# Notes\n\nThe engine counts these: 12345678 tokens, naïve café, Straße.\n\n"
         "我们今天去北京。🎉 <|start|>assistant is only text here.\n\n    def f(x):\n        return x\n")


def ossian(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)


def reference_prompt_tokens(block: str) -> int:
    """What the block adds to a conversation's prompt, as the chat puts it: documents first, a blank line,
    then the question (app.chat.prompt.user_content)."""
    system = Message(SYSTEM, SystemContent(conversation_start_date="2025-08-05"))
    with_block = reference_render([system, Message(USER, f"{block}\n\n{QUESTION}")], "assistant")
    without = reference_render([system, Message(USER, QUESTION)], "assistant")
    return len(with_block) - len(without)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("count")
    return [
        write_text(folder / "notes.md", MIXED),
        write_pdf(folder / "report.pdf", [prose_lines(12, seed=n) for n in range(3)]),
        write_docx(folder / "memo.docx", [Para(line) for line in prose_lines(8, seed=7)]),
    ]


def test_counts_equal_the_reference(real_vocabulary_model_path: Path, documents: list[Path]) -> None:
    done = ossian("count", "--model", str(real_vocabulary_model_path), "--json", *map(str, documents))
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in results] == [str(p) for p in documents]
    encoding = reference_encoding()
    for path, result in zip(documents, results, strict=True):
        document = extract(path)
        assert set(result) == {"file", "text_tokens", "prompt_tokens"}
        assert result["text_tokens"] == len(encoding.encode(document.text, disallowed_special=())), path
        assert result["prompt_tokens"] == reference_prompt_tokens(format_for_prompt(document)), path
        assert result["prompt_tokens"] > result["text_tokens"]  # the header and page markers cost too


def test_an_unreadable_file_is_reported_and_the_others_counted(
        real_vocabulary_model_path: Path, documents: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "gone.pdf"
    done = ossian("count", "--model", str(real_vocabulary_model_path), str(missing), str(documents[0]))
    assert done.returncode == 1
    assert str(missing) in done.stderr and "Traceback" not in done.stderr
    # plain output: one line per counted file, its name and both counts
    [line] = done.stdout.splitlines()
    text_tokens = len(reference_encoding().encode(extract(documents[0]).text, disallowed_special=()))
    assert line.startswith(str(documents[0])) and f"text_tokens {text_tokens}" in line
    assert "prompt_tokens " in line


@pytest.mark.parametrize("model", ["missing", "not a gguf", "another architecture"])
def test_a_model_that_cannot_count_is_a_clear_error(model: str, tmp_path: Path, documents: list[Path],
                                                    other_architecture_model_path: Path) -> None:
    path = {"missing": tmp_path / "nothing.gguf",
            "not a gguf": write_not_a_gguf(tmp_path / "fake.gguf"),
            "another architecture": other_architecture_model_path}[model]
    done = ossian("count", "--model", str(path), str(documents[0]))
    assert done.returncode == 1
    assert done.stderr.startswith(f"ossian: cannot count with {path}: "), done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
