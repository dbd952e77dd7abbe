"""What an MCP tool returned, as the text of a tool message.

MCP results are a list of content blocks and an `isError` flag. The model reads text, so: text blocks
as they are; an image or audio block as a one-line note (gpt-oss cannot see it, and base64 would only
fill the context); a resource link as its name, URI and type; an embedded resource as its text, or a
note for binary data; structured content as JSON when the server sent no text. `isError` makes the
result an error the model can act on. The whole is cut in the middle to the tool output budget, like the
python tool's output, and the cut is said in the text and on the card.

The SDK's content types are read by their `type` field and attributes, not imported, so this module
stays light (the window imports it on its way to a card; the SDK loads only with a server).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.tools.results import ToolResult
from app.tools.truncation import truncate_middle
from app.units import format_bytes


@dataclass(frozen=True)
class McpAnswer:
    """A tools/call result in plain types: the text blocks rendered, whether the server called it an
    error, and what the card's one-line detail says."""

    text: str
    is_error: bool
    blocks: int


def answer_text(content: Sequence[Any], structured: Any = None, is_error: bool = False) -> McpAnswer:
    parts = [_block_text(block) for block in content]
    if not any(getattr(block, "type", None) == "text" for block in content) and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, indent=1))
    text = "\n".join(part for part in parts if part)
    if not text:
        text = "(the tool returned nothing)"
    return McpAnswer(text, bool(is_error), len(content))


def tool_result(author: str, server: str, tool: str, answer: McpAnswer, output_chars: int,
                duration_s: float) -> ToolResult:
    fitted = truncate_middle(answer.text, output_chars)
    text = fitted.text
    if fitted.truncated:
        text += (f"\n[The result was {fitted.total_chars:,} characters; the middle was left out to fit. "
                 "Ask the tool for less (a narrower query, a smaller range) if the missing part matters.]")
    if answer.is_error:
        body = text if text.startswith("Error") else f"Error from {server}'s {tool}: {text}"
        return ToolResult(author, body, "error", duration_s, fitted.truncated,
                          f"the server reported an error ({fitted.total_chars:,} characters)")
    detail = f"returned {fitted.total_chars:,} characters"
    if fitted.truncated:
        detail += f", cut to {output_chars:,}"
    return ToolResult(author, text, "ok", duration_s, fitted.truncated, detail)


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        mime = getattr(block, "mime_type", None) or getattr(block, "mimeType", None) or kind
        return (f"[{kind}: {mime}, {_decoded_size(getattr(block, 'data', ''))}; not shown to the model, "
                "which reads text only]")
    if kind == "resource_link":
        return _link_text(block)
    if kind == "resource":
        resource = getattr(block, "resource", None)
        uri = str(getattr(resource, "uri", ""))
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return f"[resource {uri}]\n{text}"
        mime = getattr(resource, "mime_type", None) or "binary data"
        return f"[resource {uri}: {mime}, {_decoded_size(getattr(resource, 'blob', ''))}; not shown]"
    return f"[content of type {kind or 'unknown'} not shown]"


def _link_text(block: Any) -> str:
    name = getattr(block, "name", "") or ""
    uri = str(getattr(block, "uri", ""))
    mime = getattr(block, "mime_type", None)
    description = getattr(block, "description", None)
    line = f"[resource link: {name} <{uri}>" + (f" ({mime})" if mime else "") + "]"
    return f"{line} {description}" if description else line


def _decoded_size(data: Any) -> str:
    if not isinstance(data, str):
        return "size unknown"
    try:
        return format_bytes(len(base64.b64decode(data, validate=False)))
    except ValueError:
        return format_bytes(len(data) * 3 // 4)
