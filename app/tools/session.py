"""One conversation's tools: what the prompt declares, and each call from approval to result.

The chat holds one `ToolSession` per open conversation and uses it in two places:

- rendering: `system_tools()` goes into `SystemContent.tools` (the builtin `browser` and `python`
  namespaces) and `developer_tools()` into `DeveloperContent.tools` (the `functions` namespace, the
  conversation's MCP servers' tools included: `prepare()` starts those servers and lists their tools,
  off the UI thread, at the start of each turn; `developer_tools()` itself never waits);
- the turn loop: on `<|call|>` it calls `run_call(recipient, arguments, cancel=...)` from its worker thread.
  That blocks while the call waits for the user (python asks by default) and while it runs, and returns
  the `ToolResult` to append as a tool message (author `result.author`, recipient `assistant`, the call's
  channel). The UI follows each call through `add_listener` and answers approvals with `decide`.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Literal

from app.documents import DocumentIndex
from app.harmony import ToolNamespace
from app.tools.approval import ApprovalGate, Decision
from app.tools.calls import CallListener, CallTracker, ToolCall, ToolCallState
from app.tools.dispatch import Toolbox, author_name, call_target, dispatch
from app.tools.document_browser import DocumentBrowser, document_browser_namespace
from app.tools.mcp.connection import McpCancelled
from app.tools.mcp.declare import McpTool
from app.tools.mcp.errors import McpError
from app.tools.mcp.hub import McpHub
from app.tools.python_tool import code_from_call, python_namespace_for_prompt
from app.tools.registry import FUNCTIONS_PREFIX, PYTHON, ToolRegistry, ToolSelection, developer_namespaces
from app.tools.results import ToolResult
from app.tools.sandbox import PythonSandbox, SandboxLimits

ApprovalMode = Literal["ask", "always"]  # the settings' python_tool_approval


def denied_result(target: str) -> ToolResult:
    return ToolResult(author_name(target), (
        f"The user declined to run this {target} call, so it did not run. Do not call it again for the "
        "same purpose; continue without it, or ask the user what they would like instead."),
        "denied", detail="denied by the user")


def cancelled_result(target: str, duration_s: float = 0.0) -> ToolResult:
    return ToolResult(author_name(target), "The call was cancelled before it finished: the user stopped it.",
                      "cancelled", duration_s, detail="cancelled")


class ToolSession:
    """The tools of one conversation. `run_call` may be called from any one thread at a time."""

    def __init__(self, selection: ToolSelection | None = None, *, registry: ToolRegistry | None = None,
                 documents: DocumentIndex | None = None, limits: SandboxLimits | None = None,
                 python_approval: ApprovalMode = "ask", always_allowed: Iterable[str] = (),
                 mcp: McpHub | None = None) -> None:
        if python_approval not in ("ask", "always"):
            raise ValueError(f"python_approval must be 'ask' or 'always', not {python_approval!r}")
        self.registry = registry or ToolRegistry()
        self.selection = selection or ToolSelection()
        self.sandbox = PythonSandbox(limits)
        self.browser = DocumentBrowser(documents) if documents is not None else None
        self.python_approval: ApprovalMode = python_approval
        self.approvals = ApprovalGate(always_allowed)
        self.tracker = CallTracker()
        self.mcp = mcp

    # -- what the prompt declares -------------------------------------------------------------------

    def system_tools(self) -> tuple[ToolNamespace, ...]:
        """Builtin namespaces for the system message (the browser only when there are documents)."""
        namespaces: list[ToolNamespace] = []
        if self.selection.browser and self.browser is not None:
            namespaces.append(document_browser_namespace())
        if self.selection.python:
            namespaces.append(python_namespace_for_prompt())
        return tuple(namespaces)

    def developer_tools(self) -> tuple[ToolNamespace, ...]:
        """The `functions` namespace for the developer message (empty when no function is enabled)."""
        return developer_namespaces(self.selection, self.registry,
                                    [tool.for_prompt() for tool in self.mcp_tools().values()])

    def mcp_tools(self) -> dict[str, McpTool]:
        """The tools of this conversation's MCP servers as last listed, by function name (servers in
        name order, each server's tools in its own order: the same on every turn). Never waits."""
        if self.mcp is None:
            return {}
        return {tool.function_name: tool for server in sorted(self.selection.mcp)
                for tool in self.mcp.declared(server)}

    def prepare(self, cancel: threading.Event | None = None) -> list[str]:
        """Start this conversation's MCP servers and list their tools (blocks: the turn's thread calls
        it before rendering). Returns a sentence for each server that cannot be used now."""
        problems = []
        for server in sorted(self.selection.mcp):
            if self.mcp is None:
                problems.append(f"The MCP server '{server}' is not available here; its tools are not "
                                "offered.")
                continue
            try:
                self.mcp.tools(server, cancel)
            except McpCancelled:
                break
            except McpError as exc:
                problems.append(f"{exc} Its tools are not offered in this turn.")
        return problems

    def set_documents(self, documents: DocumentIndex | None) -> None:
        """Give the browser this conversation's document index (None: no documents in search mode)."""
        self.browser = DocumentBrowser(documents) if documents is not None else None

    # -- calls ----------------------------------------------------------------------------------------

    def call_target(self, recipient: str) -> str:
        return call_target(recipient, self.registry)

    def needs_approval(self, target: str) -> bool:
        if self.approvals.is_always_allowed(target):
            return False
        if target == PYTHON:
            return self.python_approval == "ask"
        if target.startswith(FUNCTIONS_PREFIX):
            name = target[len(FUNCTIONS_PREFIX):]
            tool = self.registry.function(name)
            if tool is None:
                # A tool from outside: every call of an MCP tool waits for the user unless "Always".
                return name in self.mcp_tools()
            return tool.requires_approval
        return False

    def run_call(self, recipient: str, arguments: str, *, cancel: threading.Event | None = None,
                 call_id: str | None = None) -> ToolResult:
        """Run one call the model made, asking the user first where needed. Blocks; never raises for
        anything in the call. `call_id` (default: a new one) names the call in `decide` and the cards.
        """
        call_id = call_id or uuid.uuid4().hex
        if self.tracker.get(call_id) is not None:
            raise ValueError(f"tool call id {call_id!r} was used before; give each call its own id")
        target = self.call_target(recipient)
        code = code_from_call(arguments) if target == PYTHON else None
        # A call to a tool that is off or unknown gets its error at once: nothing runs, so no one is asked.
        needs_approval = self.selection.enables(target) and self.needs_approval(target)
        if needs_approval:
            self.approvals.begin(call_id, target)
        self.tracker.create(ToolCall(
            call_id, target, recipient, arguments, code, needs_approval,
            ToolCallState.WAITING_APPROVAL if needs_approval else ToolCallState.RUNNING, time.time(),
            started_at=None if needs_approval else time.time()))

        if needs_approval:
            decision = self.approvals.wait(call_id, cancel)
            if decision is None:
                return self._finish(call_id, cancelled_result(target))
            if decision is Decision.DENY:
                return self._finish(call_id, denied_result(target))
            self.tracker.update(call_id, state=ToolCallState.RUNNING, started_at=time.time())
        if cancel is not None and cancel.is_set():
            return self._finish(call_id, cancelled_result(target))
        result = dispatch(self._toolbox(), target, arguments, code=code, cancel=cancel,
                          on_output=lambda text: self.tracker.append_output(call_id, text))
        return self._finish(call_id, result)

    def decide(self, call_id: str, decision: Decision | str) -> bool:
        """The user's Run / Deny / Always for a waiting call (from its card). False if it is not waiting."""
        return self.approvals.decide(call_id, decision)

    def add_listener(self, listener: CallListener) -> Callable[[], None]:
        """Hear about every change of every call (see `calls`); returns the unsubscribe function."""
        return self.tracker.add_listener(listener)

    def call(self, call_id: str) -> ToolCall | None:
        return self.tracker.get(call_id)

    def calls(self) -> tuple[ToolCall, ...]:
        return self.tracker.calls()

    # -- helpers --------------------------------------------------------------------------------------

    def _toolbox(self) -> Toolbox:
        return Toolbox(self.registry, self.selection, self.sandbox, self.browser,
                       self.sandbox.limits.output_chars, self.mcp_tools(), self.mcp)

    def _finish(self, call_id: str, result: ToolResult) -> ToolResult:
        state = {"ok": ToolCallState.DONE, "denied": ToolCallState.DENIED,
                 "cancelled": ToolCallState.CANCELLED}.get(result.status, ToolCallState.FAILED)
        self.tracker.update(call_id, state=state, finished_at=time.time(), output=result.content,
                            result=result)
        return result
