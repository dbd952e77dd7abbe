"""The MCP server list: its file, the `mcpServers` paste other apps use, names, and secrets in the keyring."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest

from app.tools.mcp import McpConfigError, McpHub, McpServerConfig, parse_mcp_servers
from app.tools.mcp.config import looks_secret_env, safe_server_name
from app.tools.mcp.secrets import SecretStore
from tests.models.keyring_backend import FileKeyring

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret", "GITHUB_HOST": "github.com"}},
        "my notes!": {"command": "uvx", "args": ["notes-mcp"], "cwd": "/home/me"},
        "remote": {"url": "https://mcp.example.com/mcp",
                   "headers": {"Authorization": "Bearer tok_123", "X-Other": "1"}},
    }
}


@pytest.fixture
def test_keyring(tmp_path: Path):
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_claude_desktop_paste_is_read_with_its_secrets_apart() -> None:
    result = parse_mcp_servers(json.dumps(CLAUDE_DESKTOP))
    by_name = {s.config.name: s for s in result.servers}
    assert list(by_name) == ["filesystem", "github", "my-notes", "remote"]
    github = by_name["github"]
    assert github.config.env == {"GITHUB_HOST": "github.com"}
    assert github.config.secret_env == ("GITHUB_PERSONAL_ACCESS_TOKEN",)
    assert github.secret_values == {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_secret"}
    assert by_name["my-notes"].config.cwd == "/home/me"
    remote = by_name["remote"]
    assert remote.config.transport == "http" and remote.token == "tok_123" and remote.config.has_token
    assert any("'my notes!' was added as 'my-notes'" in note for note in result.notes)
    assert any("X-Other" in note for note in result.notes)


def test_imported_secrets_go_to_the_keyring_and_never_into_the_file(tmp_path: Path, test_keyring) -> None:
    hub = McpHub(tmp_path)
    hub.import_json(json.dumps(CLAUDE_DESKTOP))
    text = hub.path.read_text(encoding="utf-8")
    assert "ghp_secret" not in text and "tok_123" not in text
    stored = json.loads(text)["mcpServers"]
    assert stored["github"]["secretEnv"] == ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    assert stored["remote"]["bearerToken"] == "keyring"
    assert test_keyring.get_password("Ossian", "mcp/github/env/GITHUB_PERSONAL_ACCESS_TOKEN") == "ghp_secret"
    assert test_keyring.get_password("Ossian", "mcp/remote/token") == "tok_123"
    # the file reads back as the same servers, in order
    assert [s.name for s in hub.servers()] == ["filesystem", "github", "my-notes", "remote"]
    hub.remove("github")
    assert test_keyring.get_password("Ossian", "mcp/github/env/GITHUB_PERSONAL_ACCESS_TOKEN") is None
    assert [s.name for s in hub.servers()] == ["filesystem", "my-notes", "remote"]


def test_without_a_keyring_secrets_are_kept_for_the_session_and_said_so(tmp_path: Path) -> None:
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        hub = McpHub(tmp_path, secrets=SecretStore())
        saved = hub.add(McpServerConfig("remote", url="https://x.example/mcp"), token="abc")
        assert saved == type(saved)(1, False)
        assert hub.secrets.get("mcp/remote/token") == "abc"
        assert "abc" not in hub.path.read_text(encoding="utf-8")
    finally:
        keyring.set_keyring(previous)


def test_an_import_that_repeats_a_name_gets_a_new_one(tmp_path: Path, test_keyring) -> None:
    hub = McpHub(tmp_path)
    hub.add(McpServerConfig("filesystem", command="node", args=("a.js",)))
    result = hub.import_json(json.dumps({"mcpServers": {"filesystem": {"command": "npx"}}}))
    assert [s.config.name for s in result.servers] == ["filesystem-2"]


@pytest.mark.parametrize(("text", "says"), [
    ("not json", "That is not JSON"),
    ('{"servers": {}}', "VS Code's 'servers' key"),
    ('{"mcpServers": []}', "no 'mcpServers' object"),
    ('{"mcpServers": {}}', "lists no servers"),
    ('{"mcpServers": {"a": {"command": "x", "args": "y"}}}', "'args' must be a list of text"),
    ('{"mcpServers": {"a": {}}}', "needs either a command"),
    ('{"mcpServers": {"a": {"url": "ftp://x"}}}', "is not an http:// or https:// address"),
    ('{"mcpServers": {"a": {"url": "https://x/sse", "type": "sse"}}}', "older SSE transport"),
])
def test_a_bad_paste_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(McpConfigError, match=None) as caught:
        parse_mcp_servers(text)
    assert says in str(caught.value)


@pytest.mark.parametrize("name", ["", "1files", "a__b", "files!", "x" * 33, "my files"])
def test_names_that_cannot_be_part_of_a_tool_name_are_refused(name: str) -> None:
    with pytest.raises(McpConfigError, match="cannot name an MCP server"):
        McpServerConfig(name, command="node")


def test_names_that_would_clash_in_tool_names_are_refused(tmp_path: Path) -> None:
    hub = McpHub(tmp_path)
    hub.add(McpServerConfig("my-files", command="node"))
    with pytest.raises(McpConfigError, match="too close to the server 'my-files'"):
        hub.add(McpServerConfig("my_files", command="node"))
    with pytest.raises(McpConfigError, match="already an MCP server named 'my-files'"):
        hub.add(McpServerConfig("my-files", command="node"))
    with pytest.raises(McpConfigError, match=r"no MCP server named 'nope' \(configured: my-files"):
        hub.remove("nope")


def test_a_damaged_list_is_named_not_overwritten(tmp_path: Path) -> None:
    hub = McpHub(tmp_path)
    hub.path.write_text("{broken", encoding="utf-8")
    with pytest.raises(McpConfigError, match="is not valid JSON"):
        hub.add(McpServerConfig("a", command="node"))
    assert hub.path.read_text(encoding="utf-8") == "{broken"


@pytest.mark.parametrize(("variable", "secret"), [
    ("OPENAI_API_KEY", True), ("GITHUB_PERSONAL_ACCESS_TOKEN", True), ("DB_PASSWORD", True),
    ("CLIENT_SECRET", True), ("AUTH", True), ("BRAVE_API_KEY", True),
    ("HOME", False), ("GITHUB_HOST", False), ("LOG_LEVEL", False), ("KEYBOARD_LAYOUT", False),
])
def test_environment_variables_that_look_like_keys(variable: str, secret: bool) -> None:
    assert looks_secret_env(variable) is secret


def test_pasted_names_are_made_valid() -> None:
    assert safe_server_name("My Server (prod)") == "My-Server-prod"
    assert safe_server_name("2fa") == "s-2fa"
    assert safe_server_name("a__b") == "a_b"
