"""`McpError`: what goes wrong with an MCP server's configuration or connection, said for the reader.

Configuration errors (a bad name, a malformed `mcpServers` paste, a server that is not there) reach the
Settings page and `ossian mcp`; connection errors (the server did not start, did not answer in time,
exited) become the text of a tool error the model reads and the card shows. The SDK's exceptions are
mapped into this class at the connection's boundary, so nothing above it catches anyio's or httpx's.
"""

from __future__ import annotations

from app.errors import OssianError


class McpError(OssianError):
    """An MCP configuration or connection problem; `str()` says what is wrong and what to do."""


class McpConfigError(McpError):
    """The configuration (the file, a pasted `mcpServers` object, a command's arguments) is wrong."""
