"""What running a tool call gives back: a `ToolResult`, the text of the tool message for the model.

The chat appends it as a Harmony tool message: author `result.author`, recipient `assistant`, on the
same channel as the call (SPEC section 5), and generates again. Every way a call can end (bad arguments,
an unknown tool, the user saying no, a crash inside a tool) is a `ToolResult` with text the model can act
on; nothing in dispatch raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from app.tools.sandbox import SandboxRun

ResultStatus = Literal[
    "ok",         # the tool did its job (for python: the code exited with status 0)
    "error",      # bad arguments, unknown or disabled tool, the tool or the code failed, a limit was hit
    "denied",     # the user declined to run it
    "cancelled",  # the turn was stopped while the call waited or ran
]


@dataclass(frozen=True)
class ToolResult:
    author: str  # the tool message's author: "python", "browser.search", "functions.get_weather"
    content: str  # the text for the model, already within the output budget
    status: ResultStatus
    duration_s: float = 0.0  # running time (not the time spent waiting for approval)
    truncated: bool = False  # output was cut to fit the budget
    detail: str = ""  # one line for the card and the log: how it ended
    sandbox: SandboxRun | None = None  # python calls that ran: limits hit, protections in force

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def error_result(author: str, message: str, duration_s: float = 0.0) -> ToolResult:
    """A failed call, worded for the model: `message` says what was wrong and what to do instead."""
    text = message if message.startswith("Error") else f"Error: {message}"
    return ToolResult(author, text, "error", duration_s, detail=message)
