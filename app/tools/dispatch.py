"""Routing one tool call to the tool that answers it. Never raises: every failure is a `ToolResult`.

The call target is the recipient as `app.harmony` normalizes it (`functions.python` is the python
builtin); a tool that this conversation has not enabled, or that does not exist, gets an error result
listing what is available, and nothing runs. A `functions.<server>__<tool>` call goes to that MCP
server through the hub (`app.tools.mcp`). Dispatch does not ask for approval: `ToolSession.run_call`
does that first, and is what the chat calls.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from app.harmony import normalize_recipient
from app.tools.document_browser import DocumentBrowser
from app.tools.functions import run_function
from app.tools.mcp.declare import McpTool
from app.tools.mcp.hub import McpHub
from app.tools.python_tool import code_from_call, run_python
from app.tools.registry import BROWSER, FUNCTIONS_PREFIX, PYTHON, ToolRegistry, ToolSelection
from app.tools.results import ToolResult, error_result
from app.tools.sandbox import PythonSandbox

log = logging.getLogger(__name__)

BROWSER_FUNCTIONS = ("search", "open", "find")
_AUTHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class Toolbox:
    """What one conversation's calls can reach right now."""

    registry: ToolRegistry
    selection: ToolSelection
    sandbox: PythonSandbox
    browser: DocumentBrowser | None
    output_chars: int
    mcp_tools: Mapping[str, McpTool] = field(default_factory=dict)  # by function name, as declared
    mcp: McpHub | None = None


def call_target(recipient: str, registry: ToolRegistry) -> str:
    """The tool a recipient means: `functions.python` is `python`, `functions.browser.open` `browser.open`."""
    return normalize_recipient(recipient.strip(), registry.function_names)


def author_name(target: str) -> str:
    """The author of the result message: the target, made safe to render in a Harmony header."""
    return _AUTHOR_UNSAFE.sub("_", target)[:80] or "unknown_tool"


def available_targets(toolbox: Toolbox) -> list[str]:
    targets = [PYTHON] if toolbox.selection.python else []
    if toolbox.selection.browser and toolbox.browser is not None:
        targets += [f"{BROWSER}.{name}" for name in BROWSER_FUNCTIONS]
    targets += [t.recipient for t in toolbox.registry.functions() if t.name in toolbox.selection.functions]
    targets += [t.recipient for t in toolbox.mcp_tools.values() if toolbox.selection.enables(t.recipient)]
    return targets


def dispatch(toolbox: Toolbox, target: str, arguments: str, *, code: str | None = None,
             cancel: threading.Event | None = None,
             on_output: Callable[[str], None] | None = None) -> ToolResult:
    """Run `target` with the call's raw `arguments` (for python, `code` when already extracted)."""
    try:
        return _route(toolbox, target, arguments, code, cancel, on_output)
    except Exception as exc:
        log.exception("tool call to %s failed unexpectedly", target)
        failure = f"{type(exc).__name__}: {exc}"
        return error_result(author_name(target), f"the tool failed unexpectedly ({failure}). This is a fault "
                                                 "in the app, not in the call; continue without it.")


def _route(toolbox: Toolbox, target: str, arguments: str, code: str | None,
           cancel: threading.Event | None, on_output: Callable[[str], None] | None) -> ToolResult:
    if not toolbox.selection.enables(target) or not _exists(toolbox, target):
        return _unavailable(toolbox, target)
    if target == PYTHON:
        return run_python(code_from_call(arguments) if code is None else code, toolbox.sandbox,
                          cancel=cancel, on_output=on_output)
    if target.startswith(BROWSER + "."):
        assert toolbox.browser is not None  # _exists checked it
        return toolbox.browser.call(target[len(BROWSER) + 1:], arguments)
    name = target[len(FUNCTIONS_PREFIX):]
    tool = toolbox.registry.function(name)
    if tool is None:
        mcp_tool = toolbox.mcp_tools[name]  # _exists checked it
        assert toolbox.mcp is not None
        return toolbox.mcp.call(mcp_tool, arguments, toolbox.output_chars, cancel)
    return run_function(tool, arguments, toolbox.output_chars)


def _exists(toolbox: Toolbox, target: str) -> bool:
    if target == PYTHON:
        return True
    if target.startswith(BROWSER + "."):
        return toolbox.browser is not None and target[len(BROWSER) + 1:] in BROWSER_FUNCTIONS
    if target.startswith(FUNCTIONS_PREFIX):
        name = target[len(FUNCTIONS_PREFIX):]
        return toolbox.registry.function(name) is not None or (toolbox.mcp is not None
                                                                and name in toolbox.mcp_tools)
    return False


def _unavailable(toolbox: Toolbox, target: str) -> ToolResult:
    available = available_targets(toolbox)
    listing = ", ".join(available) if available else "none"
    if target == PYTHON or target.startswith(BROWSER + "."):
        if target == PYTHON:
            what = "The python tool is not enabled in this conversation"
        elif toolbox.browser is None:
            what = "There are no searchable documents in this conversation for the browser"
        elif not toolbox.selection.browser:
            what = "The browser is not enabled in this conversation"
        else:
            what = f"The browser has no function `{target[len(BROWSER) + 1:]}`"
        return error_result(author_name(target), f"{what}. Tools you can call: {listing}.")
    if target.startswith(FUNCTIONS_PREFIX) and toolbox.registry.function(target[len(FUNCTIONS_PREFIX):]):
        return error_result(author_name(target), f"`{target}` is not enabled in this conversation. "
                                                 f"Tools you can call: {listing}.")
    return error_result(author_name(target), f"There is no tool `{target}`. Tools you can call: {listing}.")
