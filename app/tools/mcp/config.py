"""The MCP servers the user added: one typed record each, the file they live in, and the `mcpServers` import.

A server is a command (stdio: the command, its arguments, environment and working folder) or a URL
(streamable HTTP, with an optional bearer token). The list is kept in `mcp-servers.json` in the config
folder, in the `mcpServers` shape Claude Desktop, LM Studio and Cursor read, so a user who opens it sees
what they know. Secrets never go into it: environment variables whose names look like keys and the
bearer token are kept in the OS keyring (`secrets`), and the file lists only their names
(`secretEnv`, `bearerToken: "keyring"`). Writes are atomic, like the settings file's.

Names: a server's name is part of every tool name the model sees (`functions.<server>__<tool>`), so it
is letters, digits, `-` and single `_`, starting with a letter, at most 32 characters; a pasted
configuration's names are made so, and the import says which were changed.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.tools.mcp.errors import McpConfigError

log = logging.getLogger(__name__)

FILE_NAME = "mcp-servers.json"
SERVERS_KEY = "mcpServers"
KEYRING_MARK = "keyring"  # `bearerToken: "keyring"`: the token is in the keyring, not here
MAX_NAME_CHARS = 32
DEFAULT_CALL_TIMEOUT_S = 60.0
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
# Words that make an environment variable a secret (API_KEY, GITHUB_TOKEN, DB_PASSWORD, AUTH, PAT).
_SECRET_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "pass", "pwd",
                           "auth", "credential", "credentials", "pat", "bearer", "cookie", "session"})

Transport = Literal["stdio", "http"]


@dataclass(frozen=True)
class McpServerConfig:
    """One server as configured. `env` holds only plain values; `secret_env` names the ones in the
    keyring; `has_token` says a bearer token for `url` is in the keyring."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secret_env: tuple[str, ...] = ()
    cwd: str | None = None
    url: str | None = None
    has_token: bool = False
    call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", tuple(self.args))
        object.__setattr__(self, "env", dict(self.env))
        object.__setattr__(self, "secret_env", tuple(sorted(set(self.secret_env))))
        check_name(self.name)
        if (self.command is None) == (self.url is None):
            raise McpConfigError(f"MCP server '{self.name}' needs either a command (stdio) or a URL "
                                 "(streamable HTTP), not both and not neither.")
        if self.command is not None and not self.command.strip():
            raise McpConfigError(f"MCP server '{self.name}': the command is empty. Give the program to "
                                 "start, e.g. npx or uvx, and its arguments.")
        if self.url is not None:
            check_url(self.url, self.name)
        if not (0 < self.call_timeout_s <= 3600):
            raise McpConfigError(f"MCP server '{self.name}': the call timeout must be between 1 and 3600 "
                                 f"seconds, not {self.call_timeout_s}.")

    @property
    def transport(self) -> Transport:
        return "stdio" if self.command is not None else "http"

    def summary(self) -> str:
        """One line for lists: the command line or the URL."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return self.url or ""

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.command is not None:
            record["command"] = self.command
            record["args"] = list(self.args)
            if self.env:
                record["env"] = dict(self.env)
            if self.secret_env:
                record["secretEnv"] = list(self.secret_env)
            if self.cwd:
                record["cwd"] = self.cwd
        else:
            record["url"] = self.url
            if self.has_token:
                record["bearerToken"] = KEYRING_MARK
        if self.call_timeout_s != DEFAULT_CALL_TIMEOUT_S:
            record["timeout"] = self.call_timeout_s
        return record


@dataclass(frozen=True)
class ImportedServer:
    """A server read from a pasted `mcpServers` object, with the secrets to put in the keyring."""

    config: McpServerConfig
    secret_values: Mapping[str, str] = field(default_factory=dict)  # environment variable -> value
    token: str | None = None


@dataclass(frozen=True)
class ImportResult:
    servers: tuple[ImportedServer, ...]
    notes: tuple[str, ...] = ()  # what was changed or left out, for the user


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or "__" in name:
        raise McpConfigError(
            f"{name!r} cannot name an MCP server: use letters, digits, '-' and single '_', starting with a "
            f"letter, at most {MAX_NAME_CHARS} characters (it becomes part of each tool's name, "
            "like files__read_file).")
    return name


def check_url(url: str, name: str) -> str:
    if not re.match(r"https?://[^\s/]+", url):
        raise McpConfigError(f"MCP server '{name}': {url!r} is not an http:// or https:// address. Give "
                             "the server's streamable HTTP endpoint, e.g. https://example.com/mcp.")
    return url


def safe_server_name(raw: str) -> str:
    """`raw` made a valid server name (for imports): other characters become '-', '__' becomes '_'."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", raw.strip()).strip("-_")
    name = re.sub(r"_{2,}", "_", name)
    if not name or not name[0].isalpha():
        name = "s-" + name if name else "server"
    return name[:MAX_NAME_CHARS].rstrip("-_")


