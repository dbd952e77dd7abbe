"""`ossian mcp list|add|remove|test` as a user types it, against the real reference server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from fixtures.shape_twins import REPO_ROOT
from tests.tools.mcp.servers import reference_server


def ossian(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, env=dict(os.environ))


def test_add_a_command_then_test_it_as_the_model_will_see_it(ossian_home: Path) -> None:
    script = reference_server("server-everything")
    added = ossian("mcp", "add", "everything", "--", "node", str(script), "stdio")
    assert added.returncode == 0, added.stderr
    assert "Added the MCP server 'everything' (stdio: node " in added.stdout
    shown = ossian("mcp", "test", "everything")
    assert shown.returncode == 0, shown.stderr
    assert "'everything' started and listed 13 tool(s)" in shown.stdout
    assert "namespace functions {" in shown.stdout
    assert "type everything__echo = (_: {\n// Message to echo\nmessage: string,\n}) => any;" in shown.stdout
    as_json = ossian("mcp", "test", "everything", "--json")
    assert as_json.returncode == 0, as_json.stderr
    tools = json.loads(as_json.stdout)
    echo = next(t for t in tools if t["tool"] == "echo")
    assert echo["name"] == "everything__echo" and echo["description"] == "Echoes back the input string"
    assert echo["call"] == "functions.everything__echo" and echo["server"] == "everything"
    assert all({"name", "description"} <= tool.keys() for tool in tools)


def test_add_list_remove_in_the_terminal(ossian_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "add", "gh", "--env", "GITHUB_TOKEN=ghp_x", "-e", "GITHUB_HOST=h", "--",
                 "npx", "-y", "@modelcontextprotocol/server-github", "--read-only"]) == 0
    assert main(["mcp", "add", "remote", "--url", "https://mcp.example.com/mcp"]) == 0
    capsys.readouterr()
    assert main(["mcp", "list"]) == 0
    listed = capsys.readouterr().out
    assert ("gh  stdio  npx -y @modelcontextprotocol/server-github --read-only  (secrets: GITHUB_TOKEN)"
            in listed)
    assert "remote  http  https://mcp.example.com/mcp" in listed
    assert main(["mcp", "list", "--json"]) == 0
    servers = json.loads(capsys.readouterr().out)
    assert servers[0]["args"] == ["-y", "@modelcontextprotocol/server-github", "--read-only"]
    assert servers[0]["env"] == {"GITHUB_HOST": "h"} and "ghp_x" not in json.dumps(servers)
    stored = (ossian_home / "config" / "mcp-servers.json").read_text(encoding="utf-8")
    assert "ghp_x" not in stored and json.loads(stored)["mcpServers"]["remote"]["url"]
    assert main(["mcp", "remove", "gh"]) == 0
    assert "Removed the MCP server 'gh'." in capsys.readouterr().out
    assert main(["mcp", "list"]) == 0
    assert "gh" not in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "status", "says"), [
    (["mcp", "add", "x"], 2, "give either a command after --"),
    (["mcp", "add", "x", "--url", "https://a/mcp", "--", "node"], 2, "give either a command after --"),
    (["mcp", "add", "x", "-e", "NOVALUE", "--", "node"], 2, "--env takes KEY=VALUE"),
    (["mcp", "add", "bad name", "--", "node"], 1, "cannot name an MCP server"),
    (["mcp", "add", "x", "--url", "ftp://a"], 1, "is not an http:// or https:// address"),
    (["mcp", "remove", "nope"], 1, "There is no MCP server named 'nope'"),
    (["mcp", "test", "nope"], 1, "There is no MCP server named 'nope'"),
])
def test_bad_input_says_what_is_wrong(argv: list[str], status: int, says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    if status == 2:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
    else:
        assert main(argv) == 1
    assert says in capsys.readouterr().err


def test_a_server_that_cannot_start_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "add", "ghost", "--", "ossian-no-such-program"]) == 0
    assert main(["mcp", "test", "ghost"]) == 1
    assert "'ossian-no-such-program' was not found" in capsys.readouterr().err
