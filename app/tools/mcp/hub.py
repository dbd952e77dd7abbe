"""`McpHub`: the app's MCP servers, from their configuration to each call, shared by every conversation.

One hub per workspace (the window, or a command). It reads and writes the server list (`config`), keeps
secrets in the keyring (`secrets`), and runs each server at most once, on the one MCP event loop
(`connection`), started the first time a conversation that uses it needs its tools and kept until the
app closes (a stdio server's process ends with it, also at interpreter exit). Each server's tools are
declared once per listing (`declare`), so every turn renders the same bytes until the server says its
list changed.

The network policy covers MCP: an HTTP server is a network destination the user added, and in offline
mode ("Never use the network") only stdio servers run; `offline` is asked on every start.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from app.tools.mcp.config import (
    ImportResult,
    McpServerConfig,
    config_file,
    load_servers,
    parse_mcp_servers,
    save_servers,
    with_secret_env,
)
from app.tools.mcp.connection import START_TIMEOUT_S, McpCancelled, McpLoop, ServerConnection
from app.tools.mcp.declare import McpTool, declare_tools, server_prefix
from app.tools.mcp.errors import McpConfigError, McpError
from app.tools.mcp.results import tool_result
from app.tools.mcp.secrets import SecretStore, env_key, token_key
from app.tools.results import ToolResult, error_result
from app.tools.schema_check import checked_arguments

log = logging.getLogger(__name__)

OFFLINE_REFUSAL = ("Ossian is set to never use the network, so the MCP server '{name}' at {url} is not "
                   "used. Turn off 'Never use the network' in Settings to use it; servers started as a "
                   "command still run.")
_open_hubs: weakref.WeakSet[McpHub] = weakref.WeakSet()


@dataclass(frozen=True)
class SavedSecrets:
    """Whether the secrets of an added server reached the OS keyring (False: kept for this session)."""

    count: int
    in_keyring: bool


class McpHub:
    """The configured MCP servers and their running connections. Thread-safe."""

    def __init__(self, config_folder: Path, *, secrets: SecretStore | None = None,
                 offline: Callable[[], bool] = lambda: False,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.path = config_file(config_folder)
        self.secrets = secrets or SecretStore()
        self._offline = offline
        self._start_timeout_s = start_timeout_s
        self._lock = threading.RLock()
        self._loop: McpLoop | None = None
        self._connections: dict[str, ServerConnection] = {}
        # per server: the listing a declaration was made from, and the declaration (made once per listing)
        self._declared: dict[str, tuple[Any, tuple[McpTool, ...]]] = {}
        self._listeners: list[Callable[[str], None]] = []
        _open_hubs.add(self)

    # ---------------------------------------------------------------------------- configuration

    def servers(self) -> list[McpServerConfig]:
        """The configured servers, in the file's order (read again each time: `ossian mcp` may change it)."""
        return load_servers(self.path)

    def server(self, name: str) -> McpServerConfig:
        for config in self.servers():
            if config.name == name:
                return config
        known = ", ".join(c.name for c in self.servers()) or "none yet"
        raise McpConfigError(f"There is no MCP server named '{name}' (configured: {known}). Add it with "
                             "'ossian mcp add' or in Settings > Tools.")

    def add(self, config: McpServerConfig, *, env: Mapping[str, str] | None = None,
            token: str | None = None, replace_existing: bool = False) -> SavedSecrets:
        """Add (or with `replace_existing`, replace) a server. Values in `env` that look like keys and the
        `token` go to the keyring; the rest into the list."""
        config, secret_env = with_secret_env(config, env or {})
        if token is not None and not token.strip():
            raise McpConfigError(f"MCP server '{config.name}': the bearer token is empty.")
        if token is not None and config.transport != "http":
            raise McpConfigError(f"MCP server '{config.name}': a bearer token is for URL servers only.")
        with self._lock:
            servers = self.servers()
            clash = next((s for s in servers if s.name != config.name
                          and server_prefix(s.name).lower() == server_prefix(config.name).lower()), None)
            if clash is not None:
                raise McpConfigError(f"'{config.name}' is too close to the server '{clash.name}' (tool names "
                                     "would clash). Choose another name.")
            existing = next((s for s in servers if s.name == config.name), None)
            if existing is not None and not replace_existing:
                raise McpConfigError(f"There is already an MCP server named '{config.name}'. Remove it first "
                                     "or choose another name.")
            saved = [self.secrets.put(env_key(config.name, key), value) for key, value in secret_env.items()]
            if token is not None:
                saved.append(self.secrets.put(token_key(config.name), token.strip()))
                config = replace(config, has_token=True)
            servers = [config if s.name == config.name else s for s in servers]
            if existing is None:
                servers.append(config)
            save_servers(self.path, servers)
            self._forget(config.name)
        return SavedSecrets(len(saved), all(saved))

    def remove(self, name: str) -> McpServerConfig:
        with self._lock:
            config = self.server(name)
            save_servers(self.path, [s for s in self.servers() if s.name != name])
            self._forget(name)
        self.secrets.delete([token_key(name), *(env_key(name, key) for key in config.secret_env)])
        return config

    def import_json(self, text: str) -> ImportResult:
        """Add every server of a pasted `mcpServers` object; nothing is added when any of it is wrong."""
        with self._lock:
            result = parse_mcp_servers(text, existing=[s.name for s in self.servers()])
            for imported in result.servers:
                for key, value in imported.secret_values.items():
                    self.secrets.put(env_key(imported.config.name, key), value)
                if imported.token is not None:
                    self.secrets.put(token_key(imported.config.name), imported.token)
            save_servers(self.path, [*self.servers(), *(i.config for i in result.servers)])
        return result

    # ---------------------------------------------------------------------------------- running

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Hear the name of a server whose tools changed (from the MCP loop's thread)."""
        with self._lock:
            self._listeners.append(listener)

    def start(self, names: Iterable[str]) -> None:
        """Begin starting these servers in the background (a conversation that uses them was opened)."""
        for name in names:
            try:
                self._connection(name).start()
            except McpError as exc:
                log.info("MCP server %s not started: %s", name, exc)

    def tools(self, name: str, cancel: threading.Event | None = None) -> tuple[McpTool, ...]:
        """The server's tools as declared to the model, starting it and waiting for its list if needed.
        `McpError` saying why when it cannot run."""
        connection = self._connection(name)
        listed = connection.wait_ready(cancel)
        return self._declare(name, listed)

    def declared(self, name: str) -> tuple[McpTool, ...]:
        """The server's tools as last declared, without waiting (empty before its first listing)."""
        with self._lock:
            connection = self._connections.get(name)
        if connection is None:
            return ()
        listed = connection.tools()
        return self._declare(name, listed) if listed else ()

    def call(self, tool: McpTool, arguments_text: str, output_chars: int,
             cancel: threading.Event | None = None) -> ToolResult:
        """One `functions.<server>__<tool>` call, after approval. Never raises for anything in the call:
        every failure is an error result the model reads (and the card shows)."""
        author = tool.recipient
        arguments = checked_arguments(author, arguments_text, tool.input_schema)
        if isinstance(arguments, ToolResult):
            return arguments
        started = time.monotonic()
        try:
            connection = self._connection(tool.server)
            answer = connection.call(tool.tool, arguments, cancel)
        except McpCancelled:
            return ToolResult(author, "The call was cancelled before it finished: the user stopped it.",
                              "cancelled", time.monotonic() - started, detail="cancelled")
        except McpError as exc:
            return error_result(author, str(exc), time.monotonic() - started)
        return tool_result(author, tool.server, tool.tool, answer, output_chars, time.monotonic() - started)

    def started_seconds(self, name: str) -> float:
        with self._lock:
            connection = self._connections.get(name)
        return connection.started_s if connection is not None else 0.0

    def close(self) -> None:
        """End every server (stdio processes included) and the loop."""
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
            loop, self._loop = self._loop, None
            self._declared.clear()
        for connection in connections:
            connection.close()
        if loop is not None:
            loop.close()

    # ---------------------------------------------------------------------------------- helpers

    def _connection(self, name: str) -> ServerConnection:
        with self._lock:
            connection = self._connections.get(name)
            if connection is not None:
                if connection.config.transport == "http" and self._offline():
                    raise McpError(OFFLINE_REFUSAL.format(name=name, url=connection.config.url))
                return connection
            config = self.server(name)
            if config.transport == "http" and self._offline():
                raise McpError(OFFLINE_REFUSAL.format(name=name, url=config.url))
            if self._loop is None:
                self._loop = McpLoop()
            env = {key: value for key in config.secret_env
                   if (value := self.secrets.get(env_key(name, key))) is not None}
            missing = [key for key in config.secret_env if key not in env]
            if missing:
                log.warning("MCP server %s: no stored value for %s (not in the keyring)", name, missing)
            token = self.secrets.get(token_key(name)) if config.has_token else None
            connection = ServerConnection(config, self._loop, env_secrets=env, token=token,
                                          start_timeout_s=self._start_timeout_s,
                                          on_tools_changed=self._tools_changed)
            self._connections[name] = connection
            return connection

    def _declare(self, name: str, listed: Any) -> tuple[McpTool, ...]:
        with self._lock:
            cached = self._declared.get(name)
            if cached is not None and cached[0] == listed:
                return cached[1]
            declared = declare_tools(name, listed)
            self._declared[name] = (listed, declared)
            return declared

    def _tools_changed(self, name: str) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(name)
            except Exception:
                log.exception("an MCP tools listener failed")

    def _forget(self, name: str) -> None:
        """A server's configuration changed: end its connection, so the next use starts it anew."""
        with self._lock:
            connection = self._connections.pop(name, None)
            self._declared.pop(name, None)
        if connection is not None:
            connection.close()


def _close_open_hubs() -> None:
    # A stdio server is a child process: it ends with the app even when no one called close().
    for hub in list(_open_hubs):
        try:
            hub.close()
        except Exception:
            log.exception("closing MCP servers at exit failed")


atexit.register(_close_open_hubs)