def looks_secret_env(name: str) -> bool:
    """Whether an environment variable's value should be kept like a password (API_KEY, GITHUB_TOKEN)."""
    words = [word for word in re.split(r"[^a-z0-9]+", name.lower()) if word]
    joined = {a + b for a, b in itertools.pairwise(words)}
    return bool(_SECRET_WORDS & (set(words) | joined))


# ------------------------------------------------------------------------------------------ the file


def config_file(config_folder: Path) -> Path:
    return config_folder / FILE_NAME


def load_servers(path: Path) -> list[McpServerConfig]:
    """The servers in the file, in its order; a missing file is none. A damaged file raises
    `McpConfigError` naming it (it is never overwritten by a later save without being read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise McpConfigError(f"The MCP server list {path} could not be read ({exc.strerror}).") from exc
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise McpConfigError(f"The MCP server list {path} is not valid JSON ({exc}). Fix it or remove it, "
                             "then add the servers again.") from exc
    servers = raw.get(SERVERS_KEY) if isinstance(raw, dict) else None
    if not isinstance(servers, dict):
        raise McpConfigError(f"The MCP server list {path} has no '{SERVERS_KEY}' object. Fix it or remove "
                             "it, then add the servers again.")
    return [_from_record(name, record, f"{path.name}: ") for name, record in servers.items()]


def save_servers(path: Path, servers: Iterable[McpServerConfig]) -> None:
    records = {server.name: server.to_record() for server in servers}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mcp-servers-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({SERVERS_KEY: records}, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _from_record(name: str, record: Any, where: str) -> McpServerConfig:
    if not isinstance(record, dict):
        raise McpConfigError(f"{where}server {name!r} must be an object with a command or a url.")
    timeout = record.get("timeout", DEFAULT_CALL_TIMEOUT_S)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise McpConfigError(f"{where}server {name!r}: 'timeout' must be a number of seconds.")
    return McpServerConfig(
        name=name, command=_text(record, "command", name, where),
        args=tuple(_texts(record, "args", name, where)), env=_text_map(record, "env", name, where),
        secret_env=tuple(_texts(record, "secretEnv", name, where)),
        cwd=_text(record, "cwd", name, where), url=_text(record, "url", name, where),
        has_token=record.get("bearerToken") == KEYRING_MARK, call_timeout_s=float(timeout))


# ---------------------------------------------------------------------------------------- the import


def parse_mcp_servers(text: str, existing: Iterable[str] = ()) -> ImportResult:
    """Servers from a pasted configuration in the `mcpServers` shape:

        {"mcpServers": {"files": {"command": "npx", "args": ["-y", "..."], "env": {"KEY": "..."}},
                        "remote": {"url": "https://...", "headers": {"Authorization": "Bearer ..."}}}}

    Environment values whose names look like keys, and a bearer token, come back apart (`secret_values`,
    `token`) to go into the keyring. Names are made valid and unique next to `existing`; every change
    is in `notes`. Raises `McpConfigError` saying what is wrong with the text.
    """
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise McpConfigError(f"That is not JSON ({exc}). Paste the whole object, starting with "
                             "{\"mcpServers\": ...}.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get(SERVERS_KEY), dict):
        hint = " (VS Code's 'servers' key is not read; rename it to 'mcpServers')" \
            if isinstance(raw, dict) and "servers" in raw else ""
        raise McpConfigError(f"The pasted JSON has no '{SERVERS_KEY}' object{hint}. Paste it the way "
                             "Claude Desktop, LM Studio or Cursor keep it: "
                             "{\"mcpServers\": {\"name\": {...}}}.")
    taken = {name.lower() for name in existing}
    servers: list[ImportedServer] = []
    notes: list[str] = []
    for raw_name, record in raw[SERVERS_KEY].items():
        name = safe_server_name(str(raw_name))
        base, n = name, 2
        while name.lower() in taken:
            name = f"{base[:MAX_NAME_CHARS - 3]}-{n}"
            n += 1
        if name != raw_name:
            notes.append(f"'{raw_name}' was added as '{name}' (server names are letters, digits, '-' and "
                         "'_', and each is used once).")
        taken.add(name.lower())
        servers.append(_imported(name, record, notes))
    if not servers:
        raise McpConfigError(f"The pasted '{SERVERS_KEY}' object lists no servers.")
    return ImportResult(tuple(servers), tuple(notes))


def _imported(name: str, record: Any, notes: list[str]) -> ImportedServer:
    where = "pasted configuration: "
    if not isinstance(record, dict):
        raise McpConfigError(f"{where}server '{name}' must be an object with a command or a url.")
    kind = record.get("type") or record.get("transport")
    if kind in ("sse",):
        raise McpConfigError(f"{where}server '{name}' uses the older SSE transport; Ossian speaks streamable "
                             "HTTP to URL servers. Use the server's streamable HTTP endpoint (often /mcp).")
    if record.get("disabled") is True:
        notes.append(f"'{name}' was marked disabled there; it is added, and used only in conversations "
                     "that switch it on.")
    url = _text(record, "url", name, where) or _text(record, "serverUrl", name, where)
    token = None
    if url is not None:
        headers = _text_map(record, "headers", name, where)
        for header, value in headers.items():
            if header.lower() == "authorization" and value.lower().startswith("bearer "):
                token = value[len("bearer "):].strip()
            else:
                notes.append(f"'{name}': the header {header} was left out (Ossian sends only a bearer "
                             "token, kept in the keyring).")
        config = McpServerConfig(name=name, url=url, has_token=token is not None)
        return ImportedServer(config, {}, token)
    env = _text_map(record, "env", name, where)
    secrets = {key: value for key, value in env.items() if looks_secret_env(key)}
    plain = {key: value for key, value in env.items() if key not in secrets}
    config = McpServerConfig(name=name, command=_text(record, "command", name, where),
                             args=tuple(_texts(record, "args", name, where)), env=plain,
                             secret_env=tuple(secrets), cwd=_text(record, "cwd", name, where))
    return ImportedServer(config, secrets, None)


def with_secret_env(config: McpServerConfig,
                    env: Mapping[str, str]) -> tuple[McpServerConfig, dict[str, str]]:
    """`config` given `env` (from `ossian mcp add -e` or the Settings page): the values that look like
    keys come back apart for the keyring, the rest stay in the config."""
    secrets = {key: value for key, value in env.items() if looks_secret_env(key)}
    plain = {key: value for key, value in env.items() if key not in secrets}
    return replace(config, env={**config.env, **plain},
                   secret_env=(*config.secret_env, *secrets)), secrets


def _text(record: dict[str, Any], key: str, name: str, where: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise McpConfigError(f"{where}server '{name}': '{key}' must be text, not {type(value).__name__}.")
    return value


def _texts(record: dict[str, Any], key: str, name: str, where: str) -> list[str]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise McpConfigError(f"{where}server '{name}': '{key}' must be a list of text.")
    return value


def _text_map(record: dict[str, Any], key: str, name: str, where: str) -> dict[str, str]:
    value = record.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise McpConfigError(f"{where}server '{name}': '{key}' must be an object of text values.")
    return {str(k): v for k, v in value.items()}
