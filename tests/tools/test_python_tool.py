from __future__ import annotations

from app.harmony import (
    PYTHON_STATELESS_DESCRIPTION,
    Message,
    SystemContent,
    render_message,
    segments_to_text,
)
from app.tools.python_tool import code_from_call, python_namespace_for_prompt, run_python, text_for_model
from app.tools.sandbox import MiB, PythonSandbox, SandboxLimits, SandboxRun


def test_raw_code_is_the_code() -> None:
    assert code_from_call("print(1)\n") == "print(1)\n"


def test_code_sent_as_json_or_in_a_fence_is_unwrapped() -> None:
    assert code_from_call('{"code": "print(2)"}') == "print(2)"
    assert code_from_call("```python\nprint(3)\n```") == "print(3)"
    assert code_from_call("```\nprint(4)\n```\n") == "print(4)"


def test_code_that_merely_contains_a_fence_is_left_alone() -> None:
    code = 'text = """\n```python\nx\n```\n"""\nprint(text)'
    assert code_from_call(code) == code


def test_the_prompt_uses_gpt_oss_stateless_description() -> None:
    namespace = python_namespace_for_prompt()
    assert namespace.name == "python"
    assert namespace.description == PYTHON_STATELESS_DESCRIPTION
    text = segments_to_text(render_message(Message("system", SystemContent(tools=(namespace,)))))
    assert "## python\n\nUse this tool to execute STATELESS Python code" in text


def test_empty_code_is_an_error_for_the_model() -> None:
    result = run_python("  \n", PythonSandbox())
    assert result.status == "error"
    assert "no code" in result.content


def test_a_run_becomes_a_result_with_output_and_detail() -> None:
    limits = SandboxLimits(wall_seconds=10, memory_bytes=256 * MiB)
    result = run_python("print('four:', 2 + 2)", PythonSandbox(limits))
    assert result.ok
    assert result.author == "python"
    assert result.content == "four: 4"
    assert result.sandbox is not None and result.sandbox.exit_code == 0


def run_with(outcome: str, output: str, message: str) -> SandboxRun:
    return SandboxRun(outcome, output, False, len(output), 0, 0.1, (), message)  # type: ignore[arg-type]


def test_text_for_model_says_how_a_run_ended() -> None:
    silent = text_for_model(run_with("ok", "", ""))
    assert silent == "[The code ran and printed nothing. Use print() to see values.]"
    message = "Stopped: still running after 1 s, the time limit."
    stopped = text_for_model(run_with("timeout", "partial\n", message))
    assert stopped == "partial\n[Stopped: still running after 1 s, the time limit.]"
