"""Tools the model can call: the registry, the python sandbox, the document browser, and approval.

Qt-free and llama.cpp-free. `ToolSession` is what the chat uses (one per conversation): the namespaces
to render, `run_call` for each call the model makes, `decide` and listeners for the UI's cards. The
names below are the room's public surface (pinned by tests/tools/test_public_api.py); the modules behind
them each own one job: `registry`, `dispatch`, `approval`, `calls`, `session`, `results`, `functions`,
`schema_check`, `truncation`, `python_tool`, `sandbox` (parent side) and `sandbox_child` (child side),
`document_browser`.
"""

from app.tools.approval import ApprovalGate, Decision
from app.tools.calls import CallListener, ToolCall
from app.tools.document_browser import DocumentBrowser, document_browser_namespace
from app.tools.python_tool import code_from_call
from app.tools.registry import FunctionTool, ToolRegistry, ToolSelection
from app.tools.results import ResultStatus, ToolResult
from app.tools.sandbox import (
    CHILD_FLAG,
    PythonSandbox,
    SandboxLimits,
    SandboxOutcome,
    SandboxRun,
)
from app.tools.sandbox import Protection as SandboxProtection
from app.tools.session import ApprovalMode, ToolSession

__all__ = [
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
]
