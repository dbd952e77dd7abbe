"""`ossian harmony render|parse` (app/commands/harmony.py): the golden files byte for byte, and errors.

Most cases run the command in-process through `app.cli.main`; two run it as the user does, in a real
subprocess with an ASCII-only console encoding, to prove the output bytes do not depend on the console.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.harmony.golden import (
    VECTORS,
    decoded_text,
    golden_text,
    render_cases,
    text_parse_cases,
    token_parse_cases,
)


def run(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, str]:
    status = main(["harmony", *args])
    captured = capsysbinary.readouterr()
    return status, captured.out, captured.err.decode()


def parse_args(case: dict, path: Path) -> list[str]:
    return ["parse", *(["--role", case["role"]] if case["role"] else []),
            *(["--strict"] if case["strict"] else []), str(path)]


@pytest.mark.parametrize("case", render_cases(), ids=lambda case: case["file"])
def test_render_reproduces_every_golden_file(case: dict, tmp_path: Path, capsysbinary) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    status, out, _ = run(capsysbinary, "render", str(path))
    assert status == 0
    assert out == golden_text(case["file"]).encode("utf-8")


@pytest.mark.parametrize("case", text_parse_cases(), ids=lambda case: case["file"])
def test_parse_reads_every_text_golden_file(case: dict, capsysbinary) -> None:
    status, out, _ = run(capsysbinary, *parse_args(case, VECTORS / case["file"]))
    assert status == 0
    assert json.loads(out) == case["expected_messages"]


@pytest.mark.parametrize("case", token_parse_cases(), ids=lambda case: case["file"])
def test_parse_reads_the_decoded_token_files(case: dict, tmp_path: Path, capsysbinary) -> None:
    path = tmp_path / "decoded.txt"
    path.write_text(decoded_text(case) + "\n", encoding="utf-8")
    status, out, _ = run(capsysbinary, *parse_args(case, path))
    assert status == 0
    assert json.loads(out) == case["expected_messages"]


def ossian(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    return subprocess.run([sys.executable, "-m", "app", "harmony", *args], input=stdin, capture_output=True,
                          timeout=120, env=env, check=False)


def test_render_as_a_subprocess_writes_utf8_whatever_the_console(tmp_path: Path) -> None:
    case = next(case for case in render_cases() if case["file"] == "test_browser_and_python_tool.txt")
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case), encoding="utf-8")
    done = ossian("render", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == golden_text(case["file"]).encode("utf-8")
    assert "【".encode() in done.stdout


def test_parse_from_standard_input_as_a_subprocess() -> None:
    text = ("<|channel|>analysis<|message|>Hmm, 💖.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>Ja.<|return|>")
    done = ossian("parse", "--role", "assistant", "--strict", "-", stdin=text.encode())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8")) == [
        {"role": "assistant", "content": "Hmm, 💖.", "channel": "analysis"},
        {"role": "assistant", "content": "Ja.", "channel": "final"}]


def test_render_without_generation_prompt(tmp_path: Path, capsysbinary) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}], "next_turn_role": None}))
    assert run(capsysbinary, "render", str(path))[1] == b"<|start|>user<|message|>hi<|end|>"


@pytest.mark.parametrize(("content", "complaint"), [
    (b"{", "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    (b'{"messages": [{"role": "usr"}]}', "messages[0].role: 'usr' is not a role"),
    (b'{"messages": []}\xff', "is not UTF-8 text (byte 0xff at offset 16)"),
])
def test_render_errors(content: bytes, complaint: str, tmp_path: Path, capsysbinary) -> None:
    path = tmp_path / "case.json"
    path.write_bytes(content)
    status, out, err = run(capsysbinary, "render", str(path))
    assert status == 1 and out == b""
    assert complaint in err and str(path) in err


def test_missing_file(tmp_path: Path, capsysbinary) -> None:
    status, _, err = run(capsysbinary, "parse", str(tmp_path / "nowhere.txt"))
    assert status == 1 and "cannot read" in err and "No such file" in err


def test_strict_parse_failure_says_how_to_recover(tmp_path: Path, capsysbinary) -> None:
    path = tmp_path / "output.txt"
    path.write_text("I must refuse<|end|>")
    status, out, err = run(capsysbinary, "parse", "--role", "assistant", "--strict", str(path))
    assert status == 1 and out == b""
    assert "unexpected tokens remaining in message header" in err and "without --strict" in err
    status, out, _ = run(capsysbinary, "parse", "--role", "assistant", str(path))
    assert status == 0 and json.loads(out) == [{"role": "assistant", "content": "I must refuse"}]


@pytest.mark.parametrize("args", [[], ["parse"], ["parse", "--role", "robot", "x.txt"], ["frobnicate"]])
def test_usage_errors_exit_2(args: list[str], capsysbinary) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["harmony", *args])
    assert stopped.value.code == 2
