"""An MCP server's secrets (a bearer token, environment variables that look like keys): their names in the
keyring. The store itself is the app's one (`app.secrets.SecretStore`: the OS keyring, else this session's
memory); one entry per secret, named `mcp/<server>/token` or `mcp/<server>/env/<NAME>`.
"""

from __future__ import annotations

from app.secrets import SecretStore

__all__ = ["SecretStore", "env_key", "token_key"]


def token_key(server: str) -> str:
    return f"mcp/{server}/token"


def env_key(server: str, variable: str) -> str:
    return f"mcp/{server}/env/{variable}"
