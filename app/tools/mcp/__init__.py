"""MCP servers as tools: Ossian as a Model Context Protocol host (issue 17).

The modules, each with one job: `config` (the server list in `mcp-servers.json`, the `mcpServers` import),
`secrets` (tokens and key-like environment values in the OS keyring), `connection` (one server through the
official SDK on the MCP event loop's thread), `declare` (a server's tools as `functions.<server>__<tool>`,
schemas simplified for the Harmony declaration), `results` (a tools/call result as tool-message text),
`hub` (the app's servers, started once, called from any thread), `errors`.

Nothing here imports the SDK at module level: it loads with the first server started, so the window's
first frame does not pay for it.
"""

from app.tools.mcp.config import ImportResult, McpServerConfig, parse_mcp_servers
from app.tools.mcp.declare import McpTool, declare_tools, simplify_schema
from app.tools.mcp.errors import McpConfigError, McpError
from app.tools.mcp.hub import McpHub

__all__ = [
    "ImportResult",
    "McpConfigError",
    "McpError",
    "McpHub",
    "McpServerConfig",
    "McpTool",
    "declare_tools",
    "parse_mcp_servers",
    "simplify_schema",
]
