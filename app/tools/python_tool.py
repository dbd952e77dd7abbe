"""The `python` builtin: a call's text becomes code, runs in the sandbox, and comes back as a tool message.

The sandbox keeps no state between calls, so the model is told so with gpt-oss's stateless python
description (`app.harmony.python_namespace(stateless=True)`), not the Jupyter one it would otherwise
assume. Approval is not decided here: by the time `run_python` is called, the user has said yes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from app.harmony import ToolNamespace, python_code_from_arguments, python_namespace
from app.tools.registry import PYTHON
from app.tools.results import ToolResult, error_result
from app.tools.sandbox import PythonSandbox, SandboxRun

# A whole call wrapped in a Markdown fence (some turns do this) is the code inside the fence.
_FENCED = re.compile(r"\A\s*```[ \t]*(?:python3?|py)?[ \t]*\n(?P<code>.*?)\n?[ \t]*```\s*\Z", re.DOTALL)


def python_namespace_for_prompt() -> ToolNamespace:
    return python_namespace(stateless=True)


def code_from_call(arguments: str) -> str:
    """The code to run: the call's text as is, unwrapped from `{"code": ...}` or a ``` fence if so sent.

    This is also what the approval card shows, so the user approves exactly what runs.
    """
    code = python_code_from_arguments(arguments)
    fenced = _FENCED.match(code)
    return fenced.group("code") if fenced else code


def run_python(code: str, sandbox: PythonSandbox, *, cancel: threading.Event | None = None,
               on_output: Callable[[str], None] | None = None) -> ToolResult:
    """Run approved code in the sandbox; the result's text is what the model gets back."""
    if not code.strip():
        return error_result(PYTHON, "the python call had no code. Send the Python code itself as the "
                                    "message to python, and print() what you need to see.")
    run = sandbox.run(code, cancel=cancel, on_output=on_output)
    status = "ok" if run.ok else "cancelled" if run.outcome == "cancelled" else "error"
    detail = run.message or f"finished in {run.duration_s:.2f} s"
    return ToolResult(PYTHON, text_for_model(run), status, run.duration_s, run.truncated, detail, run)


def text_for_model(run: SandboxRun) -> str:
    """The output as the code printed it, then one bracketed line if the run ended abnormally."""
    parts = [run.output.rstrip("\n")] if run.output.strip() else []
    if run.message:
        parts.append(f"[{run.message}]")
    elif not parts:
        parts.append("[The code ran and printed nothing. Use print() to see values.]")
    return "\n".join(parts)
