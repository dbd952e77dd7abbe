"""Running the app's function tools: arguments read and checked, the handler called, its answer fitted.

Arguments are read the way `app.harmony` reads them (JSON, else the first balanced `{...}`), then checked
against the tool's schema, so a handler only ever sees an object of the declared shape. What the handler
returns (text, or data written as JSON) is cut to the output budget. A handler that raises becomes an
error result naming the exception: the model may try again, the app goes on.
"""

from __future__ import annotations

import json
import logging
import time

from app.tools.registry import FunctionTool
from app.tools.results import ToolResult, error_result
from app.tools.schema_check import checked_arguments
from app.tools.truncation import truncate_middle

log = logging.getLogger(__name__)


def run_function(tool: FunctionTool, arguments_text: str, output_chars: int) -> ToolResult:
    author = tool.recipient
    arguments = checked_arguments(author, arguments_text, tool.parameters)
    if isinstance(arguments, ToolResult):
        return arguments
    started = time.monotonic()
    try:
        answer = tool.handler(arguments)
        text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    except Exception as exc:
        log.exception("function tool %s failed", author)
        return error_result(author, f"{author} failed: {type(exc).__name__}: {exc}",
                            time.monotonic() - started)
    fitted = truncate_middle(text, output_chars)
    duration = time.monotonic() - started
    return ToolResult(author, fitted.text, "ok", duration, fitted.truncated,
                      f"returned {fitted.total_chars:,} characters")
