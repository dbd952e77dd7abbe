"""The tools room's public surface is pinned: other rooms import only these names."""

from __future__ import annotations

import app.tools

EXPECTED = {
    "CHILD_FLAG",
    "ApprovalGate",
    "ApprovalMode",
    "CallListener",
    "Decision",
    "DocumentBrowser",
    "FunctionTool",
    "PythonSandbox",
    "ResultStatus",
    "SandboxLimits",
    "SandboxOutcome",
    "SandboxProtection",
    "SandboxRun",
    "ToolCall",
    "ToolRegistry",
    "ToolResult",
    "ToolSelection",
    "ToolSession",
    "code_from_call",
    "document_browser_namespace",
}


def test_public_names_are_pinned() -> None:
    assert set(app.tools.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(app.tools, name) is not None


def test_tools_import_neither_qt_nor_llama_cpp() -> None:
    import subprocess
    import sys

    code = ("import sys, app.tools, app.tools.sandbox_child\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'llama_cpp')]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
